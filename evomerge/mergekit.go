package evomerge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evomerge/evomerge/tensor"
)

// One-off merges from the mergekit YAML people write (arcee-ai/mergekit mergekit/config.py,
// mergekit/plan.py), run without a server: `evomerge merge -c FILE -o DIR`.
//
// Semantics follow mergekit:
//
//   - `models:` is shorthand for one output slice whose sources are every model with its
//     full layer range (plus the base model when a method needs it and it is not listed).
//   - Each output slice takes layers from its sources, which must span the same number of
//     layers; output layers are numbered consecutively across slices, so `passthrough`
//     with one source per slice stacks layers of several models ("frankenmerge").
//   - Tensors outside the layer stack: embeddings come from the first slice's sources (with
//     t = 0), everything else (final norm, head) from the last slice's (t = 1).
//   - A parameter is a number, a bool (1/0), a list of numbers (a gradient: within a slice
//     of n layers, layer k reads it at t = k/(n−1), linearly interpolated), or a list of
//     {filter, value} conditions (the first whose filter is a substring of the tensor name,
//     or is empty or "*", applies). A per-model parameter is looked up in the source's
//     parameters, then the slice's, then the global ones; a global one (model-independent)
//     in the slice's, then the global ones.
//   - Parameters a method declares PerModel (density, gamma, epsilon) and `weight` may
//     differ between models (MergeInput.ModelParams); the others (lambda, normalize, t,
//     ...) are one value per tensor and are an error in a model's or source's parameters
//     (mergekit would silently ignore them there).
//   - `weight` is a per-model parameter, required by the methods for which mergekit
//     requires it (linear, task_arithmetic, ties and the dare/della/breadcrumbs family when
//     registered); 1 for other methods. The base model's weight is not used by methods that
//     need a base. `density` defaults to 1 (no trimming) as in mergekit, not to our TIES
//     default.
//   - dtype / out_dtype: the output dtype (out_dtype wins). Arithmetic is float32 here
//     whatever dtype says. Without either, each tensor keeps its input dtype, and inputs of
//     one tensor must then agree.
//
// Differences: model references are local paths only (a directory with model.safetensors
// or a sharded index, or a .safetensors file), resolved against the current directory;
// no Hugging Face downloads, LoRA (+) or revisions (@). tokenizer_source may be "base" or a
// model path (files are copied; embeddings are not permuted), not "union". `modules`,
// `tokenizer`, `chat_template` and `residual_weight` are rejected as unsupported.

// MergeKitConfig is a mergekit merge configuration.
type MergeKitConfig struct {
	MergeMethod     string          `yaml:"merge_method"`
	BaseModel       string          `yaml:"base_model,omitempty"`
	Models          []MergeKitModel `yaml:"models,omitempty"`
	Slices          []MergeKitSlice `yaml:"slices,omitempty"`
	Parameters      MergeKitParams  `yaml:"parameters,omitempty"`
	DType           string          `yaml:"dtype,omitempty"`
	OutDType        string          `yaml:"out_dtype,omitempty"`
	TokenizerSource string          `yaml:"tokenizer_source,omitempty"`
	Modules         any             `yaml:"modules,omitempty"`
	Tokenizer       any             `yaml:"tokenizer,omitempty"`
	ChatTemplate    any             `yaml:"chat_template,omitempty"`
	file            string          // the file it was read from, for errors
}

// MergeKitModel is one entry of `models:`.
type MergeKitModel struct {
	Model      string         `yaml:"model"`
	Parameters MergeKitParams `yaml:"parameters,omitempty"`
}

// MergeKitSlice is one output slice of `slices:`.
type MergeKitSlice struct {
	Sources        []MergeKitSource `yaml:"sources"`
	BaseModel      string           `yaml:"base_model,omitempty"`
	Parameters     MergeKitParams   `yaml:"parameters,omitempty"`
	ResidualWeight any              `yaml:"residual_weight,omitempty"`
}

// MergeKitSource is one input slice: layers [LayerRange[0], LayerRange[1]) of Model.
type MergeKitSource struct {
	Model      string         `yaml:"model"`
	LayerRange []int          `yaml:"layer_range"`
	Parameters MergeKitParams `yaml:"parameters,omitempty"`
}

// MergeKitParams maps parameter names to settings.
type MergeKitParams map[string]ParamSetting

// ParamSetting is a mergekit parameter value: exactly one of Scalar, Gradient or
// Conditions is set.
type ParamSetting struct {
	Scalar     *float64
	Gradient   []float64
	Conditions []ParamCondition
	line       int
}

// ParamCondition is a {filter, value} entry: Value (a scalar or gradient) applies to
// tensors whose name contains Filter ("" or "*": every tensor).
type ParamCondition struct {
	Filter string
	Value  ParamSetting
}

// UnmarshalYAML decodes a number, bool, list of numbers, {filter, value} mapping or list
// of such mappings.
func (p *ParamSetting) UnmarshalYAML(n *yaml.Node) error {
	p.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := yamlNumber(n)
		if err != nil {
			return err
		}
		p.Scalar = &v
		return nil
	case yaml.MappingNode:
		c, err := decodeCondition(n)
		if err != nil {
			return err
		}
		p.Conditions = []ParamCondition{c}
		return nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return fmt.Errorf("line %d: an empty list is not a parameter value", n.Line)
		}
		if n.Content[0].Kind == yaml.MappingNode {
			for _, e := range n.Content {
				if e.Kind != yaml.MappingNode {
					return fmt.Errorf("line %d: a list of conditions must hold only {filter, value} entries", e.Line)
				}
				c, err := decodeCondition(e)
				if err != nil {
					return err
				}
				p.Conditions = append(p.Conditions, c)
			}
			return nil
		}
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a gradient must be a list of numbers", e.Line)
			}
			v, err := yamlNumber(e)
			if err != nil {
				return err
			}
			p.Gradient = append(p.Gradient, v)
		}
		return nil
	}
	return fmt.Errorf("line %d: not a parameter value (want a number, a list of numbers or {filter, value} conditions)", n.Line)
}

func yamlNumber(n *yaml.Node) (float64, error) {
	switch n.Tag {
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return 0, err
		}
		if b {
			return 1, nil
		}
		return 0, nil
	case "!!int", "!!float":
		v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			var f float64
			if err := n.Decode(&f); err != nil {
				return 0, fmt.Errorf("line %d: %q is not a number", n.Line, n.Value)
			}
			v = f
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("line %d: %s is not a finite number", n.Line, n.Value)
		}
		return v, nil
	}
	return 0, fmt.Errorf("line %d: %q is not a number", n.Line, n.Value)
}

func decodeCondition(n *yaml.Node) (ParamCondition, error) {
	var c ParamCondition
	haveValue := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "filter":
			if v.Kind != yaml.ScalarNode {
				return c, fmt.Errorf("line %d: filter must be a string", v.Line)
			}
			c.Filter = v.Value
		case "value":
			if err := c.Value.UnmarshalYAML(v); err != nil {
				return c, err
			}
			if c.Value.Conditions != nil {
				return c, fmt.Errorf("line %d: a condition's value must be a number or a list of numbers", v.Line)
			}
			haveValue = true
		default:
			return c, fmt.Errorf("line %d: unknown key %q in a parameter condition (known: filter, value)", k.Line, k.Value)
		}
	}
	if !haveValue {
		return c, fmt.Errorf("line %d: a parameter condition needs a value", n.Line)
	}
	return c, nil
}

// at evaluates the setting for a tensor at gradient position t in [0, 1]; ok is false
// when no condition matches.
func (p ParamSetting) at(tensorName string, t float64) (v float64, ok bool) {
	switch {
	case p.Scalar != nil:
		return *p.Scalar, true
	case len(p.Gradient) > 0:
		return gradientAt(p.Gradient, t), true
	}
	for _, c := range p.Conditions {
		if c.Filter == "" || c.Filter == "*" || strings.Contains(tensorName, c.Filter) {
			return c.Value.at(tensorName, t)
		}
	}
	return 0, false
}

// gradientAt interpolates list linearly at t in [0, 1], as mergekit's evaluate_setting:
// position t·(len−1) between its neighbouring entries.
func gradientAt(list []float64, t float64) float64 {
	if len(list) == 1 {
		return list[0]
	}
	scaled := t * float64(len(list)-1)
	i0 := int(scaled)
	i0 = min(max(i0, 0), len(list)-1)
	i1 := min(len(list)-1, i0+1)
	frac := scaled - float64(i0)
	return (1-frac)*list[i0] + frac*list[i1]
}

// ErrMergeInput marks errors caused by a merge's inputs: the config, or the models it
// names (missing or corrupt files, mismatched or non-finite tensors). Other errors (writing
// the output) are the machine's.
var ErrMergeInput = errors.New("bad merge input")

// inputError marks err as ErrMergeInput without changing its message.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrMergeInput }

func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

// mergeKitContexts names the YAML types in unknown-key errors.
var mergeKitContexts = map[string]reflect.Type{
	"MergeKitConfig": reflect.TypeOf(MergeKitConfig{}),
	"MergeKitModel":  reflect.TypeOf(MergeKitModel{}),
	"MergeKitSlice":  reflect.TypeOf(MergeKitSlice{}),
	"MergeKitSource": reflect.TypeOf(MergeKitSource{}),
}

var mergeKitWhere = map[string]string{
	"MergeKitConfig": "at the top level",
	"MergeKitModel":  "in a models entry",
	"MergeKitSlice":  "in a slices entry",
	"MergeKitSource": "in a slices sources entry",
}

var unknownMergeKitField = regexp.MustCompile(`field (\S+) not found in type \S*\.(\w+)`)

// ParseMergeKitConfig strictly decodes a mergekit YAML config (unknown keys are errors
// naming the key, its line and the known keys) and validates its structure. name is used
// in errors. Model paths are not checked here (see MergeKit).
func ParseMergeKitConfig(data []byte, name string) (*MergeKitConfig, error) {
	var c MergeKitConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the file is empty")
		}
		msg := unknownMergeKitField.ReplaceAllStringFunc(err.Error(), func(m string) string {
			sub := unknownMergeKitField.FindStringSubmatch(m)
			known := yamlKeys(mergeKitContexts[sub[2]])
			return fmt.Sprintf("unknown key %q %s (known: %s)", sub[1], mergeKitWhere[sub[2]], strings.Join(known, ", "))
		})
		msg = strings.ReplaceAll(strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  "), "\n  ", "; ")
		return nil, &ConfigError{File: name, Err: inputError{errors.New(msg)}}
	}
	c.file = name
	if err := c.validate(); err != nil {
		return nil, &ConfigError{File: name, Err: inputError{err}}
	}
	return &c, nil
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	if t == nil {
		return nil
	}
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" {
			keys = append(keys, strings.Split(tag, ",")[0])
		}
	}
	return keys
}

// LoadMergeKitConfig reads and parses the mergekit YAML config at path.
func LoadMergeKitConfig(path string) (*MergeKitConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: inputError{err}}
	}
	return ParseMergeKitConfig(data, path)
}

// PassthroughMethod is the name of mergekit's layer-copying method, handled by MergeKit
// itself (it renames tensors; there is no arithmetic).
const PassthroughMethod = "passthrough"

// mergeKitWeightRequired are the methods for which mergekit requires a weight per model.
var mergeKitWeightRequired = map[string]bool{
	"linear": true, "task_arithmetic": true, "ties": true, "dare_ties": true, "dare_linear": true,
	"breadcrumbs": true, "breadcrumbs_ties": true, "della": true, "della_linear": true,
}

// mergeKitIgnored are mergekit parameters with no effect on the result here (int8_mask
// only changes how mergekit stores its masks).
var mergeKitIgnored = map[string]bool{"int8_mask": true}

// mergeKitDefaults are mergekit's defaults where they differ from our methods'.
var mergeKitDefaults = map[string]float64{"density": 1}

func (c *MergeKitConfig) method() (Method, error) {
	if c.MergeMethod == PassthroughMethod {
		return nil, nil
	}
	m, err := LookupMethod(c.MergeMethod)
	if err != nil {
		return nil, fmt.Errorf("merge_method: unknown merge method %q (known: %s)", c.MergeMethod, strings.Join(append(MethodNames(), PassthroughMethod), ", "))
	}
	return m, nil
}

// validate checks what can be checked without opening models.
func (c *MergeKitConfig) validate() error {
	if c.MergeMethod == "" {
		return errors.New("merge_method: missing")
	}
	m, err := c.method()
	if err != nil {
		return err
	}
	for key, v := range map[string]any{"modules": c.Modules, "tokenizer": c.Tokenizer, "chat_template": c.ChatTemplate} {
		if v != nil {
			return fmt.Errorf("%s: not supported by evomerge merge", key)
		}
	}
	switch {
	case len(c.Models) > 0 && len(c.Slices) > 0:
		return errors.New("models and slices: give one of them, not both")
	case len(c.Models) == 0 && len(c.Slices) == 0:
		return errors.New("models or slices: one of them is required")
	}
	if _, err := parseMergeKitDType("dtype", c.DType); err != nil {
		return err
	}
	if _, err := parseMergeKitDType("out_dtype", c.OutDType); err != nil {
		return err
	}
	if c.TokenizerSource == "union" {
		return errors.New(`tokenizer_source: "union" is not supported (use "base" or a model path)`)
	}
	if c.TokenizerSource == "base" && c.BaseModel == "" {
		return errors.New(`tokenizer_source: "base" needs base_model`)
	}
	known := map[string]bool{"weight": true}
	var names []string
	if m == nil {
		known = map[string]bool{"scale": true}
	} else {
		for _, p := range m.Params() {
			known[p.Name] = true
		}
	}
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	perModel := map[string]bool{"weight": true, "scale": true}
	if m != nil {
		for _, p := range m.Params() {
			perModel[p.Name] = p.PerModel
		}
	}
	checkParams := func(field string, ps MergeKitParams) error {
		modelField := strings.HasPrefix(field, "models[") || strings.Contains(field, ".sources[")
		for _, k := range slices.Sorted(mapsKeys(ps)) {
			if !known[k] && !mergeKitIgnored[k] {
				return fmt.Errorf("%s.%s (line %d): method %s has no parameter %q (its parameters: %s)", field, k, ps[k].line, c.MergeMethod, k, strings.Join(names, ", "))
			}
			if modelField && known[k] && !perModel[k] {
				return fmt.Errorf("%s.%s (line %d): %s is one value for all models of method %s, not a per-model parameter; set it in parameters (or a slice's parameters)", field, k, ps[k].line, k, c.MergeMethod)
			}
		}
		return nil
	}
	if err := checkParams("parameters", c.Parameters); err != nil {
		return err
	}
	for i, mdl := range c.Models {
		if mdl.Model == "" {
			return fmt.Errorf("models[%d].model: missing", i)
		}
		if err := checkParams(fmt.Sprintf("models[%d].parameters", i), mdl.Parameters); err != nil {
			return err
		}
	}
	for i, s := range c.Slices {
		if s.ResidualWeight != nil {
			return fmt.Errorf("slices[%d].residual_weight: not supported by evomerge merge", i)
		}
		if len(s.Sources) == 0 {
			return fmt.Errorf("slices[%d].sources: missing or empty", i)
		}
		if m == nil && len(s.Sources) != 1 {
			return fmt.Errorf("slices[%d].sources: passthrough takes exactly one source per slice, got %d", i, len(s.Sources))
		}
		if err := checkParams(fmt.Sprintf("slices[%d].parameters", i), s.Parameters); err != nil {
			return err
		}
		for j, src := range s.Sources {
			f := fmt.Sprintf("slices[%d].sources[%d]", i, j)
			if src.Model == "" {
				return fmt.Errorf("%s.model: missing", f)
			}
			if len(src.LayerRange) != 2 || src.LayerRange[0] < 0 || src.LayerRange[1] <= src.LayerRange[0] {
				return fmt.Errorf("%s.layer_range: %v, want [start, end) with 0 ≤ start < end", f, src.LayerRange)
			}
			if err := checkParams(f+".parameters", src.Parameters); err != nil {
				return err
			}
		}
	}
	if m == nil && len(c.Models) > 1 {
		return fmt.Errorf("models: passthrough takes exactly one model, got %d (use slices to stack layers of several)", len(c.Models))
	}
	if m != nil && m.NeedsBase() && c.BaseModel == "" {
		missing := true
		for _, s := range c.Slices {
			if s.BaseModel != "" {
				missing = false
			}
		}
		if missing {
			return fmt.Errorf("base_model: method %s needs a base model", c.MergeMethod)
		}
	}
	return nil
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// parseMergeKitDType maps mergekit's dtype names to tensor dtypes ("" → "").
func parseMergeKitDType(field, s string) (tensor.DType, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "float32", "fp32", "f32":
		return tensor.F32, nil
	case "float16", "fp16", "f16", "half":
		return tensor.F16, nil
	case "bfloat16", "bf16":
		return tensor.BF16, nil
	}
	return "", fmt.Errorf("%s: %q is not float32, float16 or bfloat16", field, s)
}

// MergeKitOptions tune MergeKit.
type MergeKitOptions struct {
	// OutShardBytes caps the tensor bytes per output shard (0: 5 GB, mergekit's default).
	OutShardBytes int64
	// Progress, if set, is called after each output tensor.
	Progress func(done, total int, name string)
}

// DefaultOutShardBytes is mergekit's default --out-shard-size (5B bytes).
const DefaultOutShardBytes = 5_000_000_000

// MergeKitResult summarizes a merge.
type MergeKitResult struct {
	Tensors     int      `json:"tensors"`
	Layers      int      `json:"layers"`
	Shards      int      `json:"shards"`
	InputBytes  int64    `json:"input_bytes"`  // tensor bytes read from the inputs
	OutputBytes int64    `json:"output_bytes"` // tensor bytes written
	Files       []string `json:"files"`        // file names in the output directory
}

// mkModel is one opened input model.
type mkModel struct {
	ref    string
	path   string
	ckpt   *tensor.Checkpoint
	layers int
	infos  map[string]tensor.Info
	names  []string // sorted
}

// MergeKit runs the merge c describes into the checkpoint directory outDir, which must
// not exist or be empty: model shards (model.safetensors, or
// model-0000i-of-0000N.safetensors plus model.safetensors.index.json), config.json from
// the base model (else the first model) with num_hidden_layers set to the output's layer
// count and torch_dtype to the output dtype, and, with tokenizer_source, that model's
// tokenizer files. Everything that can be checked is checked before the first byte is
// written (models exist and open, tensors present with equal shapes, parameters valid);
// tensors are then merged one at a time from memory-mapped inputs in float32 (inputs with
// NaN or ±Inf are errors). outDir appears only complete: on any error nothing is left.
// Errors caused by the config or the models wrap ErrMergeInput and name the field, file
// or tensor. Cancelling ctx stops the merge before the next tensor (and leaves nothing).
func MergeKit(ctx context.Context, c *MergeKitConfig, outDir string, opts MergeKitOptions) (res MergeKitResult, err error) {
	if opts.OutShardBytes == 0 {
		opts.OutShardBytes = DefaultOutShardBytes
	}
	if opts.OutShardBytes < 0 {
		return res, inputErrorf("output shard size %d bytes is not positive", opts.OutShardBytes)
	}
	p, err := planMergeKit(c)
	if p != nil {
		defer p.close()
	}
	if err != nil {
		return res, err
	}
	side, err := p.sideFiles(c)
	if err != nil {
		return res, err
	}
	var bufs mergeBuffers
	bufs.reserve(p.ops)
	infos := make([]tensor.Info, len(p.ops))
	for i, op := range p.ops {
		infos[i] = op.out
		res.OutputBytes += int64(tensor.NumElements(op.out.Shape) * op.out.DType.Size())
		for _, in := range op.inputs {
			res.InputBytes += p.bytesOf(in)
		}
		if op.base != nil {
			res.InputBytes += p.bytesOf(*op.base)
		}
	}
	meta := map[string]string{"format": "pt", "merge.method": c.MergeMethod}
	err = tensor.CreateDirAtomic(outDir, func(tmp string) error {
		w, err := tensor.NewShardedWriter(tmp, meta, infos, opts.OutShardBytes)
		if err != nil {
			return err
		}
		res.Shards = w.Shards()
		for i := range p.ops {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("merge interrupted after %d of %d tensors: %w", i, len(p.ops), err)
			}
			out, err := p.ops[i].run(&bufs)
			if err != nil {
				return inputError{err}
			}
			if err := w.WriteFloat32(p.ops[i].out.Name, out); err != nil {
				return err
			}
			if opts.Progress != nil {
				opts.Progress(i+1, len(p.ops), p.ops[i].out.Name)
			}
			if tensor.NumElements(p.ops[i].out.Shape) >= 1<<20 {
				// Collect a method's scratch for a large tensor now, before the next one
				// allocates its own: the buffers are reused, so garbage is what would
				// otherwise grow the heap (a cheap collection: the buffers hold no pointers).
				runtime.GC()
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		for _, name := range slices.Sorted(mapsKeys(side)) {
			if err := writeFileAtomic(filepath.Join(tmp, name), side[name]); err != nil {
				return err
			}
		}
		entries, err := os.ReadDir(tmp)
		if err != nil {
			return err
		}
		for _, e := range entries {
			res.Files = append(res.Files, e.Name())
		}
		return nil
	})
	if errors.Is(err, tensor.ErrDirNotEmpty) {
		err = inputErrorf("output: %w", err)
	}
	if err != nil {
		return MergeKitResult{}, err
	}
	res.Tensors, res.Layers = len(p.ops), p.layers
	return res, nil
}

// mkPlan is a planned merge: its opened models and one op per output tensor.
type mkPlan struct {
	models  map[string]*mkModel // by path
	ops     []mergeOp
	layers  int
	outType tensor.DType
}

func (p *mkPlan) close() {
	for _, m := range p.models {
		m.ckpt.Close()
	}
}

func (p *mkPlan) bytesOf(in opInput) int64 {
	for _, m := range p.models {
		if m.ckpt == in.src {
			info := m.infos[in.name]
			return info.End - info.Begin
		}
	}
	return 0
}

// open resolves and opens the model reference ref, found in field.
func (p *mkPlan) open(field, ref string) (*mkModel, error) {
	if strings.ContainsAny(ref, "+@") {
		if _, err := os.Stat(ref); err != nil {
			return nil, inputErrorf("%s: %q: LoRA (+) and revision (@) references are not supported; give a local checkpoint path", field, ref)
		}
	}
	path, err := filepath.Abs(ref)
	if err != nil {
		return nil, inputErrorf("%s: %q: %w", field, ref, err)
	}
	if m, ok := p.models[path]; ok {
		return m, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, inputErrorf("%s: %s: no such file or folder (models are local checkpoint folders or .safetensors files; nothing is downloaded)", field, ref)
	}
	ck, err := tensor.OpenCheckpoint(path)
	if err != nil {
		return nil, inputErrorf("%s: %w", field, err)
	}
	m := &mkModel{ref: ref, path: path, ckpt: ck, infos: map[string]tensor.Info{}}
	for _, info := range ck.Infos() {
		m.infos[info.Name] = info
		m.names = append(m.names, info.Name)
	}
	m.layers = LayerCount(m.names)
	p.models[path] = m
	return m, nil
}

// mkSource is a source of a normalized slice.
type mkSource struct {
	field  string // e.g. "models[1]" or "slices[0].sources[1]"
	model  *mkModel
	start  int
	params MergeKitParams
}

type mkSlice struct {
	field   string
	sources []mkSource
	base    *mkModel // nil if none
	params  MergeKitParams
	layers  int
}

func planMergeKit(c *MergeKitConfig) (*mkPlan, error) {
	if err := c.validate(); err != nil {
		return nil, &ConfigError{File: c.file, Err: inputError{err}}
	}
	m, _ := c.method()
	p := &mkPlan{models: map[string]*mkModel{}}
	outType, _ := parseMergeKitDType("out_dtype", c.OutDType)
	if outType == "" {
		outType, _ = parseMergeKitDType("dtype", c.DType)
	}
	p.outType = outType

	var base *mkModel
	if c.BaseModel != "" {
		b, err := p.open("base_model", c.BaseModel)
		if err != nil {
			return p, err
		}
		base = b
	}

	// Normalize to slices.
	var slicesN []mkSlice
	if len(c.Models) > 0 {
		s := mkSlice{field: "models", base: base}
		baseListed := false
		for i, mdl := range c.Models {
			mm, err := p.open(fmt.Sprintf("models[%d].model", i), mdl.Model)
			if err != nil {
				return p, err
			}
			if mm == base {
				baseListed = true
			}
			s.sources = append(s.sources, mkSource{field: fmt.Sprintf("models[%d]", i), model: mm, params: mdl.Parameters})
		}
		if base != nil && !baseListed && m != nil && m.NeedsBase() {
			s.sources = append(s.sources, mkSource{field: "base_model", model: base})
		}
		s.layers = s.sources[0].model.layers
		for _, src := range s.sources {
			if src.model.layers != s.layers {
				return p, inputErrorf("%s: %s has %d layers, but %s has %d", src.field, src.model.ref, src.model.layers, s.sources[0].model.ref, s.layers)
			}
		}
		slicesN = append(slicesN, s)
	} else {
		for i, sl := range c.Slices {
			s := mkSlice{field: fmt.Sprintf("slices[%d]", i), base: base, params: sl.Parameters}
			if sl.BaseModel != "" {
				b, err := p.open(s.field+".base_model", sl.BaseModel)
				if err != nil {
					return p, err
				}
				s.base = b
			}
			for j, src := range sl.Sources {
				f := fmt.Sprintf("%s.sources[%d]", s.field, j)
				mm, err := p.open(f+".model", src.Model)
				if err != nil {
					return p, err
				}
				a, b := src.LayerRange[0], src.LayerRange[1]
				if b > mm.layers {
					return p, inputErrorf("%s.layer_range: [%d, %d] is beyond %s, which has %d layers", f, a, b, src.Model, mm.layers)
				}
				if j > 0 && b-a != s.layers {
					return p, inputErrorf("%s.layer_range: [%d, %d] spans %d layers, but the slice's first source spans %d; all sources of a slice must span the same number", f, a, b, b-a, s.layers)
				}
				s.layers = b - a
				s.sources = append(s.sources, mkSource{field: f, model: mm, start: a, params: src.Parameters})
			}
			slicesN = append(slicesN, s)
		}
	}

	// Methods with a base need it among each slice's sources.
	needsBase := m != nil && m.NeedsBase()
	for _, s := range slicesN {
		if !needsBase {
			continue
		}
		if s.base == nil {
			return p, inputErrorf("%s: method %s needs a base model", s.field, c.MergeMethod)
		}
		found := false
		for _, src := range s.sources {
			found = found || src.model == s.base
		}
		if !found {
			return p, inputErrorf("%s: the base model %s is not among the slice's sources", s.field, s.base.ref)
		}
	}

	// Output tensors: embeddings from the first slice, layers, the rest from the last.
	first, last := slicesN[0], slicesN[len(slicesN)-1]
	addNonLayer := func(s mkSlice, embeddings bool, t float64) error {
		ref := refSource(s, needsBase)
		for _, name := range ref.model.names {
			if _, inLayer := LayerIndex(name); inLayer || isEmbedding(name) != embeddings {
				continue
			}
			if err := p.addOp(c, m, s, name, name, func(mkSource) string { return name }, t); err != nil {
				return err
			}
		}
		return nil
	}
	if err := addNonLayer(first, true, 0); err != nil {
		return p, err
	}
	out := 0
	for _, s := range slicesN {
		ref := refSource(s, needsBase)
		for k := 0; k < s.layers; k++ {
			t := 1.0
			if s.layers > 1 {
				t = float64(k) / float64(s.layers-1)
			}
			for _, name := range ref.model.names {
				if l, ok := LayerIndex(name); !ok || l != ref.start+k {
					continue
				}
				outName := renumberLayer(name, out)
				inName := func(src mkSource) string { return renumberLayer(name, src.start+k) }
				if err := p.addOp(c, m, s, inName(ref), outName, inName, t); err != nil {
					return p, err
				}
			}
			out++
		}
		// Tensors at these layers in other sources but not in the reference.
		for _, src := range s.sources {
			for _, name := range src.model.names {
				l, ok := LayerIndex(name)
				if !ok || l < src.start || l >= src.start+s.layers {
					continue
				}
				refName := renumberLayer(name, ref.start+l-src.start)
				if _, ok := ref.model.infos[refName]; !ok {
					return p, inputErrorf("%s: %s has tensor %q, which %s does not have (%q)", src.field, src.model.ref, name, ref.model.ref, refName)
				}
			}
		}
	}
	p.layers = out
	if err := addNonLayer(last, false, 1); err != nil {
		return p, err
	}
	for _, s := range []mkSlice{first, last} {
		ref := refSource(s, needsBase)
		for _, src := range s.sources {
			for _, name := range src.model.names {
				if _, inLayer := LayerIndex(name); inLayer {
					continue
				}
				if _, ok := ref.model.infos[name]; !ok {
					return p, inputErrorf("%s: %s has tensor %q, which %s does not have", src.field, src.model.ref, name, ref.model.ref)
				}
			}
		}
	}
	if len(p.ops) == 0 {
		return p, inputErrorf("the merge has no tensors")
	}
	return p, nil
}

// refSource is the source whose tensor names a slice's output follows: the base model's
// when the method uses one, else the first.
func refSource(s mkSlice, needsBase bool) mkSource {
	if needsBase {
		for _, src := range s.sources {
			if src.model == s.base {
				return src
			}
		}
	}
	return s.sources[0]
}

// renumberLayer replaces the layer number in name (see LayerIndex) by layer.
func renumberLayer(name string, layer int) string {
	parts := strings.Split(name, ".")
	for i, part := range parts {
		if layerMarkers[part] && i+1 < len(parts) {
			if _, ok := decimal(parts[i+1]); ok {
				parts[i+1] = strconv.Itoa(layer)
				return strings.Join(parts, ".")
			}
		}
		if rest, ok := strings.CutPrefix(part, "fc"); ok {
			if n, ok := decimal(rest); ok && n >= 1 {
				parts[i] = "fc" + strconv.Itoa(layer+1)
				return strings.Join(parts, ".")
			}
		}
	}
	return name
}

// addOp plans output tensor outName of slice s: refName in the reference source, and
// inName(src) in each source; t is the gradient position.
func (p *mkPlan) addOp(c *MergeKitConfig, m Method, s mkSlice, refName, outName string, inName func(mkSource) string, t float64) error {
	needsBase := m != nil && m.NeedsBase()
	ref := refSource(s, needsBase)
	want := ref.model.infos[refName]
	switch want.DType {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return inputErrorf("%s: tensor %q has dtype %s; only F32, F16 and BF16 tensors can be merged", ref.model.ckpt.ShardPath(refName), refName, want.DType)
	}
	outType := p.outType
	if outType == "" {
		outType = want.DType
	}
	op := mergeOp{out: tensor.Info{Name: outName, DType: outType, Shape: want.Shape}, method: m, seed: tensorSeed(outName), checkFinite: true}
	type modelSrc struct {
		src  mkSource
		name string
	}
	var inputs []modelSrc
	for _, src := range s.sources {
		name := inName(src)
		info, ok := src.model.infos[name]
		switch {
		case !ok:
			return inputErrorf("%s: %s has no tensor %q (%s has %q)", src.field, src.model.ref, name, ref.model.ref, refName)
		case !slices.Equal(info.Shape, want.Shape):
			return inputErrorf("%s: tensor %q has shape %v in %s, but %q has %v in %s", src.field, name, info.Shape, src.model.ckpt.ShardPath(name), refName, want.Shape, ref.model.ckpt.ShardPath(refName))
		case info.DType != want.DType && p.outType == "":
			return inputErrorf("%s: tensor %q has dtype %s in %s, but %q is %s in %s (set dtype to merge them)", src.field, name, info.DType, src.model.ckpt.ShardPath(name), refName, want.DType, ref.model.ckpt.ShardPath(refName))
		case info.DType != tensor.F32 && info.DType != tensor.F16 && info.DType != tensor.BF16:
			return inputErrorf("%s: tensor %q has dtype %s; only F32, F16 and BF16 tensors can be merged", src.model.ckpt.ShardPath(name), name, info.DType)
		}
		in := opInput{src: src.model.ckpt, name: name, label: src.model.ckpt.ShardPath(name)}
		if needsBase && src.model == s.base {
			op.base = &in
			continue
		}
		op.inputs = append(op.inputs, in)
		inputs = append(inputs, modelSrc{src, name})
	}
	if len(op.inputs) == 0 {
		return inputErrorf("%s: no models to merge besides the base", s.field)
	}

	// Parameters: per model (source, slice, global) and global (slice, global).
	lookup := func(name string, src *mkSource, tensorName string) (float64, bool) {
		if src != nil {
			if v, ok := src.params[name]; ok {
				if x, ok := v.at(tensorName, t); ok {
					return x, true
				}
			}
		}
		for _, ps := range []MergeKitParams{s.params, c.Parameters} {
			if v, ok := ps[name]; ok {
				if x, ok := v.at(tensorName, t); ok {
					return x, true
				}
			}
		}
		return 0, false
	}
	if m == nil {
		op.scale = 1
		if v, ok := lookup("scale", &inputs[0].src, inputs[0].name); ok {
			op.scale = v
		}
		p.ops = append(p.ops, op)
		return nil
	}
	for _, in := range inputs {
		w, ok := lookup("weight", &in.src, in.name)
		if !ok {
			if mergeKitWeightRequired[m.Name()] {
				return inputErrorf("%s.parameters.weight: missing; method %s needs a weight for every model (tensor %q)", in.src.field, m.Name(), in.name)
			}
			w = 1
		}
		op.weights = append(op.weights, w)
	}
	op.params = map[string]float64{}
	for _, decl := range m.Params() {
		if !decl.PerModel {
			// A global parameter: the slice's setting, else the config's (mergekit
			// looks these up without a model).
			if v, ok := lookup(decl.Name, nil, outName); ok {
				op.params[decl.Name] = v
			}
			continue
		}
		def := decl.Default
		if d, ok := mergeKitDefaults[decl.Name]; ok {
			def = d
		}
		vals := make([]float64, len(inputs))
		set, same := false, true
		for i, in := range inputs {
			v, ok := lookup(decl.Name, &in.src, in.name)
			if !ok {
				v = def
			}
			set = set || ok
			vals[i] = v
			same = same && v == vals[0]
		}
		switch {
		case !set && def != decl.Default:
			op.params[decl.Name] = def
		case !set:
		case same:
			op.params[decl.Name] = vals[0]
		default:
			if op.modelParams == nil {
				op.modelParams = map[string][]float64{}
			}
			op.modelParams[decl.Name] = vals
		}
	}
	if len(op.modelParams) > 0 {
		probe := MergeInput{Models: make([][]float32, len(op.inputs)), ModelParams: op.modelParams}
		if err := checkModelParams(m, probe); err != nil {
			return inputErrorf("tensor %q: %w", outName, err)
		}
	}
	if _, err := checkRecipeParams(m, fmt.Sprintf("tensor %q", outName), op.params); err != nil {
		return inputErrorf("%w", err)
	}
	if err := checkWeights(fmt.Sprintf("tensor %q weights", outName), op.weights, len(op.weights)); err != nil {
		return inputErrorf("%w", err)
	}
	p.ops = append(p.ops, op)
	return nil
}

// tokenizerFiles are the files of a Hugging Face tokenizer that tokenizer_source copies.
var tokenizerFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
	"vocab.json", "merges.txt", "added_tokens.json", "vocab.txt", "chat_template.jinja",
}

// sideFiles reads what goes next to the shards, before anything is merged: config.json
// (from the base model, else the first model, when it is a folder with one) updated for
// the output, and the tokenizer files of tokenizer_source. It returns file name → bytes.
func (p *mkPlan) sideFiles(c *MergeKitConfig) (map[string][]byte, error) {
	files := map[string][]byte{}
	cfgFrom := ""
	switch {
	case c.BaseModel != "":
		cfgFrom = c.BaseModel
	case len(c.Models) > 0:
		cfgFrom = c.Models[0].Model
	default:
		cfgFrom = c.Slices[0].Sources[0].Model
	}
	if st, err := os.Stat(cfgFrom); err == nil && st.IsDir() {
		path := filepath.Join(cfgFrom, "config.json")
		raw, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, inputErrorf("%w", err)
		default:
			updated, err := updateModelConfig(raw, p.layers, p.outType)
			if err != nil {
				return nil, inputErrorf("%s: %w", path, err)
			}
			files["config.json"] = updated
		}
	}
	if c.TokenizerSource == "" {
		return files, nil
	}
	src := c.TokenizerSource
	if src == "base" {
		src = c.BaseModel
	}
	st, err := os.Stat(src)
	if err != nil || !st.IsDir() {
		return nil, inputErrorf("tokenizer_source: %s is not a model folder", src)
	}
	found := false
	for _, name := range tokenizerFiles {
		b, err := os.ReadFile(filepath.Join(src, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, inputErrorf("tokenizer_source: %w", err)
		}
		files[name] = b
		found = true
	}
	if !found {
		return nil, inputErrorf("tokenizer_source: %s has no tokenizer files (%s)", src, strings.Join(tokenizerFiles, ", "))
	}
	return files, nil
}

func writeFileAtomic(path string, b []byte) error {
	return tensor.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// updateModelConfig sets num_hidden_layers (when present and layers > 0) and torch_dtype
// (when dt is set) in a config.json, keeping its other members and their order.
func updateModelConfig(raw []byte, layers int, dt tensor.DType) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	n := 0
	seenDType := false
	add := func(k string, v []byte) {
		if n > 0 {
			out.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		out.Write(v)
		n++
	}
	dtypeName := map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt]
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		switch {
		case key == "num_hidden_layers" && layers > 0:
			v = json.RawMessage(strconv.Itoa(layers))
		case key == "torch_dtype" && dtypeName != "":
			v, _ = json.Marshal(dtypeName)
			seenDType = true
		}
		add(key, v)
	}
	if !seenDType && dtypeName != "" {
		b, _ := json.Marshal(dtypeName)
		add("torch_dtype", b)
	}
	out.WriteByte('}')
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	pretty.WriteByte('\n')
	return pretty.Bytes(), nil
}
