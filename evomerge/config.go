package evomerge

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	_ "github.com/evomerge/evomerge/compress/all" // register every codec so configs can name them
)

// Config is one evolution run, as written in a YAML file. It is also the input of the
// EvolutionWorkflow (as JSON), so it holds only small values: paths and numbers.
type Config struct {
	// Name names the run; the workflow ID and the output folder derive from it.
	Name string `yaml:"name" json:"name"`
	// Seed seeds every random choice of the run.
	Seed uint64 `yaml:"seed" json:"seed"`
	// OutputDir receives report.json, report.md and the front's models. Default runs/<name>.
	OutputDir string `yaml:"output_dir" json:"output_dir"`
	// BaseModel names the model that task vectors are taken against.
	BaseModel string `yaml:"base_model" json:"base_model"`
	// Models are the run's seed models, in the order recipes weight them.
	Models []ModelSpec `yaml:"models" json:"models"`
	// SeedModels, when set, lets `evomerge run` train the demo's seed models if missing.
	SeedModels *SeedModelsSpec `yaml:"seed_models,omitempty" json:"seed_models,omitempty"`
	Evolution  EvolutionSpec   `yaml:"evolution" json:"evolution"`
	Evaluator  EvaluatorSpec   `yaml:"evaluator" json:"evaluator"`
	// Objectives are the selection objectives: metrics the evaluator reports (accuracy,
	// size_bytes, latency_ms, weight_bytes, speedup), each maximized or minimized.
	// latency_ms is a wall-clock measurement: selecting on it makes runs depend on timing.
	Objectives  []Objective     `yaml:"objectives" json:"objectives"`
	Compression CompressionSpec `yaml:"compression" json:"compression"`
	Gates       GatesSpec       `yaml:"gates" json:"gates"`
}

// ModelSpec is one seed model: a safetensors file, a folder with model.safetensors, or a
// folder with a sharded model.safetensors.index.json.
type ModelSpec struct {
	Name string `yaml:"name" json:"name"`
	Path string `yaml:"path" json:"path"`
}

// SeedModelsSpec asks for the built-in demo seeds to be trained into Dir when missing.
type SeedModelsSpec struct {
	// Generate names the seed set: "mnist-demo" (the demo's MLPs, trained on MNIST) or
	// "llama-synth" (a Llama-shaped base and three fine-tunes written by `evomerge synth`
	// at LlamaSynth's settings, as folders base, ft-1, ft-2, ft-3).
	Generate string `yaml:"generate" json:"generate"`
	Dir      string `yaml:"dir" json:"dir"`
}

// EvolutionSpec sizes the search and sets the variation operators.
type EvolutionSpec struct {
	Generations int `yaml:"generations" json:"generations"`
	// Population is the number of survivors kept per generation.
	Population int `yaml:"population" json:"population"`
	// Children is the number of children bred per generation (default: Population).
	Children int `yaml:"children" json:"children"`
	// Parallelism bounds how many children are evaluated at once (default 2).
	Parallelism int `yaml:"parallelism" json:"parallelism"`
	// ContinueAsNewEvery starts a fresh workflow history every so many generations,
	// carrying the run's state (0: only when the server suggests it).
	ContinueAsNewEvery int `yaml:"continue_as_new_every" json:"continue_as_new_every,omitempty"`
	// Methods are the merge methods the genome chooses from.
	Methods []string `yaml:"methods" json:"methods"`
	// Strategy is the search algorithm: nsga2 (default), cmaes or random.
	Strategy string `yaml:"strategy" json:"strategy"`
	// Budget is the number of children evaluated in the whole run (default
	// Generations × Children); the run ends when it is spent or after Generations.
	Budget int `yaml:"budget" json:"budget"`
	// LayerGranularity is the number of layer groups that get their own merge weights,
	// parameters and compression genes (default 1: one set for the whole model).
	LayerGranularity int `yaml:"layer_granularity" json:"layer_granularity"`
	// EarlyStop, if set, ends the run when the front stops improving.
	EarlyStop *EarlyStopSpec `yaml:"early_stop,omitempty" json:"early_stop,omitempty"`
}

// EvaluatorSpec chooses how children are scored: an evaluator kind from bench's
// registry with its options (bench.Spec, inline: evaluator.kind, evaluator.command, …),
// and where benchmarks run.
type EvaluatorSpec struct {
	bench.Spec `yaml:",inline"`
	// Hardware, if set, is where latency is measured: benchmarks run on its task queue.
	Hardware *HardwareSpec `yaml:"hardware,omitempty" json:"hardware,omitempty"`
	// TaskQueue, if set, is the task queue benchmark activities run on, so a machine
	// with the evaluator's hardware (a GPU box running lm-eval) serves them while merges
	// run elsewhere: start `evomerge worker --task-queue NAME` there.
	TaskQueue string `yaml:"task_queue,omitempty" json:"task_queue,omitempty"`
}

// BenchmarkQueue is the task queue benchmarks run on: evaluator.task_queue, else the
// hardware profile's, else "" (the run's own).
func (e EvaluatorSpec) BenchmarkQueue() string {
	if e.TaskQueue != "" {
		return e.TaskQueue
	}
	if e.Hardware != nil {
		return e.Hardware.TaskQueue
	}
	return ""
}

// CompressionSpec is the seed document's compression block.
type CompressionSpec struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Algorithm is a codec's name (every child compressed alike), "search" (a codec and
	// a strength evolved per layer group) or "auto" (a bit budget evolved per layer
	// group, each layer's codec and setting chosen by measured sensitivity).
	Algorithm string `yaml:"algorithm" json:"algorithm"`
	// Profile presets the algorithm, codecs and size target: low_memory, battery_saving
	// or balanced. Keys set in the config win over the profile's.
	Profile string `yaml:"profile,omitempty" json:"profile,omitempty"`
	// Codecs are the codecs the compression genes choose from ("none" keeps a layer
	// group dense); default none, bitnet, vptq, seedlm.
	Codecs []string `yaml:"codecs,omitempty" json:"codecs,omitempty"`
	// MinStrength is the weakest compression strength a gene may ask for, in [0, 1].
	MinStrength float64 `yaml:"min_strength,omitempty" json:"min_strength,omitempty"`
	// Progressive, if set, raises the strength floor across generations.
	Progressive *ProgressiveSpec `yaml:"progressive,omitempty" json:"progressive,omitempty"`
	ApplyAt     []string         `yaml:"apply_at" json:"apply_at"`
	// TargetRatio is the size gate: compressed child ≥ TargetRatio× smaller on disk.
	TargetRatio float64 `yaml:"target_ratio" json:"target_ratio"`
	// AccuracyThreshold is the accuracy gate: compressed accuracy ≥ threshold × reference.
	AccuracyThreshold float64 `yaml:"accuracy_threshold" json:"accuracy_threshold"`
	// Options are the codec's own settings.
	Options compress.Options `yaml:"options,omitempty" json:"options,omitempty"`
	// Recovery, if set, fine-tunes every compressed child to win back accuracy.
	Recovery *RecoverySpec `yaml:"recovery,omitempty" json:"recovery,omitempty"`
}

// RecoverySpec is compression.recovery: knowledge-distillation recovery of a compressed
// child. Kind "distill" is a quantization-aware fine-tune (straight-through estimator)
// of the child's latent float weights, forward through the codec's own arithmetic, with
// the child's uncompressed merge as teacher, on training images only.
type RecoverySpec struct {
	Kind string `yaml:"kind" json:"kind"`
	// Steps is the number of SGD steps (default 500); BatchSize the images per step
	// (default 64); LR the learning rate (default 0.1); Temperature softens the
	// teacher's and student's softmax (default 1). On a briefly trained demo model,
	// 300–800 steps at 0.05–0.2 recovered 97.8–99.2 % of the dense accuracy against
	// 94.5 % without recovery; temperature 1 did better than 2.
	Steps       int     `yaml:"steps" json:"steps"`
	BatchSize   int     `yaml:"batch_size" json:"batch_size"`
	LR          float64 `yaml:"lr" json:"lr"`
	Temperature float64 `yaml:"temperature" json:"temperature"`
	// Seed seeds the order of the training images (default 0).
	Seed uint64 `yaml:"seed" json:"seed"`
}

// GatesSpec tunes the quality gates beyond what the compression block sets.
type GatesSpec struct {
	Latency LatencyGateSpec `yaml:"latency" json:"latency"`
}

// LatencyGateSpec is the latency gate: speed-up of the compressed child over its
// uncompressed merge, measured interleaved with it (bench.Result.Speedup). It is
// enforced by default — every codec runs through its own packed kernel — and can be
// reported only (enforce: false) for codecs whose kernels do not beat the dense product
// at the model's size, since a wall-clock gate near its threshold lets a busy machine
// change the front.
type LatencyGateSpec struct {
	MinSpeedup float64 `yaml:"min_speedup" json:"min_speedup"`
	Enforce    *bool   `yaml:"enforce" json:"enforce"`
}

// Enforced reports whether the latency gate rejects children (default true).
func (s LatencyGateSpec) Enforced() bool { return s.Enforce == nil || *s.Enforce }

// Compression stages.
const (
	StagePreMerge  = "pre_merge"
	StagePostMerge = "post_merge"
	StageFinal     = "final"
)

// Objective names.
const (
	ObjAccuracy  = "accuracy"
	ObjSizeBytes = "size_bytes"
	ObjLatencyMs = "latency_ms"
)

// ConfigError is a problem with a config file: usage, not a run failure.
type ConfigError struct {
	File string
	Err  error
}

func (e *ConfigError) Error() string {
	if e.File == "" {
		return "config: " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// LoadConfig reads and strictly decodes a YAML run config (unknown keys are errors), fills
// defaults, resolves relative paths against the current directory (as mergekit does) and
// validates everything but the existence of model files (see CheckModelPaths).
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		msg := unknownField.ReplaceAllString(err.Error(), `unknown key "$1"`)
		msg = strings.ReplaceAll(strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  "), "\n  ", "; ")
		return nil, &ConfigError{File: path, Err: errors.New(msg)}
	}
	if err := c.Normalize(); err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	c.ResolvePaths()
	return &c, nil
}

// ResolvePaths makes every path absolute against the current directory, so the run
// does not depend on where its workers were started.
func (c *Config) ResolvePaths() {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	c.OutputDir = abs(c.OutputDir)
	for i := range c.Models {
		c.Models[i].Path = abs(c.Models[i].Path)
	}
	if c.SeedModels != nil {
		c.SeedModels.Dir = abs(c.SeedModels.Dir)
	}
	c.Evaluator.DataDir = abs(c.Evaluator.DataDir)
	c.Evaluator.ModelFiles = abs(c.Evaluator.ModelFiles)
}

// Normalize fills defaults and validates values, touching no files (workflows call it
// too). It is idempotent.
func (c *Config) Normalize() error {
	if c.Name == "" {
		return errors.New("name: required")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`).MatchString(c.Name) {
		return fmt.Errorf("name: %q must be letters, digits, '.', '_' or '-'", c.Name)
	}
	if c.OutputDir == "" {
		c.OutputDir = filepath.Join("runs", c.Name)
	}
	if len(c.Models) < 2 {
		return fmt.Errorf("models: need at least 2 models, got %d", len(c.Models))
	}
	seen := map[string]bool{}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Name == "" {
			return fmt.Errorf("models[%d].name: required", i)
		}
		if seen[m.Name] {
			return fmt.Errorf("models[%d].name: duplicate model name %q", i, m.Name)
		}
		seen[m.Name] = true
		if m.Path == "" {
			return fmt.Errorf("models[%d].path: required", i)
		}
	}
	if c.BaseModel == "" {
		c.BaseModel = c.Models[0].Name
	}
	if !seen[c.BaseModel] {
		return fmt.Errorf("base_model: %q is not one of the models", c.BaseModel)
	}
	if s := c.SeedModels; s != nil {
		if s.Generate != "mnist-demo" && s.Generate != "llama-synth" {
			return fmt.Errorf("seed_models.generate: unknown seed set %q (known: mnist-demo, llama-synth)", s.Generate)
		}
		if s.Dir == "" {
			return errors.New("seed_models.dir: required")
		}
	}
	if err := c.Evolution.normalize(); err != nil {
		return err
	}
	if err := c.Evaluator.Spec.Normalize(); err != nil {
		return err
	}
	if err := c.Evaluator.Hardware.normalize(); err != nil {
		return err
	}
	if h := c.Evaluator.Hardware; h != nil && h.TaskQueue != "" && c.Evaluator.TaskQueue != "" && h.TaskQueue != c.Evaluator.TaskQueue {
		return fmt.Errorf("evaluator.task_queue: %q differs from evaluator.hardware's task queue %q; benchmarks run on one queue", c.Evaluator.TaskQueue, h.TaskQueue)
	}
	if c.Evaluator.Kind == "command" && c.Evaluator.ModelFiles == "" {
		// The program sees a whole checkpoint: the base model's config and tokenizer.
		// (A seed given as a folder; a .safetensors file has none beside it.)
		for _, m := range c.Models {
			if m.Name == c.BaseModel && !strings.HasSuffix(m.Path, ".safetensors") {
				c.Evaluator.ModelFiles = m.Path
			}
		}
	}
	kind, err := bench.Lookup(c.Evaluator.Kind)
	if err != nil {
		return err
	}
	objs, err := normalizeObjectives(c.Objectives, kind.Metrics)
	if err != nil {
		return err
	}
	c.Objectives = objs
	if err := c.Compression.normalize(); err != nil {
		return err
	}
	if c.Gates.Latency.MinSpeedup == 0 {
		c.Gates.Latency.MinSpeedup = 1.0
	}
	if v := c.Gates.Latency.MinSpeedup; !(v >= 0 && v <= math.MaxFloat64) {
		return fmt.Errorf("gates.latency.min_speedup: must be a finite number ≥ 0, got %g", v)
	}
	return nil
}

func (e *EvolutionSpec) normalize() error {
	if e.Generations < 1 {
		return fmt.Errorf("evolution.generations: must be ≥ 1, got %d", e.Generations)
	}
	if e.Population < 2 {
		return fmt.Errorf("evolution.population: must be ≥ 2, got %d", e.Population)
	}
	if e.Children == 0 {
		e.Children = e.Population
	}
	if e.Children < 1 {
		return fmt.Errorf("evolution.children: must be ≥ 1, got %d", e.Children)
	}
	if e.Parallelism == 0 {
		e.Parallelism = 2
	}
	if e.Parallelism < 1 {
		return fmt.Errorf("evolution.parallelism: must be ≥ 1, got %d", e.Parallelism)
	}
	if e.ContinueAsNewEvery < 0 {
		return fmt.Errorf("evolution.continue_as_new_every: must be ≥ 0, got %d", e.ContinueAsNewEvery)
	}
	def := DefaultVariation()
	if len(e.Methods) == 0 {
		e.Methods = def.Methods
	}
	for i, m := range e.Methods {
		if _, err := LookupMethod(m); err != nil {
			return fmt.Errorf("evolution.methods[%d]: %w", i, err)
		}
	}
	return e.normalizeSearch()
}

// Variation returns the variation operator settings of this run.
func (e *EvolutionSpec) Variation() VariationSettings {
	v := DefaultVariation()
	v.Methods = append([]string(nil), e.Methods...)
	return v
}

func (s *CompressionSpec) normalize() error {
	if !s.Enabled {
		return nil
	}
	if err := s.normalizeSearch(); err != nil {
		return err
	}
	if s.Algorithm == "" {
		return errors.New("compression.algorithm: required when compression is enabled (a codec, search or auto; or set compression.profile)")
	}
	if !s.Searched() {
		if _, err := compress.New(s.Algorithm, s.Options); err != nil {
			return fmt.Errorf("compression.algorithm: %w", err)
		}
	}
	if len(s.ApplyAt) == 0 {
		s.ApplyAt = []string{StagePostMerge, StageFinal}
	}
	if err := checkChoices("compression.apply_at", "stage", s.ApplyAt, StagePreMerge, StagePostMerge, StageFinal); err != nil {
		return err
	}
	if !(s.TargetRatio >= 0 && s.TargetRatio <= math.MaxFloat64) {
		return fmt.Errorf("compression.target_ratio: must be a finite number ≥ 0, got %g", s.TargetRatio)
	}
	if !(s.AccuracyThreshold >= 0 && s.AccuracyThreshold <= 1) {
		return fmt.Errorf("compression.accuracy_threshold: %g is outside [0, 1]", s.AccuracyThreshold)
	}
	if s.Recovery != nil {
		return s.Recovery.Normalize(s.Algorithm)
	}
	return nil
}

// Recovery defaults.
const (
	DefaultRecoverySteps       = 500
	DefaultRecoveryBatchSize   = 64
	DefaultRecoveryLR          = 0.1
	DefaultRecoveryTemperature = 1
)

// Normalize fills r's defaults and checks it for a codec; errors name the config key.
func (r *RecoverySpec) Normalize(algorithm string) error {
	if r.Kind != "distill" {
		return fmt.Errorf("compression.recovery.kind: unknown recovery %q (known: distill)", r.Kind)
	}
	if algorithm != "bitnet" {
		// The fine-tune re-encodes the weights at every step: instant for BitNet, seconds
		// per step for VPTQ's k-means and SeedLM's seed search.
		return fmt.Errorf("compression.recovery: distill supports algorithm bitnet, not %q (it re-encodes the weights at every step)", algorithm)
	}
	if r.Steps == 0 {
		r.Steps = DefaultRecoverySteps
	}
	if r.BatchSize == 0 {
		r.BatchSize = DefaultRecoveryBatchSize
	}
	if r.LR == 0 {
		r.LR = DefaultRecoveryLR
	}
	if r.Temperature == 0 {
		r.Temperature = DefaultRecoveryTemperature
	}
	switch {
	case r.Steps < 1 || r.Steps > 1_000_000:
		return fmt.Errorf("compression.recovery.steps: %d is outside [1, 1000000]", r.Steps)
	case r.BatchSize < 1 || r.BatchSize > 60000:
		return fmt.Errorf("compression.recovery.batch_size: %d is outside [1, 60000]", r.BatchSize)
	case !(r.LR > 0 && r.LR <= 10):
		return fmt.Errorf("compression.recovery.lr: %g must be in (0, 10]", r.LR)
	case !(r.Temperature >= 0.1 && r.Temperature <= 100):
		return fmt.Errorf("compression.recovery.temperature: %g is outside [0.1, 100]", r.Temperature)
	}
	return nil
}

// checkChoices checks that every value of the list field is one of known, once.
func checkChoices(field, what string, values []string, known ...string) error {
	seen := map[string]bool{}
	for i, v := range values {
		if !slices.Contains(known, v) {
			return fmt.Errorf("%s[%d]: unknown %s %q (known: %s)", field, i, what, v, strings.Join(known, ", "))
		}
		if seen[v] {
			return fmt.Errorf("%s[%d]: %q listed twice", field, i, v)
		}
		seen[v] = true
	}
	return nil
}

// At reports whether compression runs at stage.
func (s *CompressionSpec) At(stage string) bool {
	if !s.Enabled {
		return false
	}
	for _, st := range s.ApplyAt {
		if st == stage {
			return true
		}
	}
	return false
}

// BaseIndex is the position of the base model in Models.
func (c *Config) BaseIndex() int {
	for i, m := range c.Models {
		if m.Name == c.BaseModel {
			return i
		}
	}
	return -1
}

// MissingSeeds reports whether every model path that does not exist lies in the
// seed_models folder, so that training the seeds would make the config whole.
func (c *Config) MissingSeeds() bool {
	if c.SeedModels == nil {
		return false
	}
	missing := false
	for _, m := range c.Models {
		if _, err := os.Stat(m.Path); err == nil {
			continue
		}
		if rel, err := filepath.Rel(c.SeedModels.Dir, m.Path); err != nil || strings.HasPrefix(rel, "..") {
			return false
		}
		missing = true
	}
	return missing
}

// CheckModelPaths reports the first model whose path does not exist.
func (c *Config) CheckModelPaths() error {
	for i, m := range c.Models {
		if _, err := os.Stat(m.Path); err != nil {
			return fmt.Errorf("models[%d].path: model %q: %s does not exist", i, m.Name, m.Path)
		}
	}
	return nil
}
