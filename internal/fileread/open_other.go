//go:build !unix

package fileread

// Elsewhere a FIFO is rare in a catalog; the open may block.
const nonBlockFlag = 0
