package evomerge

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/pareto"
)

// zdt1 is Zitzler, Deb & Thiele's ZDT1: f1 = x1, g = 1 + 9·Σ_{i≥2} x_i/(d−1),
// f2 = g·(1 − √(f1/g)); the Pareto front is g = 1, f2 = 1 − √f1.
func zdt1(x []float64) Individual {
	g := 0.0
	for _, v := range x[1:] {
		g += v
	}
	g = 1 + 9*g/float64(len(x)-1)
	return Individual{X: slices.Clone(x), F: []float64{x[0], g * (1 - math.Sqrt(x[0]/g))}}
}

var zdtRef = []float64{1.1, 1.1}

func minimize(m int) []pareto.Direction {
	d := make([]pareto.Direction, m)
	for k := range d {
		d[k] = pareto.Minimize
	}
	return d
}

func frontHV(pop []Individual, ref []float64) float64 {
	var pts [][]float64
	for _, ind := range pop {
		if violationOf(ind) == 0 {
			pts = append(pts, ind.F)
		}
	}
	return pareto.Hypervolume(pts, minimize(len(ref)), ref)
}

// zdt1OptimalHV is the hypervolume of ZDT1's true front against zdtRef, computed from a
// dense sample of it (the continuous value is 0.1 + 2/3 + 0.11 = 0.87667).
func zdt1OptimalHV() float64 {
	const n = 100000
	pts := make([][]float64, n+1)
	for i := range pts {
		f1 := float64(i) / n
		pts[i] = []float64{f1, 1 - math.Sqrt(f1)}
	}
	return pareto.Hypervolume(pts, minimize(2), zdtRef)
}

// runStrategy asks for n points per generation for gens generations, evaluating them with
// eval, and returns every evaluated individual and every Ask's points.
func runStrategy(t testing.TB, s Strategy, gens, n int, eval func([]float64) Individual) (all []Individual, asks [][][]float64) {
	t.Helper()
	for range gens {
		xs, err := s.Ask(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(xs) != n {
			t.Fatalf("%s: Ask(%d) returned %d points", s.Name(), n, len(xs))
		}
		asks = append(asks, xs)
		told := make([]Individual, len(xs))
		for i, x := range xs {
			for _, v := range x {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("%s: asked point %v outside [0,1]", s.Name(), x)
				}
			}
			told[i] = eval(x)
		}
		if err := s.Tell(told); err != nil {
			t.Fatal(err)
		}
		all = append(all, told...)
	}
	return all, asks
}

func mustStrategy(t testing.TB, name string, dim int, seed int64, opts StrategyOptions, state json.RawMessage) Strategy {
	t.Helper()
	s, err := NewStrategy(name, dim, seed, opts, state)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStrategyNames(t *testing.T) {
	if got, want := StrategyNames(), []string{"nsga2", "cmaes", "random"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("StrategyNames() = %v, want %v", got, want)
	}
	for _, name := range StrategyNames() {
		s := mustStrategy(t, name, 3, 1, StrategyOptions{}, nil)
		if s.Name() != name {
			t.Errorf("NewStrategy(%q).Name() = %q", name, s.Name())
		}
	}
	_, err := NewStrategy("hill_climb", 3, 1, StrategyOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), `"hill_climb"`) || !strings.Contains(err.Error(), "nsga2, cmaes, random") {
		t.Fatalf("unknown strategy: error %v, want it to name hill_climb and the choices", err)
	}
	if _, err := NewStrategy("nsga2", 0, 1, StrategyOptions{}, nil); err == nil {
		t.Error("dimension 0 accepted")
	}
	if _, err := NewStrategy("nsga2", 3, 1, StrategyOptions{Initial: [][]float64{{1, 2}}}, nil); err == nil {
		t.Error("initial point of the wrong dimension accepted")
	}
	state, _ := mustStrategy(t, "random", 3, 1, StrategyOptions{}, nil).State()
	if _, err := NewStrategy("nsga2", 3, 1, StrategyOptions{}, state); err == nil || !strings.Contains(err.Error(), "random") {
		t.Errorf("a random state restored as nsga2: error %v", err)
	}
	if _, err := NewStrategy("random", 4, 1, StrategyOptions{}, state); err == nil {
		t.Error("a state of dimension 3 restored at dimension 4")
	}
}

// TestNSGA2ZDT1 runs nsga2 on ZDT1 (d = 10) with 40 children per generation. Measured
// on seeds 1–3: after 40 generations (1,600 evaluations) the front's hypervolume is
// 85.7–88.9% of the optimum, after 60 (2,400) 95.5–98.0%; random search's front at either budget
// stays above f2 = 1.1 (hypervolume 0 there) and is compared at a far reference point too.
func TestNSGA2ZDT1(t *testing.T) {
	const d, n = 10, 40
	opt := zdt1OptimalHV()
	if math.Abs(opt-(0.1+2.0/3+0.11)) > 1e-4 {
		t.Fatalf("optimal hypervolume %.6f, want ≈ 0.876667", opt)
	}
	farRef := []float64{11, 11}
	var at40 []float64
	for seed := int64(1); seed <= 3; seed++ {
		s := mustStrategy(t, StrategyNSGA2, d, seed, StrategyOptions{}, nil)
		r := mustStrategy(t, StrategyRandom, d, seed, StrategyOptions{}, nil)
		var all, rall []Individual
		for _, gens := range []int{40, 20} {
			a, _ := runStrategy(t, s, gens, n, zdt1)
			ra, _ := runStrategy(t, r, gens, n, zdt1)
			all, rall = append(all, a...), append(rall, ra...)
			hv, rhv := frontHV(ParetoFront(all), zdtRef), frontHV(ParetoFront(rall), zdtRef)
			farHV, farRHV := frontHV(ParetoFront(all), farRef), frontHV(ParetoFront(rall), farRef)
			t.Logf("seed %d, %d evaluations: nsga2 HV %.4f (%.1f%% of the optimum %.4f), random %.4f; against (11, 11): nsga2 %.2f, random %.2f",
				seed, len(all), hv, 100*hv/opt, opt, rhv, farHV, farRHV)
			if hv <= rhv || farHV <= farRHV {
				t.Errorf("seed %d, %d evaluations: nsga2 does not beat random", seed, len(all))
			}
			if len(all) == 40*n {
				at40 = append(at40, hv)
			} else if hv < 0.95*opt {
				t.Errorf("seed %d: after %d evaluations nsga2's hypervolume %.4f is below 95%% of the optimum %.4f", seed, len(all), hv, opt)
			}
		}
		if got := frontHV(r.(*randomSearch).archive(), zdtRef); got != frontHV(ParetoFront(rall), zdtRef) {
			t.Errorf("random's archived front has hypervolume %g, the front of all told another", got)
		}
	}
	slices.Sort(at40)
	if at40[1] < 0.85*opt {
		t.Errorf("after 1,600 evaluations nsga2's median hypervolume %.4f is below 85%% of the optimum %.4f", at40[1], opt)
	}
}

func TestNSGA2InitialPointsFirst(t *testing.T) {
	init := [][]float64{{0.5, 0.5, 0.5}, {1.5, -1, 0.25}}
	for _, name := range []string{StrategyNSGA2, StrategyRandom} {
		s := mustStrategy(t, name, 3, 9, StrategyOptions{Initial: init}, nil)
		xs, err := s.Ask(1)
		if err != nil || len(xs) != 1 || !slices.Equal(xs[0], init[0]) {
			t.Fatalf("%s: first Ask(1) = %v, %v; want the first initial point", name, xs, err)
		}
		state, _ := s.State()
		s = mustStrategy(t, name, 3, 9, StrategyOptions{}, state) // restored: the initial points travel in the state
		xs, _ = s.Ask(4)
		if len(xs) != 4 || !slices.Equal(xs[0], []float64{1, 0, 0.25}) {
			t.Fatalf("%s: second Ask = %v; want the second initial point, clamped, first", name, xs)
		}
		for _, x := range xs[1:] {
			if slices.Equal(x, init[0]) {
				t.Fatalf("%s: an initial point was asked for twice", name)
			}
		}
	}
	// Latin hypercube: with n points, each coordinate has one point in each slice. An
	// Ask(0) first does not fix μ.
	s := mustStrategy(t, StrategyNSGA2, 5, 3, StrategyOptions{}, nil)
	if xs, err := s.Ask(0); err != nil || len(xs) != 0 {
		t.Fatalf("Ask(0) = %v, %v", xs, err)
	}
	xs, _ := s.Ask(20)
	if mu := s.(*nsga2).Mu; mu != 20 {
		t.Fatalf("μ = %d after Ask(0), Ask(20); want 20", mu)
	}
	for k := range 5 {
		seen := make([]bool, 20)
		for _, x := range xs {
			seen[int(x[k]*20)] = true
		}
		if slices.Contains(seen, false) {
			t.Fatalf("coordinate %d: the initial sample is not a Latin hypercube", k)
		}
	}
}

func TestNSGA2Constrained(t *testing.T) {
	// ZDT1 with x1 < 0.4 infeasible (violation 0.4 − x1): those points have the best f1,
	// so only constrained domination keeps them out.
	eval := func(x []float64) Individual {
		ind := zdt1(x)
		if x[0] < 0.4 {
			ind.Violation = 0.4 - x[0]
		}
		return ind
	}
	s := mustStrategy(t, StrategyNSGA2, 6, 5, StrategyOptions{}, nil).(*nsga2)
	var told []Individual
	for gen := range 25 {
		xs, err := s.Ask(20)
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]Individual, len(xs))
		for i, x := range xs {
			batch[i] = eval(x)
		}
		told = append(told, batch...)
		if err := s.Tell(batch); err != nil {
			t.Fatal(err)
		}
		feasible := 0
		for _, ind := range told {
			if ind.Violation == 0 {
				feasible++
			}
		}
		pop := fromState(s.Pop)
		infeasible := 0
		for _, ind := range pop {
			if ind.Violation > 0 {
				infeasible++
			}
		}
		// Survival keeps μ of the previous population and the batch; an infeasible
		// survivor is allowed only when fewer than μ feasible points were ever told.
		if want := max(0, s.Mu-feasible); infeasible > want {
			t.Fatalf("generation %d: %d infeasible survivors with %d feasible points told (μ %d)", gen, infeasible, feasible, s.Mu)
		}
	}
	front := ParetoFront(told)
	for _, ind := range front {
		if ind.Violation > 0 || ind.F[0] < 0.4 {
			t.Fatalf("front member %v is infeasible", ind)
		}
	}
	if best, _ := Best(told, nil); best.Violation > 0 || best.F[0] < 0.4 {
		t.Fatalf("Best %v is infeasible", best)
	}
}

// sphere8 is Σ (x_i − c_i)² with the optimum c off the cube's centre.
func sphere8(x []float64) Individual {
	f := 0.0
	for i, v := range x {
		c := 0.2 + 0.6*float64(i)/float64(len(x)-1)
		f += (v - c) * (v - c)
	}
	return Individual{X: slices.Clone(x), F: []float64{f}}
}

func TestCMAESSphere(t *testing.T) {
	const d, lambda, gens = 8, 10, 100 // 1,000 evaluations
	for seed := int64(1); seed <= 3; seed++ {
		s := mustStrategy(t, StrategyCMAES, d, seed, StrategyOptions{}, nil)
		all, _ := runStrategy(t, s, gens, lambda, sphere8)
		best, _ := Best(all, nil)
		r := mustStrategy(t, StrategyRandom, d, seed, StrategyOptions{}, nil)
		rall, _ := runStrategy(t, r, gens, lambda, sphere8)
		rbest, _ := Best(rall, nil)
		evals := -1
		for i, ind := range all {
			if ind.F[0] < 1e-6 {
				evals = i + 1
				break
			}
		}
		t.Logf("seed %d: cmaes best f %.3g (below 1e-6 after %d evaluations), random best f %.3g, %d evaluations each",
			seed, best.F[0], evals, rbest.F[0], gens*lambda)
		if best.F[0] >= 1e-6 {
			t.Errorf("seed %d: cmaes best %.3g, want < 1e-6", seed, best.F[0])
		}
		if best.F[0] >= rbest.F[0] {
			t.Errorf("seed %d: cmaes best %.3g does not beat random's %.3g", seed, best.F[0], rbest.F[0])
		}
		if c := s.(*cmaes); c.best() == nil || !slices.Equal(c.best().X, best.X) {
			t.Errorf("seed %d: cmaes's recorded best differs from the best told", seed)
		}
	}
}

func TestCMAESScalarAndPenalty(t *testing.T) {
	// Minimize the second objective only; points with x0 > 0.5 are infeasible.
	eval := func(x []float64) Individual {
		ind := Individual{X: slices.Clone(x), F: []float64{-x[0], sphere8(x).F[0]}}
		if x[0] > 0.5 {
			ind.Violation = x[0] - 0.5
		}
		return ind
	}
	s := mustStrategy(t, StrategyCMAES, 8, 4, StrategyOptions{Scalar: []float64{0, 1}}, nil)
	all, _ := runStrategy(t, s, 120, 10, eval)
	best, _ := Best(all, []float64{0, 1})
	if best.Violation != 0 || best.F[1] > 1e-3 {
		t.Fatalf("best %v: want a feasible point near the optimum of the second objective", best)
	}
}

func TestCMAESAnyN(t *testing.T) {
	s := mustStrategy(t, StrategyCMAES, 4, 2, StrategyOptions{Population: 6}, nil)
	for _, n := range []int{0, 1, 2, 3, 9, 6, 14} {
		xs, err := s.Ask(n)
		if err != nil || len(xs) != n {
			t.Fatalf("Ask(%d): %d points, %v", n, len(xs), err)
		}
		told := make([]Individual, len(xs))
		for i, x := range xs {
			told[i] = sphere8(x)
		}
		// Tell in reverse order: matching is by point, not position.
		slices.Reverse(told)
		if err := s.Tell(told); err != nil {
			t.Fatal(err)
		}
	}
	if c := s.(*cmaes); c.Updates < 4 {
		t.Fatalf("%d distribution updates, want at least 4", c.Updates)
	}
	if _, err := s.Ask(-1); err == nil {
		t.Error("Ask(-1) accepted")
	}
	if err := s.Tell([]Individual{{X: []float64{0.5}, F: []float64{1}}}); err == nil {
		t.Error("a told point of the wrong dimension accepted")
	}
}

// TestStrategyDeterminism: the same seed gives the same Ask sequence, another seed not.
func TestStrategyDeterminism(t *testing.T) {
	for _, name := range StrategyNames() {
		run := func(seed int64) [][][]float64 {
			_, asks := runStrategy(t, mustStrategy(t, name, 10, seed, StrategyOptions{}, nil), 5, 12, zdt1)
			return asks
		}
		a, b, c := run(7), run(7), run(8)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: seed 7 twice gives different Ask sequences", name)
		}
		if reflect.DeepEqual(a, c) {
			t.Errorf("%s: seeds 7 and 8 give the same Ask sequence", name)
		}
	}
}

// TestStrategyStateRoundTrip: run 5 generations; alongside, serialize after generation 2,
// restore from the JSON and continue, and (as the workflow does) restore from the state
// before every generation. All three give identical Asks.
func TestStrategyStateRoundTrip(t *testing.T) {
	const d, n, gens = 6, 10, 5
	init := [][]float64{{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1, 0, 1}}
	// ZDT1 with a NaN objective and an infinite violation now and then, so the state
	// carries non-finite values.
	eval := func(x []float64) Individual {
		ind := zdt1(x)
		switch {
		case x[1] < 0.1:
			ind.F[1] = math.NaN()
		case x[1] > 0.9:
			ind.Violation = math.Inf(1)
		}
		return ind
	}
	for _, name := range StrategyNames() {
		opts := StrategyOptions{Initial: init}
		_, want := runStrategy(t, mustStrategy(t, name, d, 3, opts, nil), gens, n, eval)

		s := mustStrategy(t, name, d, 3, opts, nil)
		_, got := runStrategy(t, s, 2, n, eval)
		state, err := s.State()
		if err != nil {
			t.Fatalf("%s: State: %v", name, err)
		}
		var raw any
		if err := json.Unmarshal(state, &raw); err != nil {
			t.Fatalf("%s: state is not JSON: %v", name, err)
		}
		restored := mustStrategy(t, name, d, 3, StrategyOptions{}, append(json.RawMessage(nil), state...))
		again, err := restored.State()
		if err != nil || string(again) != string(state) {
			t.Fatalf("%s: restored state serializes differently:\n%s\n%s", name, state, again)
		}
		_, rest := runStrategy(t, restored, gens-2, n, eval)
		if got = append(got, rest...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: restored after generation 2, the Asks differ from an uninterrupted run", name)
		}

		var state2 json.RawMessage
		var each [][][]float64
		for range gens {
			s := mustStrategy(t, name, d, 3, opts, state2)
			_, asks := runStrategy(t, s, 1, n, eval)
			each = append(each, asks...)
			if state2, err = s.State(); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(each, want) {
			t.Errorf("%s: restored before every generation, the Asks differ from an uninterrupted run", name)
		}
	}
}

// TestCMAESMidGenerationState: a state saved mid-generation (half the samples asked for
// told, half not) restores to the same future, and an inconsistent state is refused.
func TestCMAESMidGenerationState(t *testing.T) {
	s := mustStrategy(t, StrategyCMAES, 5, 11, StrategyOptions{Population: 8}, nil)
	runStrategy(t, s, 6, 8, sphere8)
	xs, _ := s.Ask(8)
	told := make([]Individual, 4)
	for i := range told {
		told[i] = sphere8(xs[2*i])
	}
	if err := s.Tell(told); err != nil {
		t.Fatal(err)
	}
	state, _ := s.State()
	r := mustStrategy(t, StrategyCMAES, 5, 11, StrategyOptions{}, state)
	for round := range 3 {
		var rest []Individual
		if round == 0 {
			for i := range 4 {
				rest = append(rest, sphere8(xs[2*i+1]))
			}
		}
		for _, st := range []Strategy{s, r} {
			if err := st.Tell(rest); err != nil {
				t.Fatal(err)
			}
		}
		a, err1 := s.Ask(8)
		b, err2 := r.Ask(8)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("round %d: the restored strategy asks differently (%v, %v)", round, err1, err2)
		}
		rest = rest[:0]
		for _, x := range a {
			rest = append(rest, sphere8(x))
		}
		for _, st := range []Strategy{s, r} {
			if err := st.Tell(rest); err != nil {
				t.Fatal(err)
			}
		}
	}
	var c cmaes
	if err := json.Unmarshal(state, &c); err != nil {
		t.Fatal(err)
	}
	c.C = c.C[:len(c.C)-1]
	bad, _ := json.Marshal(&c)
	if _, err := NewStrategy(StrategyCMAES, 5, 11, StrategyOptions{}, bad); err == nil {
		t.Error("a state with a truncated covariance was accepted")
	}
}

func TestParetoFrontAndBest(t *testing.T) {
	pop := []Individual{
		{X: []float64{0}, F: []float64{1, 4}},
		{X: []float64{1}, F: []float64{2, 2}},
		{X: []float64{2}, F: []float64{3, 3}}, // dominated by 1
		{X: []float64{3}, F: []float64{0, 0}, Violation: 0.5},
		{X: []float64{4}, F: []float64{4, 1}},
	}
	var xs []float64
	for _, ind := range ParetoFront(pop) {
		xs = append(xs, ind.X[0])
	}
	if !slices.Equal(xs, []float64{0, 1, 4}) {
		t.Errorf("ParetoFront = %v, want points 0, 1, 4", xs)
	}
	if b, ok := Best(pop, nil); !ok || b.X[0] != 0 {
		t.Errorf("Best on f1 = %v, want point 0 (point 3 is infeasible)", b)
	}
	if b, _ := Best(pop, []float64{1, 1}); b.X[0] != 1 {
		t.Errorf("Best on f1+f2 = %v, want point 1", b)
	}
	if b, _ := Best(pop[3:4], nil); b.X[0] != 3 {
		t.Errorf("Best of infeasible only = %v, want point 3", b)
	}
	if _, ok := Best(nil, nil); ok {
		t.Error("Best of nothing reported ok")
	}
}

func BenchmarkNSGA2Survival1000(b *testing.B) {
	for _, m := range []int{2, 3} {
		b.Run(map[int]string{2: "2obj", 3: "3obj"}[m], func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(m)))
			all := make([]Individual, 1000)
			for i := range all {
				f := make([]float64, m)
				for k := range f {
					f[k] = rng.Float64()
				}
				all[i] = Individual{X: []float64{rng.Float64()}, F: f}
				if i%10 == 0 {
					all[i].Violation = rng.Float64()
				}
			}
			b.ResetTimer()
			for range b.N {
				if len(nsga2Survive(all, 500)) != 500 {
					b.Fatal("wrong survivor count")
				}
			}
		})
	}
}

func TestStateFloatsJSON(t *testing.T) {
	in := floats{math.NaN(), math.Inf(1), math.Inf(-1), 0.1, -3e-300, 1.0 / 3}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out floats
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) || !math.IsNaN(out[0]) || !slices.Equal(in[1:], out[1:]) {
		t.Fatalf("%s round-trips to %v", b, out)
	}
	var v stateFloat
	if err := json.Unmarshal([]byte(`"bogus"`), &v); err == nil {
		t.Error(`"bogus" accepted as a number`)
	}
}
