package evomerge

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// VariationSettings tunes the genetic operators on recipes. The zero value is not useful;
// start from DefaultVariation.
type VariationSettings struct {
	// Methods are the merge methods recipes may use, in a fixed order (it matters for
	// determinism). Names that are not registered are skipped by the operators; Validate
	// reports them.
	Methods []string
	// MutationRate is the probability that Mutate perturbs each weight, and the density.
	MutationRate float64
	// MutationSigma is the standard deviation of the Gaussian perturbation, in the units
	// of the weight or density it is added to.
	MutationSigma float64
	// CrossoverRate is the probability that Breed makes a child by Crossover of two
	// parents rather than by copying one.
	CrossoverRate float64
	// MethodSwitchRate is the probability that Mutate moves a recipe to another method.
	MethodSwitchRate float64
	// WeightMin and WeightMax bound every weight after mutation and in random recipes.
	WeightMin, WeightMax float64
	// DensityMin and DensityMax bound the density parameter (within the method's own
	// declared range) after mutation and in random recipes.
	DensityMin, DensityMax float64
	// BaseIndex is the position of the base model, or -1 when unknown. Methods that need a
	// base ignore the base's weight; when BaseIndex ≥ 0 the operators keep that weight at 0
	// for such recipes, so no child differs from another only in an ignored gene.
	BaseIndex int
}

// DefaultVariation returns the default settings: Methods {linear, task_arithmetic, ties},
// MutationRate 0.3, MutationSigma 0.15, CrossoverRate 0.5, MethodSwitchRate 0.1, weights
// in [0, 1.5], density in [0.1, 1], BaseIndex -1.
func DefaultVariation() VariationSettings {
	return VariationSettings{
		Methods:          []string{"linear", "task_arithmetic", "ties"},
		MutationRate:     0.3,
		MutationSigma:    0.15,
		CrossoverRate:    0.5,
		MethodSwitchRate: 0.1,
		WeightMin:        0,
		WeightMax:        1.5,
		DensityMin:       0.1,
		DensityMax:       1,
		BaseIndex:        -1,
	}
}

// Validate reports the first setting that is out of range: an empty or unknown method
// list, rates outside [0, 1], a negative or non-finite sigma, or an empty weight or density
// interval (density must lie in [0, 1]).
func (s VariationSettings) Validate() error {
	if len(s.Methods) == 0 {
		return errors.New("variation methods: empty")
	}
	for i, name := range s.Methods {
		if _, err := LookupMethod(name); err != nil {
			return fmt.Errorf("variation methods[%d]: %w", i, err)
		}
		if slices.Index(s.Methods, name) != i {
			return fmt.Errorf("variation methods[%d]: %q listed twice", i, name)
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"mutation rate", s.MutationRate}, {"crossover rate", s.CrossoverRate}, {"method switch rate", s.MethodSwitchRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("variation %s: %g is outside [0, 1]", r.name, r.v)
		}
	}
	if !(s.MutationSigma >= 0) || math.IsInf(s.MutationSigma, 0) {
		return fmt.Errorf("variation mutation sigma: %g must be finite and ≥ 0", s.MutationSigma)
	}
	if !(s.WeightMin <= s.WeightMax) || math.IsInf(s.WeightMin, 0) || math.IsInf(s.WeightMax, 0) {
		return fmt.Errorf("variation weights: [%g, %g] is not a finite interval", s.WeightMin, s.WeightMax)
	}
	if !(0 <= s.DensityMin && s.DensityMin <= s.DensityMax && s.DensityMax <= 1) {
		return fmt.Errorf("variation density: [%g, %g] is not an interval within [0, 1]", s.DensityMin, s.DensityMax)
	}
	if s.BaseIndex < -1 {
		return fmt.Errorf("variation base index: %d (use -1 for none)", s.BaseIndex)
	}
	return nil
}

// Candidate is an evaluated population member: its recipe, its non-domination rank (0 is
// the best front) and its crowding distance within that front (larger is better).
// NewRNG returns a PCG generator seeded by mixing seed and the stream values with
// SplitMix64, so that e.g. NewRNG(runSeed, generation) gives an independent, reproducible
// stream per generation. Different stream lists (including a different length) give
// different generators.
func NewRNG(seed uint64, stream ...uint64) *rand.Rand {
	h := splitMix64(seed)
	for _, s := range stream {
		h = splitMix64(h ^ splitMix64(s))
	}
	return rand.New(rand.NewPCG(splitMix64(h+1), splitMix64(h+2)))
}

// splitMix64 is the SplitMix64 output function (Steele, Lea & Flood 2014) applied to x
// advanced by the golden-ratio increment.
func splitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// InitialRecipes returns n recipes for a run of nModels models whose base is at baseIndex
// (-1: no base; methods that need one are then skipped). The first ones are one canonical
// recipe per usable method of s.Methods, in order:
//
//   - linear: weight 1/nModels on every model (the uniform "model soup");
//   - task_arithmetic: weight 1/(nModels−1) on every non-base model, λ = 1, no
//     normalization: the base plus the mean task vector;
//   - ties: weight 1 on every non-base model, density 0.5, λ = 1, normalize = 1 (the TIES
//     paper's disjoint mean);
//   - any other method: weight 1/nModels on every model, default parameters.
//
// The rest are random: a usable method chosen uniformly, weights uniform in [WeightMin,
// WeightMax], density (if the method has one) uniform in [DensityMin, DensityMax], other
// parameters at their defaults. Weights are clamped to [WeightMin, WeightMax], except that
// the base's weight is 0 in recipes of methods that need a base (they ignore it). It
// returns nil if no method is usable.
func InitialRecipes(rng *rand.Rand, nModels, baseIndex, n int, s VariationSettings) []Recipe {
	usable := usableMethods(s.Methods, baseIndex >= 0)
	if len(usable) == 0 || n <= 0 || nModels <= 0 {
		return nil
	}
	s.BaseIndex = baseIndex
	out := make([]Recipe, 0, n)
	for _, m := range usable {
		if len(out) == n {
			return out
		}
		out = append(out, canonicalRecipe(m, nModels, s))
	}
	for len(out) < n {
		m := usable[rng.IntN(len(usable))]
		r := Recipe{Method: m.Name(), Weights: make([]float64, nModels), Params: canonicalParams(m, nil)}
		for i := range r.Weights {
			if ignoredWeight(m, i, s) {
				continue
			}
			r.Weights[i] = s.WeightMin + rng.Float64()*(s.WeightMax-s.WeightMin)
		}
		if p, ok := declaredParam(m, "density"); ok {
			lo, hi := densityRange(p, s)
			r.Params["density"] = lo + rng.Float64()*(hi-lo)
		}
		out = append(out, r)
	}
	return out
}

// canonicalRecipe is InitialRecipes' hand-picked starting recipe for m.
func canonicalRecipe(m Method, nModels int, s VariationSettings) Recipe {
	r := Recipe{Method: m.Name(), Weights: make([]float64, nModels), Params: canonicalParams(m, nil)}
	w := 1 / float64(nModels)
	switch m.Name() {
	case "task_arithmetic":
		if nModels > 1 && s.BaseIndex >= 0 {
			w = 1 / float64(nModels-1)
		}
	case "ties":
		w = 1
		r.Params["density"] = 0.5
	}
	for i := range r.Weights {
		if !ignoredWeight(m, i, s) {
			r.Weights[i] = clamp(w, s.WeightMin, s.WeightMax)
		}
	}
	if p, ok := declaredParam(m, "density"); ok {
		lo, hi := densityRange(p, s)
		r.Params["density"] = clamp(r.Params["density"], lo, hi)
	}
	return r
}

// Mutate returns a mutated copy of r (r is not modified). In this order: each weight, with
// probability MutationRate, gets Gaussian noise of standard deviation MutationSigma and is
// clamped to [WeightMin, WeightMax]; the density parameter, if the method has one, likewise
// within [DensityMin, DensityMax]; then with probability MethodSwitchRate the recipe moves
// to another method of s.Methods chosen uniformly. On a switch, parameters that both
// methods declare with the same default (lambda, density) are kept, the others (normalize,
// whose default differs between methods) take the new method's default. The result lists
// every parameter of its method, and the base's weight is 0 for methods that need a base
// (when s.BaseIndex ≥ 0).
// Crossover returns a child of a and b (neither is modified): each weight comes from a or
// b with probability ½ (weights beyond len(b.Weights) from a), the method from a or b with
// probability ½, and each parameter of the child's method from a or b with probability ½
// among the parents that carry it (a parent carries a parameter if its method declares it
// with the same default as the child's method); a parameter neither carries takes its
// default.
// Breed returns up to n children of pop. Each child is made from two parents picked by
// binary tournament (two members drawn uniformly, the better one wins: lower Rank, then
// larger Crowding, then lower index in pop), by Crossover with probability CrossoverRate
// (else a copy of the first parent), then Mutate. A child whose used weights are all zero
// gets one weight redrawn; a child identical to a member of pop or to an earlier child is
// mutated again (if Mutate leaves it unchanged, one weight is drawn
// afresh from [WeightMin, WeightMax]), up to 32 times, and otherwise discarded. Breed gives
// up after 16·n discarded children, so it returns fewer than n children only when the
// settings leave almost no room (for example WeightMin = WeightMax).
// tournament returns the index of the winner of a binary tournament in pop.
// better reports whether pop[i] beats pop[j]: lower rank, then larger crowding distance
// (NaN counts as the smallest), then lower index.
// degenerate reports whether every weight r's method uses is zero: a linear merge of
// nothing (which cannot be normalized) or a task-vector merge that returns the base.
// redrawWeight returns r with one weight that its method uses drawn uniformly from
// [WeightMin, WeightMax].
// recipeKey identifies a recipe for duplicate detection: method, exact weights and every
// parameter with defaults filled in (so an omitted default equals an explicit one).
// usableMethods resolves names in order, skipping unknown names, duplicates, and methods
// that need a base when there is none.
func usableMethods(names []string, haveBase bool) []Method {
	var out []Method
	for i, name := range names {
		m, err := LookupMethod(name)
		if err != nil || slices.Index(names, name) != i || (m.NeedsBase() && !haveBase) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// ignoredWeight reports whether weight i is the base's weight in a recipe of a method that
// ignores it.
func ignoredWeight(m Method, i int, s VariationSettings) bool {
	return m.NeedsBase() && i == s.BaseIndex
}

// canonicalParams returns every parameter m declares: the value from given when present
// (clamped to the declared range), else the default. Unknown names are dropped.
func canonicalParams(m Method, given map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m.Params()))
	for _, p := range m.Params() {
		v, ok := given[p.Name]
		if !ok || math.IsNaN(v) {
			v = p.Default
		}
		out[p.Name] = clamp(v, p.Min, p.Max)
	}
	return out
}

// carriedParam returns the value of parameter p for method to, taken from a recipe of
// method from with (canonical) params, if from declares p with the same default.
// declaredParam returns m's declaration of the parameter called name.
func declaredParam(m Method, name string) (Param, bool) {
	for _, p := range m.Params() {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// densityRange intersects the settings' density bounds with the declared range of p.
func densityRange(p Param, s VariationSettings) (lo, hi float64) {
	lo, hi = math.Max(s.DensityMin, p.Min), math.Min(s.DensityMax, p.Max)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// clamp limits v to [lo, hi] and turns -0 into 0, so equal recipes print equally.
func clamp(v, lo, hi float64) float64 {
	v = math.Max(lo, math.Min(hi, v))
	if v == 0 {
		v = 0
	}
	return v
}

// cloneRecipe deep-copies r.
