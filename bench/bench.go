package bench

import "context"

// Result is what an evaluator measures on one model.
type Result struct {
	// Accuracy is the fraction of validation examples classified correctly, in [0, 1]:
	// the accuracy a search selects and gates on.
	Accuracy float64 `json:"accuracy"`
	// TestAccuracy is the fraction of test examples classified correctly: reported,
	// never used to choose between models. 0 if the evaluator has no test set.
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	// SizeBytes is the model's size on disk in bytes.
	SizeBytes int64 `json:"size_bytes"`
	// WeightBytes is the memory the loaded model holds for its parameters, in the form
	// it runs in (packed codes and codebooks for a compressed model, float32 otherwise).
	WeightBytes int64 `json:"weight_bytes,omitempty"`
	// Packed reports that a compressed model ran through its codec's packed kernels;
	// false for a dense model.
	Packed bool `json:"packed"`
	// Params is the number of parameters (weights and biases) the model represents.
	Params int64 `json:"params,omitempty"`
	// LatencyMs is the median time of one single-example inference, in milliseconds.
	LatencyMs float64 `json:"latency_ms"`
	// ReferenceLatencyMs is the median single-example time of the request's reference
	// model, measured interleaved with the model's own runs; 0 without a reference.
	ReferenceLatencyMs float64 `json:"reference_latency_ms,omitempty"`
	// Speedup is the median, over interleaved pairs of runs, of reference time ÷ model
	// time: how many times faster the model is than its reference on this machine; 0
	// without a reference.
	Speedup float64 `json:"speedup,omitempty"`
	// Finite reports that inference ran and every output (logit) was a finite number.
	Finite bool `json:"finite"`
	// Examples and TestExamples are the numbers of examples Accuracy and TestAccuracy
	// were measured on.
	Examples     int `json:"examples"`
	TestExamples int `json:"test_examples,omitempty"`
	// MeasuredOn names where the latency was measured: the task queue of the worker that
	// ran the benchmark in a run (the hardware profile's queue when the config names
	// one); empty for a benchmark run outside a run (evomerge bench).
	MeasuredOn string `json:"measured_on,omitempty"`
	// Metrics are every metric the evaluator reported by name, for evaluators whose
	// metrics are not fixed (a command evaluator's program); nil for the built-in ones,
	// whose metrics are the fields above.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Request names the model an evaluator scores and, optionally, the model its latency
// is compared against.
type Request struct {
	// Model is a model file or directory.
	Model string
	// Reference, if set, is the model (typically the uncompressed parent of a compressed
	// child) timed interleaved with Model, so that Result.Speedup compares the two under
	// the same machine conditions.
	Reference string
}

// Evaluator scores a model file.
type Evaluator interface {
	// Name is the evaluator's registry name, e.g. "mnist".
	Name() string
	// Evaluate measures the request's model. It returns an error when a model cannot
	// be loaded or run (naming the file and the problem) or when ctx is done.
	Evaluate(ctx context.Context, req Request) (Result, error)
}

// Scored reports that an evaluation produced r: the built-in evaluators counted examples,
// a command evaluator's program reported metrics. The zero Result (a child whose merge
// failed) is not scored.
func (r Result) Scored() bool { return r.Examples > 0 || len(r.Metrics) > 0 }

// MetricMap is r as a command evaluator's program reports it: every measured field
// under its JSON name (finite and packed as 1 or 0), then r.Metrics. Writing
// {"metrics": r.MetricMap()} and reading it back through the command evaluator gives r
// again (with Metrics holding every entry).
func (r Result) MetricMap() map[string]float64 {
	m := map[string]float64{
		"accuracy":      r.Accuracy,
		"size_bytes":    float64(r.SizeBytes),
		"latency_ms":    r.LatencyMs,
		"finite":        b2f(r.Finite),
		"packed":        b2f(r.Packed),
		"examples":      float64(r.Examples),
		"test_accuracy": r.TestAccuracy,
	}
	opt := map[string]float64{
		"test_examples":        float64(r.TestExamples),
		"weight_bytes":         float64(r.WeightBytes),
		"params":               float64(r.Params),
		"reference_latency_ms": r.ReferenceLatencyMs,
		"speedup":              r.Speedup,
	}
	for k, v := range opt {
		if v != 0 {
			m[k] = v
		}
	}
	for k, v := range r.Metrics {
		m[k] = v
	}
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
