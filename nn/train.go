package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// TrainConfig sets minibatch SGD.
type TrainConfig struct {
	Epochs       int     // passes over the dataset; 0 trains nothing
	BatchSize    int     // examples per SGD step (the last step of an epoch may be smaller)
	LearningRate float64 // step size η: W ← W − η·mean over the batch of ∂loss/∂W
	Seed         uint64  // seeds the PCG that shuffles the examples each epoch
}

// shuffleStream is the second PCG word for the epoch shuffles.
const shuffleStream = 0x6e6e2e73687566 // "nn.shuf"

// Train fits m to ds by minibatch stochastic gradient descent on the softmax
// cross-entropy loss, shuffling the examples at the start of every epoch. After each step
// it calls progress (if not nil) with the 1-based epoch and batch number, the number of
// batches per epoch and the batch's mean loss (nats, before the step).
//
// The result is deterministic: the same model, data and config give bitwise the same
// weights whatever GOMAXPROCS is. Work is split across goroutines only along dimensions
// whose outputs are independent (examples in the forward pass and in backpropagation,
// output units for the weight gradients); every sum over the examples of a batch runs in
// example order on one goroutine.
func Train(m *MLP, ds *Dataset, tc TrainConfig, progress func(epoch, batch, batches int, loss float64)) error {
	if err := m.check(); err != nil {
		return err
	}
	switch {
	case tc.Epochs < 0:
		return fmt.Errorf("nn train: epochs = %d must be ≥ 0", tc.Epochs)
	case tc.BatchSize < 1:
		return fmt.Errorf("nn train: batch size = %d must be ≥ 1", tc.BatchSize)
	case !(tc.LearningRate > 0) || math.IsInf(tc.LearningRate, 0):
		return fmt.Errorf("nn train: learning rate = %v must be a positive number", tc.LearningRate)
	case ds == nil || ds.N == 0:
		return errors.New("nn train: the dataset is empty")
	}
	if err := ds.check(m.Config); err != nil {
		return err
	}
	t := newTrainer(m, tc.BatchSize, runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(tc.Seed, shuffleStream))
	order := make([]int, ds.N)
	for i := range order {
		order[i] = i
	}
	batches := (ds.N + tc.BatchSize - 1) / tc.BatchSize
	for epoch := 1; epoch <= tc.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for b := range batches {
			batch := order[b*tc.BatchSize : min((b+1)*tc.BatchSize, ds.N)]
			loss := t.step(ds, batch, float32(tc.LearningRate))
			if progress != nil {
				progress(epoch, b+1, batches, loss)
			}
		}
	}
	return nil
}

// trainer holds the buffers of one training run, sized for the largest batch.
type trainer struct {
	m       *MLP
	workers int
	a       activations
	delta   [][]float32 // delta[l]: ∂loss/∂(pre-activation of layer l), B rows of LayerSizes[l+1]
	gradW   [][]float32 // the last step's batch-summed gradient of each layer's weights
	gradB   [][]float32
	loss    []float64 // per-example loss of the last step
	// soft, if set, holds per-example target distributions (N × classes, the teacher's
	// softmax at temperature temp) that replace the labels (distillation).
	soft []float32
	temp float64
	// quantIn, if set, quantizes each input image before the first layer (see
	// activations.quant); qbuf holds the quantized images of a batch.
	quantIn func(x []float32)
	qbuf    []float32
}

func newTrainer(m *MLP, maxBatch, workers int) *trainer {
	t := &trainer{m: m, workers: max(1, workers), loss: make([]float64, maxBatch)}
	t.a.ensure(m.Config, maxBatch)
	for l := range m.Weights {
		t.delta = append(t.delta, make([]float32, maxBatch*m.Config.LayerSizes[l+1]))
		t.gradW = append(t.gradW, make([]float32, len(m.Weights[l])))
		t.gradB = append(t.gradB, make([]float32, len(m.Biases[l])))
	}
	return t
}

// step runs one SGD step on the examples batch of ds and returns their mean loss.
//
// With z the logits and p = softmax(z), the loss −log p_y has ∂/∂z = p − onehot(y)
// (Bishop 2006, §4.3.4); backpropagation multiplies by Wᵀ and by the ReLU derivative
// 1[h > 0] layer by layer (Rumelhart, Hinton & Williams 1986).
func (t *trainer) step(ds *Dataset, batch []int, lr float32) float64 {
	m := t.m
	B := len(batch)
	sizes := m.Config.LayerSizes
	in0, L := sizes[0], len(m.Weights)
	classes := sizes[L]

	// Forward and output deltas, examples split across workers.
	t.parallel(B, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			i := batch[s]
			x := ds.Images[i*in0 : (i+1)*in0]
			if t.quantIn != nil {
				q := t.qbuf[s*in0 : (s+1)*in0]
				copy(q, x)
				t.quantIn(q)
				x = q
			}
			t.a.inputs[s].setDense(x)
		}
		m.forwardBlock(&t.a, lo, hi)
		for s := lo; s < hi; s++ {
			z := t.a.acts[L-1][s*classes : (s+1)*classes]
			d := t.delta[L-1][s*classes : (s+1)*classes]
			if t.soft != nil {
				i := batch[s]
				t.loss[s] = softTargetDelta(z, t.soft[i*classes:(i+1)*classes], t.temp, d)
			} else {
				t.loss[s] = softmaxDelta(z, int(ds.Labels[batch[s]]), d)
			}
		}
	})

	for l := L - 1; l >= 0; l-- {
		in, out := sizes[l], sizes[l+1]
		delta := t.delta[l]
		// Deltas of the layer below, using W_l before this step changes it.
		if l > 0 {
			below := t.delta[l-1]
			h := t.a.acts[l-1]
			W := m.Weights[l]
			t.parallel(B, func(lo, hi int) {
				for s := lo; s < hi; s++ {
					d := below[s*in : (s+1)*in]
					clear(d)
					for o, dz := range delta[s*out : (s+1)*out] {
						if dz != 0 {
							axpy(dz, W[o*in:(o+1)*in], d)
						}
					}
					for j, hj := range h[s*in : (s+1)*in] {
						if hj <= 0 {
							d[j] = 0
						}
					}
				}
			})
		}
		// Gradient rows, summed over the batch in example order, and the update.
		W, bias, gW, gB := m.Weights[l], m.Biases[l], t.gradW[l], t.gradB[l]
		eta := lr / float32(B)
		t.parallel(out, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				g := gW[o*in : (o+1)*in]
				clear(g)
				var gb float32
				for s := range B {
					dz := delta[s*out+o]
					if dz == 0 {
						continue // a ReLU that was off: no gradient from this example
					}
					gb += dz
					if l == 0 {
						sparseAxpy(dz, &t.a.inputs[s], g)
					} else {
						axpy(dz, t.a.acts[l-1][s*in:(s+1)*in], g)
					}
				}
				gB[o] = gb
				axpy(-eta, g, W[o*in:(o+1)*in])
				bias[o] -= eta * gb
			}
		})
	}

	var sum float64
	for _, v := range t.loss[:B] {
		sum += v
	}
	return sum / float64(B)
}

// softmaxDelta writes p − onehot(y) for p = softmax(z) into delta and returns the
// cross-entropy −log p_y, computed in float64 with the max subtracted for stability.
func softmaxDelta(z []float32, y int, delta []float32) float64 {
	zmax := z[0]
	for _, v := range z {
		zmax = max(zmax, v)
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v - zmax))
	}
	for c, v := range z {
		p := math.Exp(float64(v-zmax)) / sum
		if c == y {
			p--
		}
		delta[c] = float32(p)
	}
	return math.Log(sum) - float64(z[y]-zmax)
}

// parallel runs fn over [0, n) split into contiguous ranges, one per worker. Callers only
// split work whose outputs do not depend on the split.
func (t *trainer) parallel(n int, fn func(lo, hi int)) {
	w := min(t.workers, n)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}
