package ha_test

import "syscall"

// dieWithTest makes the kernel kill a manager when the test binary that
// started it dies (go test's -timeout panics past AfterSuite, which left
// managers running for hours).
func dieWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
