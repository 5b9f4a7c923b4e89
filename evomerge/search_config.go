package evomerge

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
)

// Objective is one selection objective: a metric the evaluator reports and whether
// the search maximizes or minimizes it. In YAML it is either the metric's name (its
// natural direction is taken) or a mapping {metric, direction}.
type Objective struct {
	Metric    string `yaml:"metric" json:"metric"`
	Direction string `yaml:"direction" json:"direction"`
}

// Directions.
const (
	Maximize = "maximize"
	Minimize = "minimize"
)

// More objective names (ObjAccuracy, ObjSizeBytes and ObjLatencyMs are in config.go).
const (
	ObjWeightBytes = "weight_bytes"
	ObjSpeedup     = "speedup"
)

// metrics are the metrics an objective can name, with their natural direction.
var metrics = []Objective{
	{ObjAccuracy, Maximize},
	{ObjSizeBytes, Minimize},
	{ObjLatencyMs, Minimize},
	{ObjWeightBytes, Minimize},
	{ObjSpeedup, Maximize},
}

// MetricNames lists the metrics an objective can name.
func MetricNames() []string {
	var names []string
	for _, m := range metrics {
		names = append(names, m.Metric)
	}
	return names
}

// UnmarshalYAML accepts "accuracy" or {metric: accuracy, direction: maximize}, and
// rejects unknown keys of the mapping.
func (o *Objective) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&o.Metric)
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: an objective is a metric name or {metric, direction}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k != "metric" && k != "direction" {
			return fmt.Errorf("line %d: field %s not found in type evomerge.Objective", n.Content[i].Line, k)
		}
	}
	type plain Objective
	return n.Decode((*plain)(o))
}

// MetricValue is the named metric of a benchmark result.
func MetricValue(r bench.Result, metric string) (float64, bool) {
	switch metric {
	case ObjAccuracy:
		return r.Accuracy, true
	case ObjSizeBytes:
		return float64(r.SizeBytes), true
	case ObjLatencyMs:
		return r.LatencyMs, true
	case ObjWeightBytes:
		return float64(r.WeightBytes), true
	case ObjSpeedup:
		return r.Speedup, true
	}
	v, ok := r.Metrics[metric]
	return v, ok
}

// normalizeObjectives checks the objectives against the evaluator's metrics (known:
// the names it always reports; nil for an evaluator whose metrics are only known when
// it runs, whose result must then carry every objective's metric).
func normalizeObjectives(objs []Objective, known []string) ([]Objective, error) {
	if len(objs) == 0 {
		return []Objective{{ObjAccuracy, Maximize}, {ObjSizeBytes, Minimize}}, nil
	}
	seen := map[string]bool{}
	out := make([]Objective, len(objs))
	for i, o := range objs {
		field := fmt.Sprintf("objectives[%d]", i)
		if o.Metric == "test_accuracy" {
			return nil, fmt.Errorf("%s.metric: test_accuracy cannot steer the search (the test set only reports); use accuracy, measured on the validation set", field)
		}
		if o.Metric == "" {
			return nil, fmt.Errorf("%s.metric: required", field)
		}
		if known != nil && !slices.Contains(known, o.Metric) {
			return nil, fmt.Errorf("%s.metric: unknown metric %q (known: %s)", field, o.Metric, strings.Join(known, ", "))
		}
		if o.Direction == "" {
			j := slices.IndexFunc(metrics, func(m Objective) bool { return m.Metric == o.Metric })
			if j < 0 {
				return nil, fmt.Errorf("%s.direction: required for metric %q (maximize or minimize)", field, o.Metric)
			}
			o.Direction = metrics[j].Direction
		}
		if o.Direction != Maximize && o.Direction != Minimize {
			return nil, fmt.Errorf("%s.direction: %q must be maximize or minimize", field, o.Direction)
		}
		if seen[o.Metric] {
			return nil, fmt.Errorf("%s: metric %q listed twice", field, o.Metric)
		}
		seen[o.Metric] = true
		out[i] = o
	}
	return out, nil
}

// ObjectiveNames are the objectives' metric names, in order.
func (c *Config) ObjectiveNames() []string {
	var names []string
	for _, o := range c.Objectives {
		names = append(names, o.Metric)
	}
	return names
}

// EarlyStopSpec stops a run once the front's hypervolume has improved by less than
// MinImprovement (absolute, on the normalized hypervolume) for Generations generations
// in a row.
type EarlyStopSpec struct {
	Generations    int     `yaml:"generations" json:"generations"`
	MinImprovement float64 `yaml:"min_improvement" json:"min_improvement"`
}

// Stop reports whether the hypervolume history (one value per generation) calls for
// stopping.
func (s *EarlyStopSpec) Stop(history []float64) bool {
	if s == nil || s.Generations < 1 || len(history) <= s.Generations {
		return false
	}
	n := len(history)
	return history[n-1]-history[n-1-s.Generations] < s.MinImprovement
}

// Strategy names.
const (
	StrategyNSGA2  = "nsga2"
	StrategyCMAES  = "cmaes"
	StrategyRandom = "random"
)

// The algorithm values beside a codec's name.
const (
	// AlgorithmSearch evolves a codec and a strength per layer group (compression genes).
	AlgorithmSearch = "search"
	// AlgorithmAuto evolves a compression budget per layer group; the codec and its
	// setting per layer are chosen from their measured sensitivity on calibration data.
	AlgorithmAuto = "auto"
	// CodecNone is the compression gene value that keeps a layer group dense.
	CodecNone = "none"
)

// Profiles: compression.profile presets (the notes' mobile profiles).
const (
	ProfileLowMemory     = "low_memory"
	ProfileBatterySaving = "battery_saving"
	ProfileBalanced      = "balanced"
)

// profile is what a compression.profile sets when the config leaves it unset.
type profile struct {
	algorithm   string
	codecs      []string
	targetRatio float64
	minStrength float64
}

// profiles: low_memory is BitNet everywhere, as strong as it goes; battery_saving is
// SeedLM's stronger two thirds of the ladder, from 16-weight blocks (1.9 bits per weight)
// to structured pruning (the pruned rungs), so that each layer group can be pruned or not;
// balanced is VPTQ with the bit budget per layer allocated by sensitivity.
var profiles = map[string]profile{
	ProfileLowMemory:     {algorithm: AlgorithmSearch, codecs: []string{"bitnet"}, targetRatio: 8},
	ProfileBatterySaving: {algorithm: AlgorithmSearch, codecs: []string{"seedlm"}, targetRatio: 4, minStrength: 0.34},
	ProfileBalanced:      {algorithm: AlgorithmAuto, codecs: []string{"vptq"}, targetRatio: 4},
}

// ProfileNames lists the compression profiles.
func ProfileNames() []string {
	return []string{ProfileLowMemory, ProfileBatterySaving, ProfileBalanced}
}

// ProgressiveSpec raises the compression strength floor across generations: in
// generation g of G (1-based) every compression gene's strength s is used as
// floor + s·(1 − floor), floor = Start + (End − Start)·(g − 1)/(G − 1).
type ProgressiveSpec struct {
	Start float64 `yaml:"start" json:"start"`
	End   float64 `yaml:"end" json:"end"`
}

// Floor is the strength floor of generation g (1-based) of a run of gens generations.
func (p *ProgressiveSpec) Floor(g, gens int) float64 {
	if p == nil {
		return 0
	}
	if gens <= 1 {
		return p.End
	}
	t := float64(g-1) / float64(gens-1)
	return clamp(p.Start+(p.End-p.Start)*t, 0, 1)
}

// HardwareSpec names where latency is measured: benchmark activities run on TaskQueue,
// which a worker on that hardware serves (`evomerge worker --task-queue`), and every
// score records Name.
type HardwareSpec struct {
	Name      string `yaml:"name" json:"name"`
	TaskQueue string `yaml:"task_queue" json:"task_queue"`
}

func (h *HardwareSpec) normalize() error {
	if h == nil {
		return nil
	}
	if h.Name == "" {
		return errors.New("evaluator.hardware.name: required")
	}
	if h.TaskQueue == "" {
		h.TaskQueue = "evomerge-bench-" + h.Name
	}
	return nil
}

// normalizeSearch fills and checks the compression block's search settings.
func (s *CompressionSpec) normalizeSearch() error {
	if s.Profile != "" {
		p, ok := profiles[s.Profile]
		if !ok {
			return fmt.Errorf("compression.profile: unknown profile %q (known: %s)", s.Profile, strings.Join(ProfileNames(), ", "))
		}
		if s.Algorithm == "" {
			s.Algorithm = p.algorithm
		}
		if len(s.Codecs) == 0 {
			s.Codecs = append([]string(nil), p.codecs...)
		}
		if s.TargetRatio == 0 {
			s.TargetRatio = p.targetRatio
		}
		if s.MinStrength == 0 {
			s.MinStrength = p.minStrength
		}
	}
	if s.Algorithm != AlgorithmSearch && s.Algorithm != AlgorithmAuto {
		if len(s.Codecs) > 0 {
			return fmt.Errorf("compression.codecs: only used with algorithm %s or %s, not %q", AlgorithmSearch, AlgorithmAuto, s.Algorithm)
		}
		return nil
	}
	if len(s.Codecs) == 0 {
		s.Codecs = []string{CodecNone, "bitnet", "vptq", "seedlm"}
	}
	known := append([]string{CodecNone}, compress.Names()...)
	if err := checkChoices("compression.codecs", "codec", s.Codecs, known...); err != nil {
		return err
	}
	if s.Algorithm == AlgorithmAuto && slices.Contains(s.Codecs, CodecNone) && len(s.Codecs) == 1 {
		return errors.New("compression.codecs: algorithm auto needs at least one codec besides none")
	}
	for _, c := range s.Codecs {
		if c == CodecNone {
			continue
		}
		if _, err := compress.Ladder(c); err != nil {
			return fmt.Errorf("compression.codecs: %w", err)
		}
	}
	if slices.Contains(s.ApplyAt, StagePreMerge) {
		return fmt.Errorf("compression.apply_at: searched compression runs post_merge (each child's layers get their own codec); pre_merge needs one codec as algorithm")
	}
	if len(s.Options) > 0 {
		return fmt.Errorf("compression.options: the codecs' settings are searched with algorithm %s; remove options", s.Algorithm)
	}
	if !(s.MinStrength >= 0 && s.MinStrength <= 1) {
		return fmt.Errorf("compression.min_strength: %g is outside [0, 1]", s.MinStrength)
	}
	if p := s.Progressive; p != nil {
		if !(p.Start >= 0 && p.Start <= 1) {
			return fmt.Errorf("compression.progressive.start: %g is outside [0, 1]", p.Start)
		}
		if !(p.End >= 0 && p.End <= 1) {
			return fmt.Errorf("compression.progressive.end: %g is outside [0, 1]", p.End)
		}
	}
	if s.Recovery != nil {
		return errors.New("compression.recovery: not supported with searched compression yet (distillation is per codec); remove it or choose one algorithm")
	}
	return nil
}

// Searched reports whether compression genes are part of the genome.
func (s *CompressionSpec) Searched() bool {
	return s.Enabled && (s.Algorithm == AlgorithmSearch || s.Algorithm == AlgorithmAuto)
}

func (e *EvolutionSpec) normalizeSearch() error {
	if e.Strategy == "" {
		e.Strategy = StrategyNSGA2
	}
	if !slices.Contains(StrategyNames(), e.Strategy) {
		return fmt.Errorf("evolution.strategy: unknown strategy %q (known: %s)", e.Strategy, strings.Join(StrategyNames(), ", "))
	}
	if e.Budget == 0 {
		e.Budget = e.Generations * e.Children
	}
	if e.Budget < 1 {
		return fmt.Errorf("evolution.budget: must be ≥ 1 evaluation, got %d", e.Budget)
	}
	if e.LayerGranularity == 0 {
		e.LayerGranularity = 1
	}
	if e.LayerGranularity < 1 || e.LayerGranularity > 256 {
		return fmt.Errorf("evolution.layer_granularity: %d is outside [1, 256]", e.LayerGranularity)
	}
	if s := e.EarlyStop; s != nil {
		if s.Generations < 1 {
			return fmt.Errorf("evolution.early_stop.generations: must be ≥ 1, got %d", s.Generations)
		}
		if !(s.MinImprovement >= 0 && s.MinImprovement < math.Inf(1)) {
			return fmt.Errorf("evolution.early_stop.min_improvement: must be a finite number ≥ 0, got %g", s.MinImprovement)
		}
	}
	return nil
}
