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
	// Seed seeds any randomness the method uses (for example DARE's drop mask).
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
