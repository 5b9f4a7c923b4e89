//go:build amd64 && !purego

package seedlm

import (
	"testing"
	"unsafe"
)

// The assembly reads tileArgs at fixed offsets (the A_* constants of kernel_amd64.s).
func TestTileArgsLayout(t *testing.T) {
	var a tileArgs
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"words", unsafe.Offsetof(a.words), 0}, {"tab", unsafe.Offsetof(a.tab), 8}, {"y", unsafe.Offsetof(a.y), 16},
		{"rows", unsafe.Offsetof(a.rows), 24}, {"cnt", unsafe.Offsetof(a.cnt), 32}, {"rowWords", unsafe.Offsetof(a.rowWords), 40},
		{"mask", unsafe.Offsetof(a.mask), 48}, {"mw", unsafe.Offsetof(a.mw), 56}, {"shift", unsafe.Offsetof(a.shift), 64},
		{"cursor", unsafe.Offsetof(a.cursor), 72}, {"stB", unsafe.Offsetof(a.stB), 80}, {"base", unsafe.Offsetof(a.base), 88},
		{"posMask", unsafe.Offsetof(a.posMask), 96}, {"k", unsafe.Offsetof(a.k), 100}, {"cl", unsafe.Offsetof(a.cl), 104},
		{"cr", unsafe.Offsetof(a.cr), 120}, {"pow", unsafe.Offsetof(a.pow), 136},
	} {
		if f.got != f.want {
			t.Errorf("tileArgs.%s at offset %d, the assembly reads %d", f.name, f.got, f.want)
		}
	}
	if !hasAVX2 {
		t.Log("this CPU lacks AVX2/FMA/BMI2: the assembly kernels are not exercised")
	} else if !hasAVX512 {
		t.Log("this CPU lacks AVX-512 F/VL: the AVX-512 kernels are not exercised")
	}
	t.Logf("kernels tested: %v", kernels())
}
