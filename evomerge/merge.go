package evomerge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/evomerge/evomerge/tensor"
)

// Metadata keys MergeFiles adds to its output.
const (
	// MetadataRecipeDigest is the sha256 (hex) of the canonical recipe JSON. A digest,
	// not the recipe itself, so that every merge of the same models has the same header
	// size: otherwise file size, a selection objective, would vary with the length of
	// the recipe's numbers. The recipe is in the run report and next to exported models.
	MetadataRecipeDigest = "merge.recipe_sha256"
)

// divisorEpsilon is the magnitude below which a sum of weights counts as zero, as in
// mergekit's generalized task arithmetic (divisor.abs() < 1e-8).
const divisorEpsilon = 1e-8

// paramChecker is implemented by methods whose parameters need checks beyond the
// [Min, Max] range of their declarations (for example 0/1 flags).
type paramChecker interface {
	checkParams(params map[string]float64) error
}

// ValidateRecipe checks r for a run of nModels models: the method is registered, there is
// one finite weight per model, and the parameters are known and in range (flags 0 or 1).
// A recipe with Groups needs the same of every group (errors name the group index,
// "recipe groups[2] weights: ..."), and with SplitKinds a multiple of NumKinds groups; its
// recipe-wide Weights may then be empty, and are checked only if given. Errors name the
// field at fault.
func ValidateRecipe(r Recipe, nModels int) error {
	if err := validateRecipe(r, nModels); err != nil {
		return fmt.Errorf("%w: %w", ErrRecipe, err)
	}
	return nil
}

// ErrRecipe marks errors caused by the recipe itself (invalid values, or weights its
// method cannot merge with), as opposed to the models: another recipe would work.
var ErrRecipe = errors.New("recipe cannot be merged")

func validateRecipe(r Recipe, nModels int) error {
	m, err := LookupMethod(r.Method)
	if err != nil {
		return fmt.Errorf("recipe method: %w", err)
	}
	if len(r.Groups) == 0 {
		if r.SplitKinds {
			return errors.New("recipe split_kinds: set, but the recipe has no groups to split")
		}
		if err := checkWeights("recipe weights", r.Weights, nModels); err != nil {
			return err
		}
		_, err := checkRecipeParams(m, "recipe params", r.Params)
		return err
	}
	if r.SplitKinds && len(r.Groups)%NumKinds != 0 {
		return fmt.Errorf("recipe groups: %d groups with split_kinds, want a multiple of %d (attention, mlp, other per layer group)", len(r.Groups), NumKinds)
	}
	if len(r.Weights) > 0 {
		if err := checkWeights("recipe weights", r.Weights, nModels); err != nil {
			return err
		}
	}
	if _, err := checkRecipeParams(m, "recipe params", r.Params); err != nil {
		return err
	}
	for g, gp := range r.Groups {
		if err := checkWeights(fmt.Sprintf("recipe groups[%d] weights", g), gp.Weights, nModels); err != nil {
			return err
		}
		if _, err := checkRecipeParams(m, fmt.Sprintf("recipe groups[%d] params", g), gp.Params); err != nil {
			return err
		}
	}
	return nil
}

// checkWeights checks that weights, the recipe field called field, has one finite weight
// per model.
func checkWeights(field string, weights []float64, nModels int) error {
	if len(weights) != nModels {
		return fmt.Errorf("%s: %d weights for %d models", field, len(weights), nModels)
	}
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("%s[%d]: %g is not finite", field, i, w)
		}
	}
	return nil
}

// checkRecipeParams checks params, the recipe field called field, against m and returns
// them with defaults filled in.
func checkRecipeParams(m Method, field string, params map[string]float64) (map[string]float64, error) {
	full, err := ResolveParams(m, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if c, ok := m.(paramChecker); ok {
		if err := c.checkParams(full); err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
	}
	return full, nil
}

// MergeFiles merges the models at paths (safetensors files; paths[baseIndex] is the base)
// by recipe r and writes dst atomically, one tensor at a time. All models must have the
// same tensor names, shapes and dtypes (error names the file and tensor otherwise). The
// output keeps each tensor's dtype (floats only) and the base's metadata, and adds
// metadata "merge.recipe_sha256" (of the canonical JSON of r). Deterministic bytes.
// baseIndex may be -1 for methods that do not need a base (error if the method needs one).
// progress(i, n) may be nil.
//
// Methods that need a base get the base tensor as MergeInput.Base and only the other
// models as MergeInput.Models (the base's weight in r is ignored), as mergekit does; other
// methods get every model with its weight. With baseIndex -1 the metadata comes from
// paths[0]. The canonical recipe JSON lists every parameter, defaults filled in (for a
// recipe without Groups it is exactly what it was before groups existed).
//
// A recipe with Groups merges each tensor with the weights and parameters of its group,
// r.GroupIndex(name, layers), where layers is LayerCount of the reference file's tensor
// names (the base's, or paths[0]'s with baseIndex -1). Output
// goes to a temporary file dst+".tmp-*" in dst's directory, which is fsynced and renamed to
// dst; on any error it is removed and an existing dst is left untouched. progress is
// called with (tensors written, total tensors) after each tensor.
func MergeFiles(r Recipe, paths []string, baseIndex int, dst string, progress func(done, total int)) (err error) {
	if len(paths) == 0 {
		return fmt.Errorf("merge into %s: no models given", dst)
	}
	if err := ValidateRecipe(r, len(paths)); err != nil {
		return fmt.Errorf("merge into %s: %w", dst, err)
	}
	m, _ := LookupMethod(r.Method)
	params, _ := ResolveParams(m, r.Params)
	if baseIndex < -1 || baseIndex >= len(paths) {
		return fmt.Errorf("merge into %s: base index %d is outside [-1, %d)", dst, baseIndex, len(paths))
	}
	if m.NeedsBase() && baseIndex < 0 {
		return fmt.Errorf("merge into %s: method %s needs a base model, but none was given", dst, m.Name())
	}

	files := make([]*tensor.File, 0, len(paths))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range paths {
		f, err := tensor.Open(p)
		if err != nil {
			return fmt.Errorf("merge into %s: %w", dst, err)
		}
		files = append(files, f)
	}
	ref := 0
	if baseIndex >= 0 {
		ref = baseIndex
	}
	infos, err := checkSameTensors(files, ref)
	if err != nil {
		return fmt.Errorf("merge into %s: %w", dst, err)
	}

	meta := files[ref].Metadata()
	canonical := Recipe{Method: r.Method, Weights: slices.Clone(r.Weights), Params: params, SplitKinds: r.SplitKinds}
	for _, g := range r.Groups {
		gp, _ := ResolveParams(m, g.Params)
		canonical.Groups = append(canonical.Groups, GroupParams{Weights: slices.Clone(g.Weights), Params: gp})
	}
	recipeJSON, err := json.Marshal(canonical)
	if err != nil {
		return fmt.Errorf("merge into %s: encode recipe: %w", dst, err)
	}
	sum := sha256.Sum256(recipeJSON)
	meta[MetadataRecipeDigest] = hex.EncodeToString(sum[:])

	// Which models feed the method, with which weights (per group if r has groups).
	var inputs []int
	for i := range files {
		if m.NeedsBase() && i == baseIndex {
			continue
		}
		inputs = append(inputs, i)
	}
	pick := func(all []float64) []float64 {
		w := make([]float64, len(inputs))
		for k, i := range inputs {
			w[k] = all[i]
		}
		return w
	}
	type mergeSet struct {
		weights []float64
		params  map[string]float64
	}
	var sets []mergeSet
	if len(r.Groups) == 0 {
		sets = []mergeSet{{pick(r.Weights), params}}
	}
	for _, g := range canonical.Groups {
		sets = append(sets, mergeSet{pick(g.Weights), g.Params})
	}
	names := make([]string, len(infos))
	for i, info := range infos {
		names[i] = info.Name
	}
	layers := LayerCount(names)

	ops := make([]mergeOp, len(infos))
	for n, info := range infos {
		g := r.GroupIndex(info.Name, layers)
		set := sets[max(g, 0)]
		op := mergeOp{out: info, method: m, weights: set.weights, params: set.params, seed: tensorSeed(info.Name)}
		if g >= 0 {
			op.context = fmt.Sprintf("group %d: ", g)
		}
		if baseIndex >= 0 && m.NeedsBase() {
			op.base = &opInput{src: files[baseIndex], name: info.Name, label: files[baseIndex].Path()}
		}
		for _, i := range inputs {
			op.inputs = append(op.inputs, opInput{src: files[i], name: info.Name, label: files[i].Path()})
		}
		ops[n] = op
	}
	var bufs mergeBuffers
	bufs.reserve(ops)
	return tensor.WriteAtomic(dst, func(w io.Writer) error {
		sw, err := tensor.NewWriter(w, meta, infos)
		if err != nil {
			return fmt.Errorf("merge into %s: %w", dst, err)
		}
		for n := range ops {
			out, err := ops[n].run(&bufs)
			if err != nil {
				return fmt.Errorf("merge into %s: %w", dst, err)
			}
			if err := sw.WriteFloat32(ops[n].out.Name, out); err != nil {
				return fmt.Errorf("merge into %s: %w", dst, err)
			}
			if progress != nil {
				progress(n+1, len(infos))
			}
		}
		if err := sw.Close(); err != nil {
			return fmt.Errorf("merge into %s: %w", dst, err)
		}
		return nil
	})
}

// checkSameTensors returns the tensor list of files[ref] after checking that every file has
// exactly the same tensor names, dtypes and shapes, and that all dtypes are float types.
func checkSameTensors(files []*tensor.File, ref int) ([]tensor.Info, error) {
	want := files[ref].Infos()
	for _, info := range want {
		switch info.DType {
		case tensor.F32, tensor.F16, tensor.BF16:
		default:
			return nil, fmt.Errorf("%s: tensor %q has dtype %s; only F32, F16 and BF16 tensors can be merged", files[ref].Path(), info.Name, info.DType)
		}
	}
	for i, f := range files {
		if i == ref {
			continue
		}
		got := f.Infos()
		for _, w := range want {
			g, ok := f.Info(w.Name)
			switch {
			case !ok:
				return nil, fmt.Errorf("%s: no tensor %q (it is in %s)", f.Path(), w.Name, files[ref].Path())
			case g.DType != w.DType:
				return nil, fmt.Errorf("%s: tensor %q has dtype %s, but in %s it is %s", f.Path(), w.Name, g.DType, files[ref].Path(), w.DType)
			case !slices.Equal(g.Shape, w.Shape):
				return nil, fmt.Errorf("%s: tensor %q has shape %v, but in %s it is %v", f.Path(), w.Name, g.Shape, files[ref].Path(), w.Shape)
			}
		}
		if len(got) != len(want) {
			for _, g := range got {
				if _, ok := files[ref].Info(g.Name); !ok {
					return nil, fmt.Errorf("%s: tensor %q is not in %s", f.Path(), g.Name, files[ref].Path())
				}
			}
		}
	}
	return want, nil
}

// The streaming merge core shared by MergeFiles and MergeKit: a merge is a list of
// mergeOps, one per output tensor, run one at a time. An op decodes its inputs straight
// into reused float32 buffers (tensor.ReadFloat32, memory-mapped), merges them into
// another, and the caller encodes that buffer into the output in chunks, so a merge holds
// about (inputs + 1) float32 copies of its largest tensor, plus the method's scratch.

// floatReader is a model a merge reads tensors from: a *tensor.File or *tensor.Checkpoint.
type floatReader interface {
	ReadFloat32(name string, dst []float32) error
}

// opInput is one input tensor of a mergeOp.
type opInput struct {
	src   floatReader
	name  string // the tensor's name in src
	label string // the model's path, for error messages
}

// mergeOp merges one output tensor.
type mergeOp struct {
	out tensor.Info // name, dtype and shape of the output tensor
	// method merges the inputs; nil copies inputs[0] multiplied by scale (passthrough).
	method  Method
	base    *opInput // the base tensor for methods that need one, else nil
	inputs  []opInput
	weights []float64          // one per input
	params  map[string]float64 // the method's parameters (defaults filled in or not)
	// modelParams are per-model values of PerModel parameters (MergeInput.ModelParams).
	modelParams map[string][]float64
	scale       float64 // passthrough only
	seed        uint64
	// checkFinite rejects inputs holding NaN or ±Inf, naming file, tensor and element.
	checkFinite bool
	context     string // prefix of merge errors, e.g. "group 1: "
}

// mergeBuffers are float32 buffers reused from tensor to tensor, so that a merge does
// not allocate (and leave to the garbage collector) several copies of every tensor.
type mergeBuffers struct {
	bufs [][]float32
}

// get returns buffer i with n elements, contents undefined.
func (b *mergeBuffers) get(i, n int) []float32 {
	for len(b.bufs) <= i {
		b.bufs = append(b.bufs, nil)
	}
	if cap(b.bufs[i]) < n {
		b.bufs[i] = nil // let the old one go before allocating the larger one
		b.bufs[i] = make([]float32, n)
	}
	return b.bufs[i][:n]
}

// reserve sizes the buffers for ops up front (the largest tensor each buffer will hold),
// so buffers are allocated once.
func (b *mergeBuffers) reserve(ops []mergeOp) {
	var need []int
	for _, op := range ops {
		n := tensor.NumElements(op.out.Shape)
		k := len(op.inputs) + 1 // inputs, then the output
		if op.base != nil {
			k++
		}
		for len(need) < k {
			need = append(need, 0)
		}
		for i := 0; i < k; i++ {
			need[i] = max(need[i], n)
		}
	}
	for i, n := range need {
		b.get(i, n)
	}
}

// run reads the op's inputs (concurrently), checks them if asked, merges them and returns
// the merged values, which stay valid until the next run with the same buffers. Merge
// errors of the method are marked ErrRecipe and name the tensor.
func (op *mergeOp) run(bufs *mergeBuffers) ([]float32, error) {
	n := tensor.NumElements(op.out.Shape)
	all := make([]*opInput, 0, len(op.inputs)+1)
	if op.base != nil {
		all = append(all, op.base)
	}
	for i := range op.inputs {
		all = append(all, &op.inputs[i])
	}
	vals := make([][]float32, len(all))
	for i := range all {
		vals[i] = bufs.get(i, n)
	}
	out := bufs.get(len(all), n)
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.src.ReadFloat32(in.name, vals[i]); err != nil {
				errs[i] = err
				return
			}
			if op.checkFinite {
				errs[i] = checkFinite(in, vals[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if op.method == nil {
		x := vals[0]
		s := float32(op.scale)
		for j := range out {
			out[j] = x[j] * s
		}
		return out, nil
	}
	in := MergeInput{Weights: op.weights, Params: op.params, ModelParams: op.modelParams, Shape: op.out.Shape, Seed: op.seed}
	models := vals
	if op.base != nil {
		in.Base = vals[0]
		models = vals[1:]
	}
	in.Models = models
	clear(out)
	if err := op.method.Merge(in, out); err != nil {
		return nil, fmt.Errorf("%stensor %q: %w: %w", op.context, op.out.Name, ErrRecipe, err)
	}
	return out, nil
}

// checkFinite returns an error naming the model, tensor and first element that is NaN or
// infinite (all exponent bits set).
func checkFinite(in *opInput, v []float32) error {
	if j := tensor.FirstNonFinite(v); j >= 0 {
		return fmt.Errorf("%s: tensor %q: element %d is %g; the model has non-finite weights", in.label, in.name, j, v[j])
	}
	return nil
}

// tensorSeed derives MergeInput.Seed from the tensor name (FNV-1a), so a method's
// randomness differs between tensors but not between runs.
func tensorSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// resolveMergeParams checks the shape of a MergeInput for method m writing out, and
// returns its parameters with defaults filled in.
func resolveMergeParams(m Method, in MergeInput, out []float32) (map[string]float64, error) {
	name := m.Name()
	if len(in.Models) == 0 {
		return nil, fmt.Errorf("merge method %s: no models to merge", name)
	}
	if len(in.Weights) != len(in.Models) {
		return nil, fmt.Errorf("merge method %s: %d weights for %d models", name, len(in.Weights), len(in.Models))
	}
	for i, w := range in.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("merge method %s: weight %d is %g, not a finite number", name, i, w)
		}
	}
	for i, x := range in.Models {
		if len(x) != len(out) {
			return nil, fmt.Errorf("merge method %s: model %d has %d elements, the output %d", name, i, len(x), len(out))
		}
	}
	if m.NeedsBase() && len(in.Base) != len(out) {
		if in.Base == nil {
			return nil, fmt.Errorf("merge method %s: needs a base tensor, none given", name)
		}
		return nil, fmt.Errorf("merge method %s: base has %d elements, the output %d", name, len(in.Base), len(out))
	}
	params, err := ResolveParams(m, in.Params)
	if err != nil {
		return nil, err
	}
	if c, ok := m.(paramChecker); ok {
		if err := c.checkParams(params); err != nil {
			return nil, err
		}
	}
	return params, nil
}

// flagParam reads a 0/1 parameter as a bool.
func flagParam(m Method, params map[string]float64, name string) (bool, error) {
	switch v := params[name]; v {
	case 0:
		return false, nil
	case 1:
		return true, nil
	default:
		return false, fmt.Errorf("merge method %s: parameter %s = %g must be 0 or 1", m.Name(), name, v)
	}
}

// checkFlags reports every one of the named parameters that is not 0 or 1.
func checkFlags(m Method, params map[string]float64, names ...string) error {
	var errs []error
	for _, n := range names {
		if _, err := flagParam(m, params, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
