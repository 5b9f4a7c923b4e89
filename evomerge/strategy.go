package evomerge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/evomerge/evomerge/pareto"
)

// Individual is one evaluated point of a search: X in [0,1]^d (the genome's encoding of a
// recipe and compression plan), F its objectives, every one to be minimized (the caller
// negates the maximized ones), and Violation how badly it fails its gates: 0 when it
// passes them all, > 0 otherwise (larger is worse; NaN counts as +Inf).
type Individual struct {
	X         []float64 `json:"x"`
	F         []float64 `json:"f"`
	Violation float64   `json:"violation"`
}

// Strategy is a search algorithm behind an ask-and-tell seam: the caller asks for points,
// evaluates them, and tells the strategy their scores. Its whole state is State, a plain
// JSON value: NewStrategy with that state continues exactly where it left off (the same
// future Ask results), which is how a Temporal workflow carries it across continue-as-new.
// A strategy is deterministic: all its randomness comes from its seed and its state.
//
// Ask returns n points in [0,1]^d for any n ≥ 0. Tell accepts any evaluated points: those
// asked for, in any order and any grouping, and others (which a strategy may learn from or
// only archive). Budget accounting is the caller's.
type Strategy interface {
	Name() string
	Ask(n int) ([][]float64, error)
	Tell(evaluated []Individual) error
	State() (json.RawMessage, error)
}

// StrategyOptions tune a strategy; the zero value gives every default. A strategy records
// the options it was created with in its state: when NewStrategy restores a state, the
// options passed are ignored (they cannot change a run midway), as is Initial once used.
type StrategyOptions struct {
	// Initial are points to evaluate first (for example the equal-weights recipes), before
	// any sampled point; clamped to [0,1]. nsga2 and random ask for them first; cmaes
	// centres its first sampling distribution on Initial[0] (the centre of the cube
	// without one) and asks only for its own samples.
	Initial [][]float64
	// Population is nsga2's population size μ (the survivors of each generation) and
	// cmaes's λ (the samples per update). 0: the n of the first Ask (at least 4 for cmaes).
	Population int

	// Scalar weights the objectives into cmaes's single objective Σ w_k F_k (default: the
	// first objective alone). Penalty is added per unit of Violation (default 1e6).
	Scalar  []float64
	Penalty float64
	// Sigma is cmaes's initial step size in units of the cube's side (default 0.3).
	Sigma float64

	// nsga2's variation operators (Deb et al. 2002): simulated binary crossover with
	// distribution index EtaC (default 15) applied to a pair with probability PCrossover
	// (default 0.9), and polynomial mutation with index EtaM (default 20) applied to each
	// coordinate with probability PMutation (default 1/d).
	EtaC, PCrossover, EtaM, PMutation float64
}

// StrategyNames are the strategies NewStrategy knows, in a fixed order.
func StrategyNames() []string {
	return []string{StrategyNSGA2, StrategyCMAES, StrategyRandom}
}

// NewStrategy returns the strategy called name searching [0,1]^dim from seed, restored
// from state when state is non-nil (as State returned it; it must be the same strategy and
// dimension). An unknown name is an error naming it and the choices.
func NewStrategy(name string, dim int, seed int64, opts StrategyOptions, state json.RawMessage) (Strategy, error) {
	if !slices.Contains(StrategyNames(), name) {
		return nil, fmt.Errorf("unknown strategy %q (choices: %s)", name, strings.Join(StrategyNames(), ", "))
	}
	if dim <= 0 {
		return nil, fmt.Errorf("strategy %s: dimension %d must be positive", name, dim)
	}
	if len(state) > 0 && string(state) != "null" {
		return restoreStrategy(name, dim, state)
	}
	o, err := opts.normalized(dim)
	if err != nil {
		return nil, fmt.Errorf("strategy %s: %w", name, err)
	}
	base := strategyBase{Strategy: name, Version: strategyStateVersion, Dim: dim, Seed: seed, Options: o}
	switch name {
	case StrategyNSGA2:
		base.initialPending(opts.Initial)
		return &nsga2{strategyBase: base}, nil
	case StrategyCMAES:
		return newCMAES(base, opts.Initial)
	default:
		base.initialPending(opts.Initial)
		return &randomSearch{strategyBase: base}, nil
	}
}

// strategyStateVersion is the version of the JSON state layout.
const strategyStateVersion = 1

// restoreStrategy rebuilds a strategy from its State.
func restoreStrategy(name string, dim int, state json.RawMessage) (Strategy, error) {
	var head strategyBase
	if err := json.Unmarshal(state, &head); err != nil {
		return nil, fmt.Errorf("strategy %s: state: %w", name, err)
	}
	switch {
	case head.Strategy != name:
		return nil, fmt.Errorf("strategy %s: state is of strategy %q", name, head.Strategy)
	case head.Version != strategyStateVersion:
		return nil, fmt.Errorf("strategy %s: state version %d, want %d", name, head.Version, strategyStateVersion)
	case head.Dim != dim:
		return nil, fmt.Errorf("strategy %s: state has dimension %d, the genome %d", name, head.Dim, dim)
	}
	var s Strategy
	switch name {
	case StrategyNSGA2:
		s = &nsga2{}
	case StrategyCMAES:
		s = &cmaes{}
	default:
		s = &randomSearch{}
	}
	if err := json.Unmarshal(state, s); err != nil {
		return nil, fmt.Errorf("strategy %s: state: %w", name, err)
	}
	if c, ok := s.(*cmaes); ok {
		if err := c.restore(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// strategyOptions are StrategyOptions with defaults filled in, as recorded in a state.
type strategyOptions struct {
	Population int     `json:"population,omitempty"`
	Scalar     floats  `json:"scalar,omitempty"`
	Penalty    float64 `json:"penalty"`
	Sigma      float64 `json:"sigma"`
	EtaC       float64 `json:"eta_c"`
	PCrossover float64 `json:"p_crossover"`
	EtaM       float64 `json:"eta_m"`
	PMutation  float64 `json:"p_mutation"`
}

func (o StrategyOptions) normalized(dim int) (strategyOptions, error) {
	def := func(v, d float64) float64 {
		if v == 0 {
			return d
		}
		return v
	}
	n := strategyOptions{
		Population: o.Population,
		Scalar:     floats(slices.Clone(o.Scalar)),
		Penalty:    def(o.Penalty, 1e6),
		Sigma:      def(o.Sigma, 0.3),
		EtaC:       def(o.EtaC, 15),
		PCrossover: def(o.PCrossover, 0.9),
		EtaM:       def(o.EtaM, 20),
		PMutation:  def(o.PMutation, 1/float64(dim)),
	}
	for i, x := range o.Initial {
		if len(x) != dim {
			return n, fmt.Errorf("initial point %d has %d coordinates, want %d", i, len(x), dim)
		}
	}
	switch {
	case n.Population < 0:
		return n, fmt.Errorf("population %d is negative", n.Population)
	case !(n.Penalty >= 0) || math.IsInf(n.Penalty, 0):
		return n, fmt.Errorf("penalty %g must be finite and ≥ 0", n.Penalty)
	case !(n.Sigma > 0) || math.IsInf(n.Sigma, 0):
		return n, fmt.Errorf("sigma %g must be finite and > 0", n.Sigma)
	case !(n.EtaC >= 0) || !(n.EtaM >= 0) || math.IsInf(n.EtaC, 0) || math.IsInf(n.EtaM, 0):
		return n, fmt.Errorf("distribution indices η_c %g, η_m %g must be finite and ≥ 0", n.EtaC, n.EtaM)
	case !(n.PCrossover >= 0 && n.PCrossover <= 1) || !(n.PMutation >= 0 && n.PMutation <= 1):
		return n, fmt.Errorf("probabilities p_c %g, p_m %g must lie in [0, 1]", n.PCrossover, n.PMutation)
	}
	for k, w := range n.Scalar {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return n, fmt.Errorf("scalar weight %d is %g", k, w)
		}
	}
	return n, nil
}

// strategyBase is what every strategy's state starts with.
type strategyBase struct {
	Strategy string          `json:"strategy"`
	Version  int             `json:"version"`
	Dim      int             `json:"dim"`
	Seed     int64           `json:"seed"`
	Options  strategyOptions `json:"options"`
	// Asks counts Ask calls: Ask number k draws from NewRNG(seed, k), so no generator
	// state needs saving.
	Asks uint64 `json:"asks"`
	// Pending are the initial points not asked for yet.
	Pending []floats `json:"pending,omitempty"`
	// M is the number of objectives, fixed by the first Tell (0 before).
	M int `json:"m,omitempty"`
}

// initialPending sets Pending from the options' initial points, clamped to the cube.
func (b *strategyBase) initialPending(initial [][]float64) {
	for _, x := range initial {
		p := make(floats, len(x))
		for i, v := range x {
			p[i] = clamp(v, 0, 1)
		}
		b.Pending = append(b.Pending, p)
	}
}

// nextRNG is the generator of the next Ask.
func (b *strategyBase) nextRNG() *rand.Rand {
	b.Asks++
	return NewRNG(uint64(b.Seed), 0x5354524154, b.Asks) // "STRAT"
}

// takePending removes and returns up to n initial points.
func (b *strategyBase) takePending(n int) [][]float64 {
	k := min(n, len(b.Pending))
	out := make([][]float64, k)
	for i := range out {
		out[i] = slices.Clone(b.Pending[i])
	}
	b.Pending = b.Pending[k:]
	if len(b.Pending) == 0 {
		b.Pending = nil
	}
	return out
}

// checkTold validates evaluated points: X of the strategy's dimension with finite values,
// and the same number of objectives in every F (fixing b.M at the first Tell).
func (b *strategyBase) checkTold(evaluated []Individual) error {
	for i, ind := range evaluated {
		if len(ind.X) != b.Dim {
			return fmt.Errorf("strategy %s: told point %d has %d coordinates, want %d", b.Strategy, i, len(ind.X), b.Dim)
		}
		for _, v := range ind.X {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("strategy %s: told point %d has coordinate %g", b.Strategy, i, v)
			}
		}
		if len(ind.F) == 0 {
			return fmt.Errorf("strategy %s: told point %d has no objectives", b.Strategy, i)
		}
		if b.M == 0 {
			b.M = len(ind.F)
		}
		if len(ind.F) != b.M {
			return fmt.Errorf("strategy %s: told point %d has %d objectives, earlier ones %d", b.Strategy, i, len(ind.F), b.M)
		}
	}
	return nil
}

func checkAsk(name string, n int) error {
	if n < 0 {
		return fmt.Errorf("strategy %s: asked for %d points", name, n)
	}
	return nil
}

// ParetoFront returns the members of pop that no other member constrained-dominates (see
// pareto.ConstrainedDominates): the feasible non-dominated set, or, when no member is
// feasible, the least violating ones. Order is kept. Members must have equally long F.
func ParetoFront(pop []Individual) []Individual {
	if len(pop) == 0 {
		return nil
	}
	points, violation, dirs := individualsPoints(pop)
	fronts := pareto.ConstrainedNonDominatedSort(points, violation, dirs)
	out := make([]Individual, len(fronts[0]))
	for j, i := range fronts[0] {
		out[j] = cloneIndividual(pop[i])
	}
	return out
}

// Best returns the member of pop with the smallest scalarized objective Σ w_k F_k among
// the feasible ones (weights nil: the first objective alone), or, when none is feasible,
// the least violating; ties go to the earlier member. ok is false for an empty pop.
func Best(pop []Individual, weights []float64) (best Individual, ok bool) {
	bi := -1
	for i, ind := range pop {
		if bi < 0 || preferred(ind, pop[bi], weights) {
			bi = i
		}
	}
	if bi < 0 {
		return Individual{}, false
	}
	return cloneIndividual(pop[bi]), true
}

// preferred reports whether a is strictly better than b by Best's rule: smaller violation,
// then smaller scalarized objective (NaN last).
func preferred(a, b Individual, weights []float64) bool {
	if va, vb := violationOf(a), violationOf(b); va != vb {
		return va < vb
	}
	return lessScalar(scalarize(a.F, weights), scalarize(b.F, weights))
}

// lessScalar orders scalars with NaN last.
func lessScalar(a, b float64) bool {
	if math.IsNaN(b) {
		return !math.IsNaN(a)
	}
	return a < b
}

// scalarize is Σ w_k F_k (weights nil: F[0]); NaN if any used objective is NaN.
func scalarize(f []float64, weights []float64) float64 {
	if len(weights) == 0 {
		if len(f) == 0 {
			return math.NaN()
		}
		return f[0]
	}
	s := 0.0
	for k, w := range weights {
		if k < len(f) && w != 0 {
			s += w * f[k]
		}
	}
	return s
}

// violationOf is an individual's violation for ordering: 0 if feasible, +Inf for NaN.
func violationOf(ind Individual) float64 {
	switch v := ind.Violation; {
	case math.IsNaN(v):
		return math.Inf(1)
	case v <= 0:
		return 0
	default:
		return v
	}
}

func individualsPoints(pop []Individual) (points [][]float64, violation []float64, dirs []pareto.Direction) {
	points = make([][]float64, len(pop))
	violation = make([]float64, len(pop))
	for i, ind := range pop {
		points[i], violation[i] = ind.F, ind.Violation
	}
	dirs = make([]pareto.Direction, len(pop[0].F))
	for k := range dirs {
		dirs[k] = pareto.Minimize
	}
	return points, violation, dirs
}

func cloneIndividual(ind Individual) Individual {
	return Individual{X: slices.Clone(ind.X), F: slices.Clone(ind.F), Violation: ind.Violation}
}

// latinHypercube returns n points of [0,1]^dim, one in each of n equal slices of every
// coordinate, the slices paired at random (McKay, Beckman & Conover 1979).
func latinHypercube(rng *rand.Rand, n, dim int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, dim)
	}
	perm := make([]int, n)
	for k := range dim {
		for i := range perm {
			perm[i] = i
		}
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for i := range out {
			out[i][k] = (float64(perm[i]) + rng.Float64()) / float64(n)
		}
	}
	return out
}

// uniformPoints returns n points drawn uniformly from [0,1]^dim.
func uniformPoints(rng *rand.Rand, n, dim int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, dim)
		for k := range out[i] {
			out[i][k] = rng.Float64()
		}
	}
	return out
}

// floats is a []float64 whose JSON form keeps non-finite values ("NaN", "+Inf", "-Inf"),
// which encoding/json refuses; finite values are exact (shortest round-trip form).
type floats []float64

// stateFloat is a float64 with the same JSON form as an element of floats.
type stateFloat float64

func (f stateFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *stateFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = stateFloat(math.NaN())
		return nil
	case `"+Inf"`:
		*f = stateFloat(math.Inf(1))
		return nil
	case `"-Inf"`:
		*f = stateFloat(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errors.New("strategy state: bad number " + string(b))
	}
	*f = stateFloat(v)
	return nil
}

func (fs floats) MarshalJSON() ([]byte, error) {
	if fs == nil {
		return []byte("null"), nil
	}
	b := []byte{'['}
	for i, v := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		e, _ := stateFloat(v).MarshalJSON()
		b = append(b, e...)
	}
	return append(b, ']'), nil
}

func (fs *floats) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*fs = nil
		return nil
	}
	var raw []stateFloat
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(floats, len(raw))
	for i, v := range raw {
		out[i] = float64(v)
	}
	*fs = out
	return nil
}

// stateIndividual is an Individual in a strategy's state (non-finite values kept).
type stateIndividual struct {
	X         floats     `json:"x"`
	F         floats     `json:"f"`
	Violation stateFloat `json:"v"`
}

func toState(pop []Individual) []stateIndividual {
	out := make([]stateIndividual, len(pop))
	for i, ind := range pop {
		out[i] = stateIndividual{X: slices.Clone(ind.X), F: slices.Clone(ind.F), Violation: stateFloat(ind.Violation)}
	}
	return out
}

func fromState(pop []stateIndividual) []Individual {
	out := make([]Individual, len(pop))
	for i, s := range pop {
		out[i] = Individual{X: slices.Clone(s.X), F: slices.Clone(s.F), Violation: float64(s.Violation)}
	}
	return out
}
