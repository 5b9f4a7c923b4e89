package vptq

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
)

// randomQuantized builds a rows×cols matrix in the default layout with random codebooks
// and indices: the kernel's speed does not depend on the values.
func randomQuantized(rows, cols int) *Quantized {
	rng := rand.New(rand.NewPCG(1, 1))
	s := DefaultSettings()
	q := &Quantized{Layout: Layout{Rows: rows, Cols: cols, VectorLength: s.VectorLength,
		CodebookBits: s.CodebookBits, ResidualBits: s.ResidualBits, Normalize: s.Normalize, Orientation: Rows}}
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return v
	}
	idx := func(n, k int) []uint16 {
		v := make([]uint16, n)
		for i := range v {
			v[i] = uint16(rng.IntN(k))
		}
		return v
	}
	n, v := q.vectors(), s.VectorLength
	q.Codebook, q.Indices = fill(v<<s.CodebookBits), idx(n, 1<<s.CodebookBits)
	if s.ResidualBits > 0 {
		q.ResCodebook, q.ResIndices = fill(v<<s.ResidualBits), idx(n, 1<<s.ResidualBits)
	}
	q.ColScale, q.ColBias = fill(cols), fill(cols)
	for i := range q.ColScale {
		q.ColScale[i] += 1
	}
	return q
}

// BenchmarkOperator compares the packed operator with compress.Dense on the same
// matrices (codectest.BenchmarkOperator), for 1 and 8 inputs.
func BenchmarkOperator(b *testing.B) {
	codectest.BenchmarkOperator(b, []int{1, 8}, func(rows, cols int) (compress.Operator, []float32) {
		q := randomQuantized(rows, cols)
		return NewOperator(q), q.Dense()
	})
}

func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	w := make([]float32, 256*784)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	for b.Loop() {
		Quantize(w, 256, 784, DefaultSettings(), 1)
	}
	b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mweights/s")
}

// BenchmarkLookup measures the assembly lookup kernels, for one input and for two at
// once, on one block of 16 groups × 16384 rows, tables in L1.
func BenchmarkLookup(b *testing.B) {
	if !haveAVX2 {
		b.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	const rows = 16384
	tab := codectest.Gaussian(rng, blockGroups*tableStride)
	idx := make([]uint8, rows*blockGroups)
	for i := range idx {
		idx[i] = uint8(rng.IntN(tableStride))
	}
	sums, sums1 := make([]float32, rows), make([]float32, rows)
	for _, name := range slices.Sorted(maps.Keys(lookupKernels())) {
		b.Run("one/"+name, func(b *testing.B) {
			k := lookupKernels()[name]
			for b.Loop() {
				k(&tab[0], &idx[0], &sums[0], rows)
			}
			b.ReportMetric(float64(len(idx))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Glookups/s")
		})
	}
	// Two inputs per pass: lookups counted per input.
	tab1 := codectest.Gaussian(rng, blockGroups*tableStride)
	b.Run("two", func(b *testing.B) {
		for b.Loop() {
			lutAsm2(tab, tab1, idx, sums, sums1)
		}
		b.ReportMetric(2*float64(len(idx))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Glookups/s")
	})
}
