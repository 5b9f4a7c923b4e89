//go:build !amd64 || purego

package seedlm

// No assembly outside amd64 (or with the purego tag): the Go kernels run.
const bestKernel = kernelGo

func projectAsm(t, v, x *float32, m, nc, p int) { panic("seedlm: no assembly kernel") }

func (op *Operator) tileWordsAsm(sc *mulScratch, st int, tab, y []float32, lo, hi, j0, j1 int) {
	panic("seedlm: no assembly kernel")
}
