package evomerge

import (
	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/store"
)

// The run's domain values: scored models, gate verdicts, selection and the report.
// Workflows carry them between activities as JSON.

// Model is a scored model: a seed or a child. Its objectives (Score) describe the form a
// user would deploy — the compressed model when compression runs post_merge.
type Model struct {
	// ID is the seed's name or the child's "g<gen>-c<index>".
	ID         string  `json:"id"`
	Generation int     `json:"generation"`
	Recipe     *Recipe `json:"recipe,omitempty"`
	// Genome is the child's point in the search space (Genome.Decode gives Recipe and
	// Genes); Genes its compression per layer group when compression is searched.
	Genome []float64   `json:"genome,omitempty"`
	Genes  []CodecGene `json:"genes,omitempty"`
	// Merged is the uncompressed model and MergedScore its benchmark.
	Merged      store.Ref    `json:"merged"`
	MergedScore bench.Result `json:"merged_score"`
	// Artifact is the deployed form (Merged itself when not compressed) and Score its benchmark.
	Artifact    store.Ref        `json:"artifact"`
	Score       bench.Result     `json:"score"`
	Compression *CompressionInfo `json:"compression,omitempty"`
	Gates       []GateResult     `json:"gates,omitempty"`
	Accepted    bool             `json:"accepted"`
	// Rank and Crowding are the NSGA-II rank and crowding distance from the last selection.
	Rank     int     `json:"rank"`
	Crowding float64 `json:"crowding"`
}

// CompressionInfo describes a compressed artifact relative to its uncompressed model.
type CompressionInfo struct {
	Algorithm     string  `json:"algorithm"`
	Stage         string  `json:"stage"`
	BitsPerWeight float64 `json:"bits_per_weight"`
	// Ratio is uncompressed bytes ÷ compressed bytes, on disk.
	Ratio float64 `json:"ratio"`
	// Recovery is the distillation the compressed child went through, if any.
	Recovery *RecoverySpec `json:"recovery,omitempty"`
}

// GateResult is one quality gate's verdict.
type GateResult struct {
	Name      string  `json:"name"`
	Passed    bool    `json:"passed"`
	Enforced  bool    `json:"enforced"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Detail    string  `json:"detail"`
}

// GateInput checks a child against the quality gates.
type GateInput struct {
	Child       Model           `json:"child"`
	Compression CompressionSpec `json:"compression"`
	Gates       GatesSpec       `json:"gates"`
	// Reference is the accuracy compared against when the child is not compressed
	// (the base model's accuracy).
	Reference bench.Result `json:"reference"`
}

// GateOutput is every gate's verdict and whether the child is accepted.
type GateOutput struct {
	Gates    []GateResult `json:"gates"`
	Accepted bool         `json:"accepted"`
}

// SelectInput asks for NSGA-II survival over parents ∪ children.
type SelectInput struct {
	Candidates []Model `json:"candidates"`
	// Front is the run's front so far: the output front is the non-dominated set of
	// Front ∪ Candidates, not only of the survivors.
	Front      []Model     `json:"front,omitempty"`
	Objectives []Objective `json:"objectives"`
	Survivors  int         `json:"survivors"`
}

// SelectOutput is the next population and its first front (both with rank and crowding set).
type SelectOutput struct {
	Population []Model `json:"population"`
	Front      []Model `json:"front"`
}

// ReportInput is everything report.json and report.md show.
type ReportInput struct {
	Config      Config  `json:"config"`
	Seeds       []Model `json:"seeds"`
	Front       []Model `json:"front"`
	Rejected    []Model `json:"rejected,omitempty"`
	BestMerge   *Model  `json:"best_merge,omitempty"`
	Generations int     `json:"generations"`
	Evaluations int     `json:"evaluations"`
	Hypervolume float64 `json:"hypervolume"`
	StartedAt   string  `json:"started_at"`
	FinishedAt  string  `json:"finished_at"`
	WallSeconds float64 `json:"wall_seconds"`
	WorkflowID  string  `json:"workflow_id"`
	// Children are every evaluated child's deployed objectives, for the front plot;
	// HypervolumeHistory is the front's hypervolume after each generation.
	Children           []PlotPoint `json:"children,omitempty"`
	HypervolumeHistory []float64   `json:"hypervolume_history,omitempty"`
	// History summarizes every generation; StoppedEarly says evolution.early_stop ended
	// the run; Sensitivity is the base model's per layer under algorithm auto.
	History      []GenerationSummary `json:"history,omitempty"`
	StoppedEarly bool                `json:"stopped_early,omitempty"`
	Sensitivity  []LayerSensitivity  `json:"sensitivity,omitempty"`
	// Stopped says the stop update ended the evolution before its generations or budget.
	Stopped bool `json:"stopped,omitempty"`
}

// GenerationSummary is one generation's line of the report.
type GenerationSummary struct {
	Generation   int     `json:"generation"`
	Children     int     `json:"children"`
	Accepted     int     `json:"accepted"`
	FrontSize    int     `json:"front_size"`
	Hypervolume  float64 `json:"hypervolume"`
	BestAccuracy float64 `json:"best_accuracy"`
	// Floor is the progressive schedule's compression-strength floor and MeanStrength the
	// mean strength of the generation's compressed layer groups.
	Floor        float64 `json:"floor"`
	MeanStrength float64 `json:"mean_strength"`
}

// PlotPoint is one evaluated child as the front plot draws it.
type PlotPoint struct {
	ID        string  `json:"id"`
	Accuracy  float64 `json:"accuracy"`
	SizeBytes int64   `json:"size_bytes"`
}

// Report is report.json.
type Report struct {
	Run         string      `json:"run"`
	WorkflowID  string      `json:"workflow_id"`
	Seed        uint64      `json:"seed"`
	Generations int         `json:"generations"`
	Evaluations int         `json:"evaluations"`
	StartedAt   string      `json:"started_at"`
	FinishedAt  string      `json:"finished_at"`
	WallSeconds float64     `json:"wall_seconds"`
	Objectives  []Objective `json:"objectives"`
	// Hypervolume of the front, normalized against the seeds (FrontHypervolume), and
	// the front's hypervolume after each generation.
	Hypervolume        float64             `json:"hypervolume"`
	HypervolumeHistory []float64           `json:"hypervolume_history,omitempty"`
	History            []GenerationSummary `json:"history,omitempty"`
	StoppedEarly       bool                `json:"stopped_early,omitempty"`
	Stopped            bool                `json:"stopped,omitempty"`
	Strategy           string              `json:"strategy"`
	Budget             int                 `json:"budget"`
	LayerGranularity   int                 `json:"layer_granularity"`
	Hardware           string              `json:"hardware,omitempty"`
	HardwareTaskQueue  string              `json:"hardware_task_queue,omitempty"`
	Sensitivity        []LayerSensitivity  `json:"sensitivity,omitempty"`
	Compression        CompressionSpec     `json:"compression"`
	Seeds              []ReportModel       `json:"seeds"`
	Front              []ReportModel       `json:"front"`
	// Rejected are front members that failed the final gates (after final compression).
	Rejected  []ReportModel `json:"rejected,omitempty"`
	BestMerge *ReportModel  `json:"best_merge,omitempty"`
	OutputDir string        `json:"output_dir"`
}

// ReportModel is one model as the report shows it.
type ReportModel struct {
	ID         string      `json:"id"`
	Generation int         `json:"generation"`
	Recipe     *Recipe     `json:"recipe,omitempty"`
	Genes      []CodecGene `json:"genes,omitempty"`
	Objectives Objectives  `json:"objectives"`
	// Uncompressed are the objectives of the uncompressed merge, when the model is compressed.
	Uncompressed *Objectives      `json:"uncompressed,omitempty"`
	Compression  *CompressionInfo `json:"compression,omitempty"`
	// AccuracyRetention is compressed accuracy ÷ uncompressed accuracy.
	AccuracyRetention  float64      `json:"accuracy_retention,omitempty"`
	Gates              []GateResult `json:"gates,omitempty"`
	Accepted           bool         `json:"accepted"`
	Digest             string       `json:"digest"`
	UncompressedDigest string       `json:"uncompressed_digest,omitempty"`
	// Path is where the model was exported for use (front members only).
	Path string `json:"path,omitempty"`
}

// Objectives are the measured objectives of one model.
type Objectives struct {
	// Accuracy is measured on the validation set (what selection and gates read);
	// TestAccuracy on the test set, for the report only.
	Accuracy     float64 `json:"accuracy"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	SizeBytes    int64   `json:"size_bytes"`
	LatencyMs    float64 `json:"latency_ms"`
	// WeightBytes is the memory the loaded model holds for its parameters.
	WeightBytes int64 `json:"weight_bytes,omitempty"`
	// Speedup is the interleaved latency ratio against the uncompressed merge.
	Speedup float64 `json:"speedup,omitempty"`
	// MeasuredOn is the task queue whose worker measured the latency.
	MeasuredOn string `json:"measured_on,omitempty"`
	// Metrics are everything a command evaluator's program reported, by name.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}
