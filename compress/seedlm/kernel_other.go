package seedlm

// No assembly outside amd64: the Go kernels run.
const (
	hasProject   = false
	hasTileWords = false
)

func projectAsm(t, v, x *float32, m, nc, p int) { panic("seedlm: no assembly kernel") }

func (op *Operator) tileWordsAsm(tab, y []float32, lo, hi, j0, j1 int) {
	panic("seedlm: no assembly kernel")
}
