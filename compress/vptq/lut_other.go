//go:build !amd64 || purego

package vptq

// Without the amd64 kernels the operator runs the pure-Go ones: haveAVX2 is false, so
// the functions below are never called.
var (
	haveAVX2 = false
	useAsm   = false
)

func lutAsm(tab []float32, idx []uint8, sums []float32) {
	panic("vptq: no assembly kernel on this architecture")
}

func tablesAsm(xs, ct, s []float32, groups, v, sw int) {
	panic("vptq: no assembly kernel on this architecture")
}

func combineAsm(s, tab []float32, groups, sw, k, kr int) {
	panic("vptq: no assembly kernel on this architecture")
}

func lutAsm2(tab0, tab1 []float32, idx []uint8, sums0, sums1 []float32) {
	panic("vptq: no assembly kernel on this architecture")
}

// lookupKernels lists the assembly lookup kernels: none here.
func lookupKernels() map[string]lookupFunc { return nil }

var lookupKernel lookupFunc
