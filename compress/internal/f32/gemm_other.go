//go:build !amd64 || purego

package f32

// implementations lists the assembly kernel sets this CPU can run: none here.
func implementations() map[string][]kernelFunc { return nil }

// biasImplementations lists the assembly BiasReLU loops this CPU runs: none here.
func biasImplementations() map[string]func(y, bias []float32, relu bool) {
	return map[string]func(y, bias []float32, relu bool){}
}
