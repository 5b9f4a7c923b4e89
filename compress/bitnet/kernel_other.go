//go:build !amd64 || purego

package bitnet

// fastKernels are the kernels this CPU can run besides the generic one, for tests.
func fastKernels() []kernel { return nil }

// fastQuantizers are the activation quantizers this CPU can run besides the Go one,
// for tests.
func fastQuantizers() map[string]func(x []float32, q []int8) (float32, int32) {
	return map[string]func(x []float32, q []int8) (float32, int32){}
}
