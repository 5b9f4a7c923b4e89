package seedlm

// kernelKind names the kernel sets: the pure-Go loops, the AVX2 assembly and the
// AVX-512 assembly (amd64 only; each needs its CPU features).
type kernelKind int

const (
	kernelGo kernelKind = iota
	kernelAVX2
	kernelAVX512
)

func (k kernelKind) String() string {
	return [...]string{"go", "avx2", "avx512"}[k]
}

// kernel is the kernel set Mul runs: bestKernel, the fastest this CPU has; tests
// lower it to check the others against the same reference.
var kernel = bestKernel
