//go:build unix

package tensor

import "syscall"

// errNotEmpty is what rename(2) reports when the target directory is not empty.
var errNotEmpty error = syscall.ENOTEMPTY
