package evomerge

import (
	"fmt"
	"sort"
	"sync"
)

// Param declares one typed, defaulted parameter of a merge method.
type Param struct {
	Name    string
	Default float64
	Min     float64
	Max     float64
	Doc     string
	// PerModel marks a parameter that may take one value per model (mergekit's "tensor
	// parameters", such as density): MergeInput.ModelParams may then give it per model.
	PerModel bool
}

// MergeInput is one tensor's worth of merge work. All slices have the same length.
type MergeInput struct {
	// Base is the base model's tensor; methods that do not use a base ignore it.
	Base []float32
	// Models are the tensors of every model in the recipe, in recipe order. The base
	// model may appear among them (its task vector is zero).
	Models [][]float32
	// Weights[i] is the weight of Models[i].
	Weights []float64
	// Params holds every declared parameter, defaults filled in.
	Params map[string]float64
	// ModelParams optionally gives a parameter declared PerModel (density, gamma, epsilon)
	// one value per entry of Models, in the same order: ModelParams["density"][i] is the
	// density of Models[i]. It has no entry for the base model (Base is not among Models
	// for methods that need a base). A parameter absent from ModelParams takes its value
	// from Params for every model. Each value must lie in the parameter's [Min, Max];
	// names that are not PerModel parameters of the method are an error. The models'
	// weights stay in Weights.
	ModelParams map[string][]float64
	// Shape is the tensor's shape (row-major), optional. Methods that work on rows
	// (della's rank per row, nuslerp with nuslerp_flatten = 0, model_stock with
	// filter_wise = 1) take the last dimension as the row length; without Shape, or with a
	// one-dimensional shape, the whole tensor is one row, as mergekit treats 1-D tensors.
	Shape []int
	// Seed seeds any randomness the method uses (DARE's and DELLA's drop masks). The masks
	// are a pure function of Seed, the model's position in Models and the element index,
	// so a merge is deterministic and independent of GOMAXPROCS.
	Seed uint64
}

// Method merges one tensor from several models. Implementations are stateless.
type Method interface {
	Name() string
	// Params declares the method's parameters and their defaults.
	Params() []Param
	// NeedsBase reports whether the method works on task vectors relative to a base.
	NeedsBase() bool
	// Merge writes the merged tensor to out (len(out) == len(in.Base) or len(in.Models[0])).
	Merge(in MergeInput, out []float32) error
}

var (
	methodsMu sync.RWMutex
	methods   = map[string]Method{}
)

// RegisterMethod makes a merge method available by name. It panics on a duplicate.
func RegisterMethod(m Method) {
	methodsMu.Lock()
	defer methodsMu.Unlock()
	if _, dup := methods[m.Name()]; dup {
		panic("evomerge: merge method registered twice: " + m.Name())
	}
	methods[m.Name()] = m
}

// LookupMethod returns the method registered as name.
func LookupMethod(name string) (Method, error) {
	methodsMu.RLock()
	m, ok := methods[name]
	methodsMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown merge method %q (known: %v)", name, MethodNames())
	}
	return m, nil
}

// MethodNames lists the registered merge methods in sorted order.
func MethodNames() []string {
	methodsMu.RLock()
	defer methodsMu.RUnlock()
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ResolveParams checks params against m's declarations and fills in defaults.
func ResolveParams(m Method, params map[string]float64) (map[string]float64, error) {
	out := make(map[string]float64, len(m.Params()))
	known := map[string]bool{}
	for _, p := range m.Params() {
		known[p.Name] = true
		v, ok := params[p.Name]
		if !ok {
			v = p.Default
		}
		if v < p.Min || v > p.Max {
			return nil, fmt.Errorf("merge method %s: parameter %s = %g is outside [%g, %g]", m.Name(), p.Name, v, p.Min, p.Max)
		}
		out[p.Name] = v
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !known[k] {
			return nil, fmt.Errorf("merge method %s: unknown parameter %q", m.Name(), k)
		}
	}
	return out, nil
}

// modelParam returns parameter name for model i of in: ModelParams when it gives one,
// else params (defaults filled in).
func modelParam(in MergeInput, params map[string]float64, name string, i int) float64 {
	if v, ok := in.ModelParams[name]; ok {
		return v[i]
	}
	return params[name]
}

// checkModelParams checks in.ModelParams against m's declarations: only PerModel
// parameters, one value per model, each in range.
func checkModelParams(m Method, in MergeInput) error {
	if len(in.ModelParams) == 0 {
		return nil
	}
	decl := map[string]Param{}
	for _, p := range m.Params() {
		decl[p.Name] = p
	}
	names := make([]string, 0, len(in.ModelParams))
	for k := range in.ModelParams {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vals := in.ModelParams[k]
		p, ok := decl[k]
		if !ok || !p.PerModel {
			return fmt.Errorf("merge method %s: parameter %q cannot be given per model", m.Name(), k)
		}
		if len(vals) != len(in.Models) {
			return fmt.Errorf("merge method %s: per-model parameter %s has %d values for %d models", m.Name(), k, len(vals), len(in.Models))
		}
		for i, v := range vals {
			if !(v >= p.Min && v <= p.Max) {
				return fmt.Errorf("merge method %s: parameter %s of model %d = %g is outside [%g, %g]", m.Name(), k, i, v, p.Min, p.Max)
			}
		}
	}
	return nil
}

// GradientValue is the value at layer of layers of a mergekit "gradient", a parameter
// given as a list of values spread evenly over the layers: the layer's position
// t = layer/(layers−1) in [0, 1] (t = 0 when layers ≤ 1) maps to t·(len(list)−1) in the
// list, and the value is interpolated linearly between the two entries around it, as
// mergekit's evaluate_setting does. A one-entry list is a constant. layer is clamped to
// [0, layers−1]. It panics on an empty list.
func GradientValue(list []float64, layer, layers int) float64 {
	if len(list) == 0 {
		panic("evomerge: GradientValue of an empty list")
	}
	t := 0.0
	if layers > 1 {
		t = float64(min(max(layer, 0), layers-1)) / float64(layers-1)
	}
	if len(list) == 1 {
		return list[0]
	}
	scaled := t * float64(len(list)-1)
	i0 := min(int(scaled), len(list)-1)
	i1 := min(len(list)-1, i0+1)
	frac := scaled - float64(i0)
	return (1-frac)*list[i0] + frac*list[i1]
}

// Recipe is a child's genome: how to merge the run's models into one.
type Recipe struct {
	// Method is a registered merge method name.
	Method string `json:"method" yaml:"method"`
	// Weights has one weight per model of the run, in the config's model order.
	Weights []float64 `json:"weights" yaml:"weights"`
	// Params are method parameters (density, lambda, ...); missing ones take defaults.
	Params map[string]float64 `json:"params,omitempty" yaml:"params,omitempty"`
	// Groups, when non-empty, gives each layer group its own weights and parameters (same
	// method): the tensors of group g (Recipe.GroupIndex, GroupOf) merge with Groups[g],
	// and Weights and Params are then not used by the merge (they may be empty; if given
	// they must still be valid). The number of layer groups is len(Groups), or
	// len(Groups)/NumKinds with SplitKinds. Empty: Weights and Params apply to every tensor.
	Groups []GroupParams `json:"groups,omitempty" yaml:"groups,omitempty"`
	// SplitKinds splits every layer group by tensor kind (KindOf): Groups then holds
	// NumKinds entries per layer group, in the order attention, MLP, other.
	SplitKinds bool `json:"split_kinds,omitempty" yaml:"split_kinds,omitempty"`
}

// GroupParams are the merge weights and parameters of one layer group of a Recipe.
type GroupParams struct {
	// Weights has one weight per model of the run, in the config's model order.
	Weights []float64 `json:"weights" yaml:"weights"`
	// Params are method parameters; missing ones take the method's defaults (not the
	// recipe-wide Params).
	Params map[string]float64 `json:"params,omitempty" yaml:"params,omitempty"`
}
