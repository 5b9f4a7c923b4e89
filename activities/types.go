package activities

import (
	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// The messages between workflows and activities: small JSON values, never tensors.

// Model is a scored model: a seed or a child. Its objectives (Score) describe the form a
// user would deploy — the compressed model when compression runs post_merge.
type Model struct {
	// ID is the seed's name or the child's "g<gen>-c<index>".
	ID         string           `json:"id"`
	Generation int              `json:"generation"`
	Recipe     *evomerge.Recipe `json:"recipe,omitempty"`
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
	Recovery *evomerge.RecoverySpec `json:"recovery,omitempty"`
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

// IngestInput asks for the run's seed models to be validated and put in the store.
type IngestInput struct {
	Models []evomerge.ModelSpec `json:"models"`
}

// MergeInput merges stored models by a recipe.
type MergeInput struct {
	Recipe    evomerge.Recipe `json:"recipe"`
	Models    []store.Ref     `json:"models"`
	BaseIndex int             `json:"base_index"`
	ChildID   string          `json:"child_id"`
}

// CompressInput compresses one stored model.
type CompressInput struct {
	Model     store.Ref        `json:"model"`
	Algorithm string           `json:"algorithm"`
	Options   compress.Options `json:"options,omitempty"`
	// Dense also stores the dequantized model, so that pre_merge-compressed parents can be merged.
	Dense bool `json:"dense,omitempty"`
	// Recovery, if set, distills the compressed model with Model as teacher before it is
	// encoded (evomerge.RecoverySpec); the result is its own memoized artifact.
	Recovery *evomerge.RecoverySpec `json:"recovery,omitempty"`
}

// CompressResult is a compressed model and how it compares to its input.
type CompressResult struct {
	Artifact store.Ref      `json:"artifact"`
	Stats    compress.Stats `json:"stats"`
	// Dense is the dequantized model, when asked for.
	Dense store.Ref `json:"dense,omitempty"`
}

// BenchmarkInput scores one stored model.
type BenchmarkInput struct {
	Model     store.Ref              `json:"model"`
	Evaluator evomerge.EvaluatorSpec `json:"evaluator"`
	// Reference, if set, is the model Model's latency is measured against, interleaved
	// (the uncompressed merge of a compressed child).
	Reference store.Ref `json:"reference,omitempty"`
}

// BreedInput asks for the recipes of one generation's children.
type BreedInput struct {
	Seed       uint64                     `json:"seed"`
	Generation int                        `json:"generation"`
	NumModels  int                        `json:"num_models"`
	BaseIndex  int                        `json:"base_index"`
	Children   int                        `json:"children"`
	Variation  evomerge.VariationSettings `json:"variation"`
	Population []Model                    `json:"population"`
}

// GateInput checks a child against the quality gates.
type GateInput struct {
	Child       Model                    `json:"child"`
	Compression evomerge.CompressionSpec `json:"compression"`
	Gates       evomerge.GatesSpec       `json:"gates"`
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
	Candidates []Model  `json:"candidates"`
	Objectives []string `json:"objectives"`
	Survivors  int      `json:"survivors"`
}

// SelectOutput is the next population and its first front (both with rank and crowding set).
type SelectOutput struct {
	Population []Model `json:"population"`
	Front      []Model `json:"front"`
}

// ReportInput is everything report.json and report.md show.
type ReportInput struct {
	Config      evomerge.Config `json:"config"`
	Seeds       []Model         `json:"seeds"`
	Front       []Model         `json:"front"`
	Rejected    []Model         `json:"rejected,omitempty"`
	BestMerge   *Model          `json:"best_merge,omitempty"`
	Generations int             `json:"generations"`
	Evaluations int             `json:"evaluations"`
	Hypervolume float64         `json:"hypervolume"`
	StartedAt   string          `json:"started_at"`
	FinishedAt  string          `json:"finished_at"`
	WallSeconds float64         `json:"wall_seconds"`
	WorkflowID  string          `json:"workflow_id"`
	// Children are every evaluated child's deployed objectives, for the front plot;
	// HypervolumeHistory is the front's hypervolume after each generation.
	Children           []PlotPoint `json:"children,omitempty"`
	HypervolumeHistory []float64   `json:"hypervolume_history,omitempty"`
}

// PlotPoint is one evaluated child as the front plot draws it.
type PlotPoint struct {
	ID        string  `json:"id"`
	Accuracy  float64 `json:"accuracy"`
	SizeBytes int64   `json:"size_bytes"`
}

// Report is report.json.
type Report struct {
	Run         string   `json:"run"`
	WorkflowID  string   `json:"workflow_id"`
	Seed        uint64   `json:"seed"`
	Generations int      `json:"generations"`
	Evaluations int      `json:"evaluations"`
	StartedAt   string   `json:"started_at"`
	FinishedAt  string   `json:"finished_at"`
	WallSeconds float64  `json:"wall_seconds"`
	Objectives  []string `json:"objectives"`
	// Hypervolume of the front, normalized against the seeds (FrontHypervolume), and
	// the front's hypervolume after each generation.
	Hypervolume        float64                  `json:"hypervolume"`
	HypervolumeHistory []float64                `json:"hypervolume_history,omitempty"`
	Compression        evomerge.CompressionSpec `json:"compression"`
	Seeds              []ReportModel            `json:"seeds"`
	Front              []ReportModel            `json:"front"`
	// Rejected are front members that failed the final gates (after final compression).
	Rejected  []ReportModel `json:"rejected,omitempty"`
	BestMerge *ReportModel  `json:"best_merge,omitempty"`
	OutputDir string        `json:"output_dir"`
}

// ReportModel is one model as the report shows it.
type ReportModel struct {
	ID         string           `json:"id"`
	Generation int              `json:"generation"`
	Recipe     *evomerge.Recipe `json:"recipe,omitempty"`
	Objectives Objectives       `json:"objectives"`
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
}
