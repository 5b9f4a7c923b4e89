//go:build !unix

package tensor

import "os"

// mapRange is not available on this platform; callers read with ReadAt.
func mapRange(f *os.File, off, n int64) (data []byte, unmap func(), ok bool) {
	return nil, nil, false
}
