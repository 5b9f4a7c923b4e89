package activities

import (
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// The messages between workflows and activities: small JSON values, never tensors.

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
	// Recovery, if set, distills the compressed model with evomerge.Model as teacher before it is
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
	// Reference, if set, is the model evomerge.Model's latency is measured against, interleaved
	// (the uncompressed merge of a compressed child).
	Reference store.Ref `json:"reference,omitempty"`
	// Require names the metrics the result must carry (the run's objectives); a result
	// without one is a non-retryable error naming it.
	Require []string `json:"require,omitempty"`
}
