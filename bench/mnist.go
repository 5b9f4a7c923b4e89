package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/evomerge/evomerge/nn"
)

// MNISTSettings configure the built-in MNIST evaluator.
type MNISTSettings struct {
	// DataDir holds the MNIST .gz files; "" means nn.MNISTDir() ($EVOMERGE_MNIST_DIR or
	// the GoMNIST module in the Go module cache).
	DataDir string
	// LatencyRuns is the number of timed latency samples (MeasureLatency); 0 means 200.
	LatencyRuns int
	// Limit evaluates only the first Limit validation and test images; 0 means all
	// 10,000 of each.
	Limit int
}

// DefaultLatencyRuns is the number of timed forward passes when LatencyRuns is 0.
const DefaultLatencyRuns = 200

// MNIST scores nn models (MLPs on 28×28 digits) on the MNIST validation images (held
// out of the training set: what a search selects on) and test images (reported only).
type MNIST struct {
	val, test *nn.Dataset
	runs      int
}

// NewMNIST loads the MNIST validation and test sets (nn.LoadMNISTSplits) once for every
// later Evaluate. It fails if the data cannot be found or read, or if a setting is
// negative.
func NewMNIST(s MNISTSettings) (*MNIST, error) {
	if s.LatencyRuns < 0 {
		return nil, fmt.Errorf("mnist evaluator: latency runs = %d must be ≥ 0", s.LatencyRuns)
	}
	if s.Limit < 0 {
		return nil, fmt.Errorf("mnist evaluator: limit = %d must be ≥ 0 (0 = all test images)", s.Limit)
	}
	splits, err := nn.LoadMNISTSplits(s.DataDir)
	if err != nil {
		return nil, fmt.Errorf("mnist evaluator: %w", err)
	}
	val, test := splits.Validation, splits.Test
	if s.Limit > 0 {
		val, test = val.Head(s.Limit), test.Head(s.Limit)
	}
	runs := s.LatencyRuns
	if runs == 0 {
		runs = DefaultLatencyRuns
	}
	return &MNIST{val: val, test: test, runs: runs}, nil
}

// Name is "mnist".
func (e *MNIST) Name() string { return "mnist" }

// Evaluate loads req.Model (a safetensors file, or a directory holding
// model.safetensors) as it would be deployed — a compressed model through its codec's
// packed kernels (nn.LoadNetwork), never a dequantized copy — and measures:
//   - Accuracy on the validation images and TestAccuracy on the test images (all of
//     them, or the first Limit), computed in parallel;
//   - SizeBytes, the size of the safetensors file on disk;
//   - WeightBytes, the memory the loaded network holds for its parameters;
//   - LatencyMs, the median batch-1 forward pass after a warm-up (MeasureLatency);
//     with req.Reference, that model is timed interleaved with it and Speedup is the
//     median ratio of their times;
//   - Finite, whether every logit was finite.
//
// The codec's package must be linked in (compress/all). Evaluate checks ctx between
// blocks of examples and between latency samples and returns ctx's error if done.
func (e *MNIST) Evaluate(ctx context.Context, req Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	path, size, err := modelFile(req.Model)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %w", err)
	}
	m, err := nn.LoadNetwork(path)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %w", err)
	}
	var ref *nn.Network
	if req.Reference != "" {
		refPath, _, err := modelFile(req.Reference)
		if err != nil {
			return Result{}, fmt.Errorf("mnist evaluator: reference: %w", err)
		}
		if ref, err = nn.LoadNetwork(refPath); err != nil {
			return Result{}, fmt.Errorf("mnist evaluator: reference: %w", err)
		}
	}
	tally, err := m.Evaluate(ctx, e.val)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %s: %w", path, err)
	}
	testTally, err := m.Evaluate(ctx, e.test)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %s: %w", path, err)
	}
	timing, err := e.latency(ctx, m, ref)
	if err != nil {
		return Result{}, fmt.Errorf("mnist evaluator: %s: %w", path, err)
	}
	return Result{
		Accuracy:           tally.Accuracy(),
		TestAccuracy:       testTally.Accuracy(),
		SizeBytes:          size,
		WeightBytes:        m.WeightBytes(),
		Params:             m.NumParams(),
		Packed:             m.Packed,
		LatencyMs:          timing.Ms,
		ReferenceLatencyMs: timing.RefMs,
		Speedup:            timing.Speedup,
		Finite:             tally.Finite && testTally.Finite,
		Examples:           tally.Total,
		TestExamples:       testTally.Total,
	}, nil
}

// modelFile resolves a model path (a file, or a directory holding model.safetensors)
// to its file and size.
func modelFile(p string) (string, int64, error) {
	st, err := os.Stat(p)
	if err == nil && st.IsDir() {
		p = filepath.Join(p, nn.ModelFile)
		st, err = os.Stat(p)
	}
	if err != nil {
		return "", 0, err
	}
	return p, st.Size(), nil
}

// latency times single-image forward passes of m (and ref, interleaved, if not nil) over
// successive test images.
func (e *MNIST) latency(ctx context.Context, m, ref *nn.Network) (Timing, error) {
	n := max(e.test.N, 1)
	blank := make([]float32, nn.ImageSize)
	image := func(i int) []float32 {
		if e.test.N == 0 {
			return blank
		}
		return e.test.Image(i % n)
	}
	forward := func(net *nn.Network) func(int) {
		out := make([]float32, net.Config.LayerSizes[len(net.Config.LayerSizes)-1])
		return func(i int) { net.Forward(image(i), out) }
	}
	var refRun func(int)
	if ref != nil {
		refRun = forward(ref)
	}
	return MeasureLatency(ctx, e.runs, forward(m), refRun)
}
