//go:build !unix

package manifest

import "os"

// openNoBlock opens name for reading (see limits_unix.go).
func openNoBlock(name string) (*os.File, error) { return os.Open(name) }
