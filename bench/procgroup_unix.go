//go:build unix

package bench

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in its own process group and makes cancellation kill the
// whole group, so a program's children (a Python launcher's workers) die with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
