//go:build !amd64 || purego

package evomerge

var useDellaPacked = false

func dellaHistAVX512(keys *uint32, n int, kmin uint32, shift uint64, idx *uint16, hist *uint16, stride int, z0 uint64, h *uint16, pf *float32) {
	panic("no AVX-512")
}

func dellaPrefixAVX512(hist *uint16, stride, nb int, tab *uint32, p0s, steps float32) {
	panic("no AVX-512")
}

func dellaTabKeepAVX512(idx *uint16, n int, h *uint16, tab *uint32, bound uint32, keep, amb *byte, pf *float32,
	sk *uint32, sw *byte, lanes *[16]float64) {
	panic("no AVX-512")
}

func dellaCombine3AVX512(a *dellaCombArgs) { panic("no AVX-512") }
