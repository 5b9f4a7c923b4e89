package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"github.com/evomerge/evomerge/compress"
)

// DistillConfig sets knowledge-distillation recovery (Distill).
type DistillConfig struct {
	Steps        int     // SGD steps (≥ 1)
	BatchSize    int     // training images per step (≥ 1)
	LearningRate float64 // step size on the latent weights
	Temperature  float64 // softmax temperature of teacher and student (> 0; 1 = plain)
	Seed         uint64  // seeds the order of the images
}

// distillStream is the second PCG word for distillation's image order.
const distillStream = 0x6e6e2e6b64 // "nn.kd"

// Distill recovers accuracy lost to compression by knowledge distillation (Hinton,
// Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network") made
// quantization-aware with the straight-through estimator (Bengio, Léonard & Courville
// 2013; as BitNet trains, Wang et al. 2023 §2): the student keeps latent float weights,
// initialised from the teacher; every step it runs forward through the weights codec
// would store for them (compress.RoundTrip, recomputed each step) and, if the codec
// quantizes its inputs (compress.InputQuantizer), through quantized activations too — so
// it trains on the arithmetic its packed kernel will do. The gradient of that forward
// pass is applied to the latent weights as if quantization were the identity. The loss
// is T²·KL(teacher ‖ student) of the softmaxes at temperature T, whose gradient with
// respect to the student's logits is T·(p_student − p_teacher).
//
// train must be training data: never the images the model is scored on. The result is
// the latent model; compressing it with codec gives the recovered child. Distill is
// deterministic for a given GOMAXPROCS-independent input (see Train), checks ctx
// between steps, and fails on invalid settings.
func Distill(ctx context.Context, teacher *MLP, codec compress.Codec, train *Dataset, dc DistillConfig) (*MLP, error) {
	if err := teacher.check(); err != nil {
		return nil, err
	}
	switch {
	case dc.Steps < 1:
		return nil, fmt.Errorf("nn distill: steps = %d must be ≥ 1", dc.Steps)
	case dc.BatchSize < 1:
		return nil, fmt.Errorf("nn distill: batch size = %d must be ≥ 1", dc.BatchSize)
	case !(dc.LearningRate > 0) || math.IsInf(dc.LearningRate, 0):
		return nil, fmt.Errorf("nn distill: learning rate = %v must be a positive number", dc.LearningRate)
	case !(dc.Temperature > 0) || math.IsInf(dc.Temperature, 0):
		return nil, fmt.Errorf("nn distill: temperature = %v must be a positive number", dc.Temperature)
	case train == nil || train.N == 0:
		return nil, errors.New("nn distill: the training set is empty")
	}
	if err := train.check(teacher.Config); err != nil {
		return nil, err
	}
	soft, err := teacherTargets(ctx, teacher, train, dc.Temperature)
	if err != nil {
		return nil, err
	}

	latent := teacher.Clone()
	q := teacher.Clone() // the quantized weights each step runs on
	t := newTrainer(q, dc.BatchSize, runtime.GOMAXPROCS(0))
	t.soft, t.temp = soft, dc.Temperature
	if iq, ok := codec.(compress.InputQuantizer); ok {
		t.quantIn, t.a.quant = iq.FakeQuantizeInput, iq.FakeQuantizeInput
		t.qbuf = make([]float32, dc.BatchSize*teacher.Config.LayerSizes[0])
	}
	rng := rand.New(rand.NewPCG(dc.Seed, distillStream))
	order := make([]int, train.N)
	for i := range order {
		order[i] = i
	}
	pos := train.N
	quantized := make([][]float32, len(latent.Weights))
	for step := range dc.Steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("nn distill: stopped at step %d of %d: %w", step, dc.Steps, err)
		}
		if pos+dc.BatchSize > train.N {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			pos = 0
		}
		batch := order[pos:min(pos+dc.BatchSize, train.N)]
		pos += len(batch)
		for l, w := range latent.Weights {
			in, out := latent.Config.LayerSizes[l], latent.Config.LayerSizes[l+1]
			wq, err := compress.RoundTrip(codec, WeightName(l), out, in, w)
			if err != nil {
				return nil, fmt.Errorf("nn distill: %w", err)
			}
			quantized[l] = wq
			copy(q.Weights[l], wq)
			copy(q.Biases[l], latent.Biases[l])
		}
		t.step(train, batch, float32(dc.LearningRate))
		// The step moved the quantized weights by −η·gradient; the straight-through
		// estimator applies that move to the latent weights.
		for l, w := range latent.Weights {
			for i, v := range q.Weights[l] {
				w[i] += v - quantized[l][i]
			}
			copy(latent.Biases[l], q.Biases[l])
		}
	}
	if !latent.AllFinite() {
		return nil, fmt.Errorf("nn distill: weights diverged (not finite) with learning rate %v; use a smaller one", dc.LearningRate)
	}
	return latent, nil
}

// teacherTargets is the teacher's softmax at temperature temp for every example of ds,
// N × classes values.
func teacherTargets(ctx context.Context, teacher *MLP, ds *Dataset, temp float64) ([]float32, error) {
	net := teacher.Network()
	in, classes := teacher.Config.LayerSizes[0], teacher.Config.LayerSizes[len(teacher.Config.LayerSizes)-1]
	soft := make([]float32, ds.N*classes)
	var s netScratch
	for lo := 0; lo < ds.N; lo += evalBlock {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		B := min(evalBlock, ds.N-lo)
		logits := net.forward(&s, B, ds.Images[lo*in:(lo+B)*in])
		for b := range B {
			softmaxT(logits[b*classes:(b+1)*classes], temp, soft[(lo+b)*classes:(lo+b+1)*classes])
		}
	}
	return soft, nil
}

// softmaxT writes softmax(z/temp) into p, in float64 with the max subtracted.
func softmaxT(z []float32, temp float64, p []float32) {
	zmax := z[0]
	for _, v := range z {
		zmax = max(zmax, v)
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v-zmax) / temp)
	}
	for c, v := range z {
		p[c] = float32(math.Exp(float64(v-zmax)/temp) / sum)
	}
}

// softTargetDelta writes temp·(softmax(z/temp) − target) into delta — the gradient of
// temp²·KL(target ‖ softmax(z/temp)) with respect to z — and returns that loss.
func softTargetDelta(z, target []float32, temp float64, delta []float32) float64 {
	softmaxT(z, temp, delta)
	var kl float64
	for c, pt := range target {
		ps := float64(delta[c])
		if pt > 0 {
			kl += float64(pt) * math.Log(float64(pt)/max(ps, 1e-30))
		}
		delta[c] = float32(temp * (ps - float64(pt)))
	}
	return temp * temp * kl
}

// DistillFile distills the model file src for codec (Distill, teacher = the model
// itself) on the MNIST training images (LoadMNISTSplits' Train: never the validation or test images) and writes
// the recovered latent model to dst (F32, atomically); compress dst with codec to get
// the recovered child.
func DistillFile(ctx context.Context, codec compress.Codec, src, dst string, dc DistillConfig) error {
	teacher, err := LoadFile(src)
	if err != nil {
		return err
	}
	splits, err := LoadMNISTSplits("")
	if err != nil {
		return err
	}
	student, err := Distill(ctx, teacher, codec, splits.Train, dc)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return student.SaveFile(dst)
}
