//go:build !race

package modelengine

const raceEnabled = false
