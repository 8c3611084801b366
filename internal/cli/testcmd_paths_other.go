//go:build !unix

package cli

// nonBlock: see testcmd_paths_unix.go.
const nonBlock = 0
