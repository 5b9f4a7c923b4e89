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
		{"offs", unsafe.Offsetof(a.offs), 24}, {"rows", unsafe.Offsetof(a.rows), 32}, {"cnt", unsafe.Offsetof(a.cnt), 40},
		{"rowWords", unsafe.Offsetof(a.rowWords), 48}, {"mask", unsafe.Offsetof(a.mask), 56}, {"mw", unsafe.Offsetof(a.mw), 64},
		{"shift", unsafe.Offsetof(a.shift), 72}, {"cursor", unsafe.Offsetof(a.cursor), 80}, {"cbuf", unsafe.Offsetof(a.cbuf), 88},
		{"p", unsafe.Offsetof(a.p), 96}, {"lut", unsafe.Offsetof(a.lut), 104}, {"base", unsafe.Offsetof(a.base), 112},
		{"posMask", unsafe.Offsetof(a.posMask), 120}, {"k", unsafe.Offsetof(a.k), 152}, {"cl", unsafe.Offsetof(a.cl), 184},
		{"cr", unsafe.Offsetof(a.cr), 312}, {"fifteen", unsafe.Offsetof(a.fifteen), 344}, {"bias", unsafe.Offsetof(a.bias), 376},
		{"iota", unsafe.Offsetof(a.iota), 408},
	} {
		if f.got != f.want {
			t.Errorf("tileArgs.%s at offset %d, the assembly reads %d", f.name, f.got, f.want)
		}
	}
	if !hasAVX2 {
		t.Log("this CPU lacks AVX2/FMA/BMI2: the assembly kernels are not exercised")
	}
}
