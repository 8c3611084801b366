//go:build unix

package cli

import "syscall"

// nonBlock opens a FIFO without waiting for a writer (it does nothing to
// regular files and directories); the FIFO is then refused.
const nonBlock = syscall.O_NONBLOCK
