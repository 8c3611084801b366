//go:build !linux

package ha_test

import "syscall"

// dieWithTest: only Linux has a parent-death signal; elsewhere a manager
// outlives a test binary that dies past AfterSuite.
func dieWithTest() *syscall.SysProcAttr { return nil }
