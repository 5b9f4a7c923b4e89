package nn

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// activations holds a block of B samples' layer outputs: acts[l] is B rows of
// LayerSizes[l+1] values (after ReLU for hidden layers, logits for the last), and
// inputs[s] is sample s's input as a sparse vector.
type activations struct {
	inputs []sparseVec
	acts   [][]float32
	// quant, if set, replaces each hidden layer's output (the next layer's input) by
	// its quantized value, as an operator that quantizes its inputs would see it
	// (quantization-aware training); nil for ordinary inference and training.
	quant func(x []float32)
}

// ensure sizes a for B samples of m, reusing storage.
func (a *activations) ensure(cfg Config, B int) {
	for len(a.inputs) < B {
		a.inputs = append(a.inputs, sparseVec{})
	}
	L := cfg.NumLayers()
	if len(a.acts) != L {
		a.acts = make([][]float32, L)
	}
	for l := range a.acts {
		if n := B * cfg.LayerSizes[l+1]; cap(a.acts[l]) < n {
			a.acts[l] = make([]float32, n)
		} else {
			a.acts[l] = a.acts[l][:n]
		}
	}
}

// forwardBlock runs samples a.inputs[lo:hi] through m into rows lo…hi−1 of a.acts. Each output unit is
// b[o] + (Σ of its row against the input, in the kernels' fixed order), so a sample's
// logits are bitwise the same whatever block it is computed in; loops run unit-major so a
// weight row is read once per block while it is hot in cache.
func (m *MLP) forwardBlock(a *activations, lo, hi int) {
	sizes := m.Config.LayerSizes
	last := len(m.Weights) - 1
	for l, W := range m.Weights {
		in, out := sizes[l], sizes[l+1]
		bias, h := m.Biases[l], a.acts[l]
		for o := range out {
			row := W[o*in : (o+1)*in]
			for s := lo; s < hi; s++ {
				var z float32
				if l == 0 {
					z = bias[o] + sparseDot(row, &a.inputs[s])
				} else {
					prev := a.acts[l-1][s*in : (s+1)*in]
					z = bias[o] + dot(row, prev)
				}
				if l != last && z < 0 {
					z = 0
				}
				h[s*out+o] = z
			}
		}
		if a.quant != nil && l != last {
			for s := lo; s < hi; s++ {
				a.quant(h[s*out : (s+1)*out])
			}
		}
	}
}

// scratchPool recycles batch-1 activations so Forward does not allocate.
var scratchPool = sync.Pool{New: func() any { return new(activations) }}

// Forward computes the logits of one input x (LayerSizes[0] values) into out
// (LayerSizes[last] values). It does not allocate in steady state and is safe to call
// from several goroutines at once. It panics if x or out has the wrong length.
func (m *MLP) Forward(x []float32, out []float32) {
	sizes := m.Config.LayerSizes
	if len(x) != sizes[0] || len(out) != sizes[len(sizes)-1] {
		panic(fmt.Sprintf("nn.Forward: input %d and output %d values for layer sizes %v", len(x), len(out), sizes))
	}
	a := scratchPool.Get().(*activations)
	a.ensure(m.Config, 1)
	a.inputs[0].setDense(x)
	m.forwardBlock(a, 0, 1)
	copy(out, a.acts[len(a.acts)-1])
	scratchPool.Put(a)
}

// Predict returns the class with the largest logit for input x (the lowest index on ties).
func (m *MLP) Predict(x []float32) int {
	var buf [16]float32
	out := buf[:0]
	if n := m.Config.LayerSizes[len(m.Config.LayerSizes)-1]; n <= len(buf) {
		out = buf[:n]
	} else {
		out = make([]float32, n)
	}
	m.Forward(x, out)
	return argmax(out)
}

// argmax is the index of the first largest value.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Tally counts how a model did on a dataset.
type Tally struct {
	Correct int  // examples whose largest logit is at the label
	Total   int  // examples evaluated
	Finite  bool // every logit of every example was finite
}

// Accuracy is Correct/Total, or 0 for an empty tally.
func (t Tally) Accuracy() float64 {
	if t.Total == 0 {
		return 0
	}
	return float64(t.Correct) / float64(t.Total)
}

// evalBlock is the number of examples a worker runs through the network at once.
const evalBlock = 64

// Evaluate classifies every example of ds on GOMAXPROCS goroutines, checking ctx between
// blocks of 64 examples; it returns ctx's error if cancelled. The tally does not depend on
// the number of goroutines. It fails if ds does not match the model's input or output size.
func (m *MLP) Evaluate(ctx context.Context, ds *Dataset) (Tally, error) {
	if err := m.check(); err != nil {
		return Tally{}, err
	}
	if err := ds.check(m.Config); err != nil {
		return Tally{}, err
	}
	in := m.Config.LayerSizes[0]
	return evaluateBlocks(ctx, ds, m.Config, func() func(lo, B int) []float32 {
		var a activations
		return func(lo, B int) []float32 {
			a.ensure(m.Config, B)
			for s := range B {
				a.inputs[s].setDense(ds.Images[(lo+s)*in : (lo+s+1)*in])
			}
			m.forwardBlock(&a, 0, B)
			return a.acts[len(a.acts)-1]
		}
	})
}

// evaluateBlocks tallies ds in blocks of evalBlock examples spread over GOMAXPROCS
// goroutines, checking ctx between blocks. Each goroutine gets its own forward function
// from newWorker, which returns the logits of examples lo…lo+B−1 (B rows of the output
// size). The tally does not depend on the number of goroutines.
func evaluateBlocks(ctx context.Context, ds *Dataset, cfg Config, newWorker func() func(lo, B int) []float32) (Tally, error) {
	classes := cfg.LayerSizes[len(cfg.LayerSizes)-1]
	blocks := (ds.N + evalBlock - 1) / evalBlock
	var next, correct atomic.Int64
	var infinite atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(blocks, 1)) {
		wg.Go(func() {
			forward := newWorker()
			for ctx.Err() == nil {
				blk := int(next.Add(1) - 1)
				if blk >= blocks {
					return
				}
				lo := blk * evalBlock
				B := min(evalBlock, ds.N-lo)
				logits := forward(lo, B)
				n := 0
				for s := range B {
					z := logits[s*classes : (s+1)*classes]
					if argmax(z) == int(ds.Labels[lo+s]) {
						n++
					}
					for _, v := range z {
						if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
							infinite.Store(true)
						}
					}
				}
				correct.Add(int64(n))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Tally{}, err
	}
	return Tally{Correct: int(correct.Load()), Total: ds.N, Finite: !infinite.Load()}, nil
}

// Accuracy is the fraction of ds that m classifies correctly, in [0, 1], computed in
// parallel; it is exactly Correct/N, independent of the number of goroutines. It panics if
// ds does not fit the model (use Evaluate to get an error instead).
func (m *MLP) Accuracy(ds *Dataset) float64 {
	t, err := m.Evaluate(context.Background(), ds)
	if err != nil {
		panic(err)
	}
	return t.Accuracy()
}
