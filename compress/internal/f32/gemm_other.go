//go:build !amd64 || purego

package f32

// implementations lists the assembly kernel sets this CPU can run: none here.
func implementations() map[string][]kernelFunc { return nil }
