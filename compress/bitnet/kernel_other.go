//go:build !amd64 || purego

package bitnet

// fastKernels are the kernels this CPU can run besides the generic one, for tests.
func fastKernels() []kernel { return nil }
