package bench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Spec configures an evaluator: its registry kind and the kind's options. It is the
// config's evaluator block (less where it runs) and, as JSON, part of every benchmark's
// memo key, so options a kind does not use must stay zero.
type Spec struct {
	// Kind names the evaluator in the registry: "mnist" (default) or "command".
	Kind string `yaml:"kind" json:"kind"`
	// LatencyRuns (mnist) is the number of batch-1 forward passes whose median is the
	// latency.
	LatencyRuns int `yaml:"latency_runs" json:"latency_runs"`
	// Limit (mnist) scores the first Limit validation and test images each (0 = all).
	Limit int `yaml:"limit" json:"limit"`
	// DataDir (mnist) overrides where MNIST is read from.
	DataDir string `yaml:"data_dir" json:"data_dir,omitempty"`
	// Command (command) is the program and its arguments, run without a shell, with
	// {model}, {reference}, {result} and {evomerge} substituted (see Command).
	Command []string `yaml:"command,omitempty" json:"command,omitempty"`
	// Timeout (command) bounds one run of the program, as a Go duration ("90s", "2h");
	// default 30m.
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// AccuracyMetric (command) names the result's higher-is-better metric that the
	// accuracy gate, the reports and the "best child" read as accuracy; default
	// "accuracy".
	AccuracyMetric string `yaml:"accuracy_metric,omitempty" json:"accuracy_metric,omitempty"`
	// ModelFiles (command) is a folder whose other files (config.json, tokenizer files)
	// are linked beside model.safetensors in the folder handed to the program, so it
	// sees a complete Hugging Face checkpoint. Runs default it to the base model's
	// folder.
	ModelFiles string `yaml:"model_files,omitempty" json:"model_files,omitempty"`
	// Version (command) is any label of the program's version; results are memoized per
	// model and evaluator settings, so change it when the program changes in a way
	// ProgramDigest cannot see (an installed package, a remote service).
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
}

// Kind is one entry of the evaluator registry.
type Kind struct {
	// Name is the kind's name in configs (evaluator.kind) and on the command line.
	Name string
	// Normalize validates a spec of this kind and fills its defaults; the error names
	// the offending key under "evaluator.".
	Normalize func(*Spec) error
	// New builds the evaluator a normalized spec describes.
	New func(Spec) (Evaluator, error)
	// Metrics are the metrics of the kind an objective can name (test accuracy only
	// reports), or nil if they are only known when it runs (a user's program).
	Metrics []string
}

var kinds []Kind

// Register adds an evaluator kind; it panics on a duplicate name (a programming error).
func Register(k Kind) {
	if slices.ContainsFunc(kinds, func(o Kind) bool { return o.Name == k.Name }) {
		panic("bench: evaluator kind " + k.Name + " registered twice")
	}
	kinds = append(kinds, k)
}

// Kinds lists the registered evaluator kinds' names, in registration order.
func Kinds() []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return names
}

// Lookup returns the registered kind of that name.
func Lookup(name string) (Kind, error) {
	i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, fmt.Errorf("evaluator.kind: unknown evaluator %q (known: %s)", name, strings.Join(Kinds(), ", "))
	}
	return kinds[i], nil
}

// Normalize defaults an empty kind to "mnist", checks the kind exists and lets it
// validate its options and fill their defaults.
func (s *Spec) Normalize() error {
	if s.Kind == "" {
		s.Kind = "mnist"
	}
	k, err := Lookup(s.Kind)
	if err != nil {
		return err
	}
	return k.Normalize(s)
}

// New builds the evaluator spec describes (after Normalize).
func New(spec Spec) (Evaluator, error) {
	k, err := Lookup(spec.Kind)
	if err != nil {
		return nil, err
	}
	return k.New(spec)
}

// unused reports the first option set on s that its kind does not read, so a typo'd
// or misplaced option is an error instead of being silently ignored.
func (s *Spec) unused(used ...string) error {
	set := []struct {
		key string
		on  bool
	}{
		{"latency_runs", s.LatencyRuns != 0},
		{"limit", s.Limit != 0},
		{"data_dir", s.DataDir != ""},
		{"command", len(s.Command) > 0},
		{"timeout", s.Timeout != ""},
		{"accuracy_metric", s.AccuracyMetric != ""},
		{"model_files", s.ModelFiles != ""},
		{"version", s.Version != ""},
	}
	for _, o := range set {
		if o.on && !slices.Contains(used, o.key) {
			return fmt.Errorf("evaluator.%s: not an option of the %s evaluator (its options: %s)", o.key, s.Kind, strings.Join(used, ", "))
		}
	}
	return nil
}

// TimeoutDuration is the command's timeout (after Normalize).
func (s *Spec) TimeoutDuration() time.Duration {
	d, err := time.ParseDuration(s.Timeout)
	if err != nil {
		return DefaultCommandTimeout
	}
	return d
}

// DefaultCommandTimeout bounds one run of a command evaluator's program by default.
const DefaultCommandTimeout = 30 * time.Minute

func normalizeMNIST(s *Spec) error {
	if err := s.unused("latency_runs", "limit", "data_dir"); err != nil {
		return err
	}
	if s.LatencyRuns == 0 {
		s.LatencyRuns = DefaultLatencyRuns
	}
	if s.LatencyRuns < 1 {
		return fmt.Errorf("evaluator.latency_runs: must be ≥ 1, got %d", s.LatencyRuns)
	}
	if s.Limit < 0 {
		return fmt.Errorf("evaluator.limit: must be ≥ 0 (0 = all images), got %d", s.Limit)
	}
	return nil
}

func normalizeCommand(s *Spec) error {
	if err := s.unused("command", "timeout", "accuracy_metric", "model_files", "version"); err != nil {
		return err
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return errors.New("evaluator.command: required: the program and its arguments, e.g. [python3, eval.py, \"{model}\", --out, \"{result}\"]")
	}
	if !slices.ContainsFunc(s.Command, func(a string) bool { return strings.Contains(a, "{result}") }) {
		return errors.New("evaluator.command: no argument contains {result}, the path the program writes its JSON result to")
	}
	if !slices.ContainsFunc(s.Command, func(a string) bool { return strings.Contains(a, "{model}") }) {
		return errors.New("evaluator.command: no argument contains {model}, the folder of the model to score")
	}
	if s.Timeout == "" {
		s.Timeout = DefaultCommandTimeout.String()
	}
	if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
		return fmt.Errorf("evaluator.timeout: %q is not a positive duration (e.g. 90s, 30m, 2h)", s.Timeout)
	}
	if s.AccuracyMetric == "" {
		s.AccuracyMetric = "accuracy"
	}
	return nil
}

func init() {
	Register(Kind{
		Name:      "mnist",
		Normalize: normalizeMNIST,
		New: func(s Spec) (Evaluator, error) {
			return NewMNIST(MNISTSettings{DataDir: s.DataDir, LatencyRuns: s.LatencyRuns, Limit: s.Limit})
		},
		Metrics: []string{"accuracy", "size_bytes", "latency_ms", "weight_bytes", "speedup"},
	})
	Register(Kind{
		Name:      "command",
		Normalize: normalizeCommand,
		New:       func(s Spec) (Evaluator, error) { return NewCommand(s) },
	})
}
