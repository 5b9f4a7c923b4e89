//go:build !unix

package bench

import "os/exec"

// setProcessGroup leaves cmd as it is: cancellation kills only the program itself.
func setProcessGroup(cmd *exec.Cmd) {}
