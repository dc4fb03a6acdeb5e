//go:build !linux

package localfs

import (
	"os"
	"syscall"
)

// openNonblock: see special_linux.go.
const openNonblock = syscall.O_NONBLOCK

// pseudoFS is only known on Linux; elsewhere the size check of the reader
// (ErrChanged) still refuses a file that yields more than its size.
func pseudoFS(*os.File) bool { return false }
