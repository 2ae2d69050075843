//go:build unix

package fileread

import "syscall"

// O_NONBLOCK makes opening a FIFO return at once; it changes nothing for
// regular files.
const nonBlockFlag = syscall.O_NONBLOCK
