package f32

//go:noescape
func gemmavx512B1r4u4(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B1r8u2(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B1r4u2(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B1r4u4p1k(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B1r4u4p2k(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B1r8u2p1k(w, x, y *float32, rows, cols, ldy int)

var variantList = []struct {
	name string
	f    kernelFunc
}{
	{"r4u4", gemmavx512B1r4u4}, {"r8u2", gemmavx512B1r8u2}, {"r4u2", gemmavx512B1r4u2},
	{"r4u4p1k", gemmavx512B1r4u4p1k}, {"r4u4p2k", gemmavx512B1r4u4p2k}, {"r8u2p1k", gemmavx512B1r8u2p1k},
}
