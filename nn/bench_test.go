package nn

import (
	"testing"
)

// BenchmarkForward measures batch-1 inference latency (ns/op) on real test digits.
func BenchmarkForward(b *testing.B) {
	_, test := mnist(b)
	m, _ := New(DefaultConfig(), 1)
	out := make([]float32, 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Forward(test.Image(i%test.N), out)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkTrainEpoch measures one SGD epoch (batch 32) over 6,000 training images.
func BenchmarkTrainEpoch(b *testing.B) {
	train, _ := mnist(b)
	ds := train.Head(6000)
	m, _ := New(DefaultConfig(), 1)
	tc := TrainConfig{Epochs: 1, BatchSize: 32, LearningRate: 0.05, Seed: 1}
	for b.Loop() {
		if err := Train(m, ds, tc, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*ds.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkAccuracy measures batched, parallel inference over the 10,000 test images.
func BenchmarkAccuracy(b *testing.B) {
	_, test := mnist(b)
	m, _ := New(DefaultConfig(), 1)
	for b.Loop() {
		m.Accuracy(test)
	}
	b.ReportMetric(float64(b.N*test.N)/b.Elapsed().Seconds(), "images/s")
}

// The kernels, on the default model's sizes: SetBytes counts both operands read.

func BenchmarkDot256(b *testing.B) {
	x, y := make([]float32, 256), make([]float32, 256)
	for i := range x {
		x[i], y[i] = float32(i%7), 0.5
	}
	var s float32
	b.SetBytes(2 * 4 * 256)
	for b.Loop() {
		s += dot(x, y)
	}
	sink = s
}

func BenchmarkAxpy256(b *testing.B) {
	x, y := make([]float32, 256), make([]float32, 256)
	b.SetBytes(2 * 4 * 256)
	for b.Loop() {
		axpy(0.5, x, y)
	}
}

// BenchmarkSparseDotMNIST is one fc1 unit on a real digit (about 150 nonzero pixels);
// SetBytes counts the 784 dense pixels it stands for, so MB/s compares with BenchmarkDot.
func BenchmarkSparseDotMNIST(b *testing.B) {
	_, test := mnist(b)
	var v sparseVec
	v.setDense(test.Image(0))
	w := make([]float32, ImageSize)
	var s float32
	b.SetBytes(2 * 4 * ImageSize)
	for b.Loop() {
		s += sparseDot(w, &v)
	}
	sink = s
}

var sink float32
