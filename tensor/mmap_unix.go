//go:build unix

package tensor

import (
	"os"
	"syscall"
)

// mapRange maps n bytes of f starting at off read-only and returns them with a function
// that unmaps them. ok is false when the range cannot be mapped (the caller then reads
// with ReadAt instead).
func mapRange(f *os.File, off, n int64) (data []byte, unmap func(), ok bool) {
	if n <= 0 || int64(int(n)) != n {
		return nil, nil, false
	}
	page := int64(os.Getpagesize())
	start := off &^ (page - 1)
	length := off + n - start
	if int64(int(length)) != length {
		return nil, nil, false
	}
	m, err := syscall.Mmap(int(f.Fd()), start, int(length), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	return m[off-start:], func() { syscall.Munmap(m) }, true
}
