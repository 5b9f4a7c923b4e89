package tensor

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchElements is the element count of the benchmark tensors: 16 MiB of F32.
const benchElements = 4 << 20

func benchValues() []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, benchElements)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// BenchmarkEncode measures Encode of one 16 MiB F32 tensor into an in-memory buffer
// (bytes/s of tensor data; the buffer is reused, so this is the copy, not allocation).
func BenchmarkEncode(b *testing.B) {
	x := FromFloat32("w", F32, []int{2048, benchElements / 2048}, benchValues())
	meta := map[string]string{"format": "pt"}
	var buf bytes.Buffer
	buf.Grow(len(x.Data) + 1024)
	b.SetBytes(int64(len(x.Data)))
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, meta, []*Tensor{x}); err != nil {
			b.Fatal(err)
		}
	}
	if buf.Len() < len(x.Data) {
		b.Fatal("short output")
	}
}

// BenchmarkRead measures File.Read of one 16 MiB F32 tensor from a file (usually in the
// page cache after the first iteration), in bytes/s.
func BenchmarkRead(b *testing.B) {
	x := FromFloat32("w", F32, []int{2048, benchElements / 2048}, benchValues())
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	if err := WriteFile(path, nil, []*Tensor{x}); err != nil {
		b.Fatal(err)
	}
	f := mustOpen(b, path)
	b.SetBytes(int64(len(x.Data)))
	for b.Loop() {
		got, err := f.Read("w")
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Data) != len(x.Data) {
			b.Fatal("short read")
		}
	}
	got, _ := f.Read("w")
	if !bytes.Equal(got.Data, x.Data) {
		b.Fatal("Read returned different bytes")
	}
}

// BenchmarkFloat32sBF16 measures BF16 -> float32 decoding of 4 Mi elements (bytes/s of
// BF16 input, and elements/s).
func BenchmarkFloat32sBF16(b *testing.B) {
	x := FromFloat32("w", BF16, []int{benchElements}, benchValues())
	b.SetBytes(int64(len(x.Data)))
	for b.Loop() {
		if _, err := x.Float32s(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchElements)*float64(b.N)/b.Elapsed().Seconds(), "elements/s")
}
