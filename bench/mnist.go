package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/evomerge/evomerge/nn"
)

// MNISTSettings configure the built-in MNIST evaluator.
type MNISTSettings struct {
	// DataDir holds the MNIST .gz files; "" means nn.MNISTDir() ($EVOMERGE_MNIST_DIR or
	// the GoMNIST module in the Go module cache).
	DataDir string
	// LatencyRuns is the number of timed single-image forward passes; 0 means 200.
	LatencyRuns int
	// Limit evaluates only the first Limit test images; 0 means all 10,000.
	Limit int
}

// DefaultLatencyRuns is the number of timed forward passes when LatencyRuns is 0.
const DefaultLatencyRuns = 200

// latencyWarmup forward passes run untimed first, so caches and the scratch pool are warm.
const latencyWarmup = 20

// MNIST scores nn models (MLPs on 28×28 digits) on the MNIST test set.
type MNIST struct {
	test *nn.Dataset
	runs int
}

// NewMNIST loads the MNIST test set once for every later Evaluate. It fails if the data
// cannot be found or read, or if a setting is negative.
func NewMNIST(s MNISTSettings) (*MNIST, error) {
	if s.LatencyRuns < 0 {
		return nil, fmt.Errorf("mnist evaluator: latency runs = %d must be ≥ 0", s.LatencyRuns)
	}
	if s.Limit < 0 {
		return nil, fmt.Errorf("mnist evaluator: limit = %d must be ≥ 0 (0 = all test images)", s.Limit)
	}
	_, test, err := nn.LoadMNIST(s.DataDir)
	if err != nil {
		return nil, fmt.Errorf("mnist evaluator: %w", err)
	}
	if s.Limit > 0 {
		test = test.Head(s.Limit)
	}
	runs := s.LatencyRuns
	if runs == 0 {
		runs = DefaultLatencyRuns
	}
	return &MNIST{test: test, runs: runs}, nil
}

// Name is "mnist".
func (e *MNIST) Name() string { return "mnist" }

// Evaluate loads the model at modelPath (a safetensors file, or a directory holding
// model.safetensors) and measures:
//   - Accuracy on the test images (all of them, or the first Limit), computed in parallel;
//   - SizeBytes, the size of the safetensors file on disk;
//   - LatencyMs, the median of LatencyRuns batch-1 forward passes after a warm-up;
//   - Finite, whether every logit was finite.
//
// Compressed models are scored through their dequantized weights (nn.LoadFile), so their
// accuracy is that of the compressed model while their latency is that of the dense
// kernel; the codec's package must be linked in (compress/all). Evaluate checks ctx
// between blocks of examples and between latency runs and returns ctx's error if done.
func (e *MNIST) Evaluate(ctx context.Context, modelPath string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	path := modelPath
	st, err := os.Stat(path)
	if err == nil && st.IsDir() {
		path = filepath.Join(path, nn.ModelFile)
		st, err = os.Stat(path)
	}
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %w", err)
	}
	m, err := nn.LoadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %w", err)
	}
	tally, err := m.Evaluate(ctx, e.test)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %s: %w", path, err)
	}
	latency, err := e.latency(ctx, m)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %s: %w", path, err)
	}
	return Result{
		Accuracy:  tally.Accuracy(),
		SizeBytes: st.Size(),
		LatencyMs: latency,
		Finite:    tally.Finite,
		Examples:  tally.Total,
	}, nil
}

// latency returns the median duration, in milliseconds, of single-image forward passes
// over successive test images.
func (e *MNIST) latency(ctx context.Context, m *nn.MLP) (float64, error) {
	out := make([]float32, m.Config.LayerSizes[len(m.Config.LayerSizes)-1])
	n := max(e.test.N, 1)
	image := func(i int) []float32 {
		if e.test.N == 0 {
			return make([]float32, nn.ImageSize)
		}
		return e.test.Image(i % n)
	}
	for i := range latencyWarmup {
		m.Forward(image(i), out)
	}
	times := make([]time.Duration, e.runs)
	for i := range times {
		if i%32 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		x := image(i)
		start := time.Now()
		m.Forward(x, out)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	mid := len(times) / 2
	median := times[mid]
	if len(times)%2 == 0 {
		median = (times[mid-1] + times[mid]) / 2
	}
	return float64(median) / float64(time.Millisecond), nil
}
