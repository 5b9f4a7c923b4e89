package bench

import "context"

// Result is what an evaluator measures on one model.
type Result struct {
	// Accuracy is the fraction of examples classified correctly, in [0, 1].
	Accuracy float64 `json:"accuracy"`
	// SizeBytes is the model's size on disk in bytes.
	SizeBytes int64 `json:"size_bytes"`
	// LatencyMs is the median time of one single-example inference, in milliseconds.
	LatencyMs float64 `json:"latency_ms"`
	// Finite reports that inference ran and every output (logit) was a finite number.
	Finite bool `json:"finite"`
	// Examples is the number of examples Accuracy was measured on.
	Examples int `json:"examples"`
}

// Evaluator scores a model file.
type Evaluator interface {
	// Name is the evaluator's registry name, e.g. "mnist".
	Name() string
	// Evaluate measures the model at modelPath. It returns an error when the model cannot
	// be loaded or run (naming the file and the problem) or when ctx is done.
	Evaluate(ctx context.Context, modelPath string) (Result, error)
}
