//go:build race

package modelengine

// raceEnabled: the race detector slows everything about tenfold and
// multiplies memory, so load tests widen their timeouts and skip RSS.
const raceEnabled = true
