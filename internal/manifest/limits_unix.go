//go:build unix

package manifest

import (
	"os"
	"syscall"
)

// openNoBlock opens name for reading without waiting: opening a FIFO
// blocks until a writer comes, unless O_NONBLOCK is given (it does nothing
// to regular files and directories).
func openNoBlock(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0) //nolint:gosec // the CLI reads the files its user names
}
