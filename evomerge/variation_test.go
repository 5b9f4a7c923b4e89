package evomerge

import (
	"math"
	"reflect"
	"testing"
)

func TestNewRNGStreams(t *testing.T) {
	draw := func(seed uint64, stream ...uint64) [4]uint64 {
		r := NewRNG(seed, stream...)
		return [4]uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
	}
	if draw(42, 3) != draw(42, 3) {
		t.Fatal("same seed and stream gave different numbers")
	}
	distinct := map[[4]uint64]string{}
	for name, v := range map[string][4]uint64{
		"(42)": draw(42), "(42,0)": draw(42, 0), "(42,3)": draw(42, 3), "(42,4)": draw(42, 4),
		"(43,3)": draw(43, 3), "(42,3,0)": draw(42, 3, 0), "(42,0,3)": draw(42, 0, 3),
	} {
		if other, dup := distinct[v]; dup {
			t.Errorf("NewRNG%s and NewRNG%s give the same stream", name, other)
		}
		distinct[v] = name
	}
}

// equalRecipes compares two recipes with parameter defaults filled in; it is written
// independently of the operators' own duplicate detection.
func equalRecipes(t *testing.T, a, b Recipe) bool {
	t.Helper()
	if a.Method != b.Method || !reflect.DeepEqual(a.Weights, b.Weights) {
		return false
	}
	m, err := LookupMethod(a.Method)
	if err != nil {
		return reflect.DeepEqual(a.Params, b.Params)
	}
	pa, errA := ResolveParams(m, a.Params)
	pb, errB := ResolveParams(m, b.Params)
	if errA != nil || errB != nil {
		t.Fatalf("invalid recipe params: %v %v", errA, errB)
	}
	return reflect.DeepEqual(pa, pb)
}

func TestInitialRecipes(t *testing.T) {
	s := DefaultVariation()
	got := InitialRecipes(NewRNG(1, 0), 3, 0, 10, s)
	if again := InitialRecipes(NewRNG(1, 0), 3, 0, 10, s); !reflect.DeepEqual(got, again) {
		t.Fatal("same seed gave different initial recipes")
	}
	if other := InitialRecipes(NewRNG(1, 1), 3, 0, 10, s); reflect.DeepEqual(got, other) {
		t.Fatal("different stream gave the same initial recipes")
	}
	if len(got) != 10 {
		t.Fatalf("got %d recipes, want 10", len(got))
	}
	want := []Recipe{
		{Method: "linear", Weights: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, Params: map[string]float64{"normalize": 1}},
		{Method: "task_arithmetic", Weights: []float64{0, 0.5, 0.5}, Params: map[string]float64{"lambda": 1, "normalize": 0}},
		{Method: "ties", Weights: []float64{0, 1, 1}, Params: map[string]float64{"density": 0.5, "lambda": 1, "normalize": 1}},
	}
	for i, w := range want {
		if !reflect.DeepEqual(got[i], w) {
			t.Errorf("canonical recipe %d = %+v, want %+v", i, got[i], w)
		}
	}
	for i, r := range got {
		if err := ValidateRecipe(r, 3); err != nil {
			t.Errorf("recipe %d: %v", i, err)
		}
		m, _ := LookupMethod(r.Method)
		for j, w := range r.Weights {
			if w < s.WeightMin || w > s.WeightMax || (m.NeedsBase() && j == 0 && w != 0) {
				t.Errorf("recipe %d (%s): weight %d = %g", i, r.Method, j, w)
			}
		}
		if d, ok := r.Params["density"]; ok && (d < s.DensityMin || d > s.DensityMax) {
			t.Errorf("recipe %d: density %g outside [%g, %g]", i, d, s.DensityMin, s.DensityMax)
		}
		for j := 0; j < i; j++ {
			if equalRecipes(t, r, got[j]) {
				t.Errorf("recipes %d and %d are identical", j, i)
			}
		}
	}

	// Without a base only linear is usable.
	for _, r := range InitialRecipes(NewRNG(1), 3, -1, 5, s) {
		if r.Method != "linear" {
			t.Errorf("no base, but got a %s recipe", r.Method)
		}
	}
	// Fewer than one per method: only the first canonical ones.
	if few := InitialRecipes(NewRNG(1), 3, 0, 2, s); len(few) != 2 || few[1].Method != "task_arithmetic" {
		t.Errorf("n=2 gave %+v", few)
	}
}

func TestMutateClampsAndCopies(t *testing.T) {
	s := DefaultVariation()
	s.BaseIndex = 0
	s.MutationRate, s.MutationSigma, s.MethodSwitchRate = 1, 100, 0
	r := Recipe{Method: "ties", Weights: []float64{0, 1, 1}, Params: map[string]float64{"density": 0.5, "lambda": 0.8}}
	orig := cloneRecipe(r)
	rng := NewRNG(5)
	sawLow, sawHigh := false, false
	for i := 0; i < 200; i++ {
		c := Mutate(rng, r, s)
		if !reflect.DeepEqual(r, orig) {
			t.Fatal("Mutate modified its input")
		}
		if c.Weights[0] != 0 {
			t.Fatalf("base weight of a ties recipe mutated to %g", c.Weights[0])
		}
		for _, w := range c.Weights[1:] {
			if w < s.WeightMin || w > s.WeightMax {
				t.Fatalf("weight %g outside [%g, %g]", w, s.WeightMin, s.WeightMax)
			}
			sawLow = sawLow || w == s.WeightMin
			sawHigh = sawHigh || w == s.WeightMax
		}
		if d := c.Params["density"]; d < s.DensityMin || d > s.DensityMax {
			t.Fatalf("density %g outside [%g, %g]", d, s.DensityMin, s.DensityMax)
		}
		if c.Params["lambda"] != 0.8 || c.Params["normalize"] != 1 {
			t.Fatalf("non-mutated params changed: %v", c.Params)
		}
		c.Weights[1], c.Params["lambda"] = -7, -7 // must not leak into r
	}
	if !sawLow || !sawHigh {
		t.Error("σ=100 never reached the weight bounds: clamping is not exercised")
	}
	if !reflect.DeepEqual(Mutate(NewRNG(9), r, s), Mutate(NewRNG(9), r, s)) {
		t.Error("same seed gave different mutations")
	}

	// Zero rates change nothing.
	s.MutationRate = 0
	if c := Mutate(NewRNG(5), r, s); !equalRecipes(t, c, r) {
		t.Errorf("MutationRate 0 changed %+v into %+v", r, c)
	}
}

func TestMutateMethodSwitch(t *testing.T) {
	s := DefaultVariation()
	s.BaseIndex = 0
	s.MutationRate, s.MethodSwitchRate = 0, 1
	r := Recipe{Method: "ties", Weights: []float64{0.3, 1, 1}, Params: map[string]float64{"density": 0.4, "lambda": 0.7, "normalize": 1}}
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		c := Mutate(NewRNG(uint64(i)), r, s)
		seen[c.Method] = true
		switch c.Method {
		case "task_arithmetic":
			// lambda is kept, normalize re-defaulted (0 for task arithmetic), density dropped.
			want := map[string]float64{"lambda": 0.7, "normalize": 0}
			if !reflect.DeepEqual(c.Params, want) || c.Weights[0] != 0 {
				t.Fatalf("switch to task_arithmetic gave %+v", c)
			}
		case "linear":
			if !reflect.DeepEqual(c.Params, map[string]float64{"normalize": 1}) {
				t.Fatalf("switch to linear gave %+v", c)
			}
		default:
			t.Fatalf("method switch with rate 1 kept %s", c.Method)
		}
	}
	if !seen["linear"] || !seen["task_arithmetic"] {
		t.Errorf("switches reached only %v", seen)
	}
	// linear → ties takes the default density and keeps ties' base weight at 0.
	s.Methods = []string{"linear", "ties"}
	c := Mutate(NewRNG(1), Recipe{Method: "linear", Weights: []float64{0.3, 0.3, 0.3}}, s)
	want := Recipe{Method: "ties", Weights: []float64{0, 0.3, 0.3}, Params: map[string]float64{"density": 0.5, "lambda": 1, "normalize": 1}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("linear → ties gave %+v, want %+v", c, want)
	}
}

func TestCrossover(t *testing.T) {
	a := Recipe{Method: "ties", Weights: []float64{0, 0.1, 0.2, 0.3}, Params: map[string]float64{"density": 0.2, "lambda": 0.5, "normalize": 1}}
	b := Recipe{Method: "task_arithmetic", Weights: []float64{0, 1.1, 1.2, 1.3}, Params: map[string]float64{"lambda": 1.5, "normalize": 1}}
	methods := map[string]int{}
	mixed := false
	for i := 0; i < 100; i++ {
		c := Crossover(NewRNG(uint64(i)), a, b)
		methods[c.Method]++
		fromA, fromB := 0, 0
		for j, w := range c.Weights {
			switch w {
			case a.Weights[j]:
				fromA++
			case b.Weights[j]:
				fromB++
			default:
				t.Fatalf("child weight %d = %g comes from neither parent", j, w)
			}
		}
		mixed = mixed || (fromA > 1 && fromB > 1)
		if l := c.Params["lambda"]; l != 0.5 && l != 1.5 {
			t.Fatalf("child lambda %g comes from neither parent", l)
		}
		switch c.Method {
		case "ties":
			// density only ties carries; normalize defaults differ, so ties' own value (1).
			if c.Params["density"] != 0.2 || c.Params["normalize"] != 1 {
				t.Fatalf("ties child params %v", c.Params)
			}
		case "task_arithmetic":
			if _, ok := c.Params["density"]; ok || c.Params["normalize"] != 1 {
				t.Fatalf("task_arithmetic child params %v", c.Params)
			}
		}
		c.Weights[1] = 99 // must not leak into the parents
	}
	if a.Weights[1] != 0.1 || b.Weights[1] != 1.1 {
		t.Fatal("Crossover shares weight slices with its parents")
	}
	if methods["ties"] == 0 || methods["task_arithmetic"] == 0 || !mixed {
		t.Errorf("crossover is not uniform: methods %v, mixed weights %v", methods, mixed)
	}
	if !reflect.DeepEqual(Crossover(NewRNG(3), a, b), Crossover(NewRNG(3), a, b)) {
		t.Error("same seed gave different children")
	}
}

func TestTournamentPrefersRankThenCrowding(t *testing.T) {
	pop := []Candidate{
		{Rank: 1, Crowding: math.Inf(1)},
		{Rank: 0, Crowding: 0.1},
		{Rank: 0, Crowding: 0.5},
		{Rank: 0, Crowding: 0.5},
		{Rank: 0, Crowding: math.NaN()},
	}
	order := [][2]int{{1, 0}, {2, 1}, {2, 3}, {1, 4}}
	for _, o := range order {
		if !better(pop, o[0], o[1]) || better(pop, o[1], o[0]) {
			t.Errorf("candidate %d should beat %d", o[0], o[1])
		}
	}
	// With two members, both always meet: the better one always wins.
	pair := pop[:2]
	for i := 0; i < 20; i++ {
		if w := tournament(NewRNG(uint64(i)), pair); w != 1 {
			t.Fatalf("tournament of %v picked %d", pair, w)
		}
	}
}

func TestBreedUniqueAndDeterministic(t *testing.T) {
	s := DefaultVariation()
	s.BaseIndex = 0
	pop := []Candidate{}
	for i, r := range InitialRecipes(NewRNG(2), 3, 0, 6, s) {
		pop = append(pop, Candidate{Recipe: r, Rank: i % 2, Crowding: float64(i)})
	}
	// Also a duplicate member with omitted defaults: children must differ from it too.
	pop = append(pop, Candidate{Recipe: Recipe{Method: "ties", Weights: []float64{0, 1, 1}}, Rank: 0})
	snapshot := make([]Recipe, len(pop))
	for i, c := range pop {
		snapshot[i] = cloneRecipe(c.Recipe)
	}

	check := func(label string, s VariationSettings, n int) []Recipe {
		kids := Breed(NewRNG(7, 1), pop, n, s)
		if again := Breed(NewRNG(7, 1), pop, n, s); !reflect.DeepEqual(kids, again) {
			t.Fatalf("%s: same seed bred different children", label)
		}
		for i, k := range kids {
			if err := ValidateRecipe(k, 3); err != nil {
				t.Fatalf("%s: child %d: %v", label, i, err)
			}
			for j, c := range pop {
				if equalRecipes(t, k, c.Recipe) {
					t.Fatalf("%s: child %d equals population member %d: %+v", label, i, j, k)
				}
			}
			for j := 0; j < i; j++ {
				if equalRecipes(t, k, kids[j]) {
					t.Fatalf("%s: children %d and %d are identical", label, j, i)
				}
			}
			k.Weights[1] = -1 // must not leak into pop
			k.Params["x"] = 1
		}
		for i, c := range pop {
			if !reflect.DeepEqual(c.Recipe, snapshot[i]) {
				t.Fatalf("%s: Breed modified population member %d", label, i)
			}
		}
		return kids
	}
	if kids := check("defaults", s, 40); len(kids) != 40 {
		t.Errorf("defaults: %d children, want 40", len(kids))
	}
	if diff := Breed(NewRNG(7, 2), pop, 5, s); reflect.DeepEqual(diff, Breed(NewRNG(7, 1), pop, 5, s)) {
		t.Error("different stream bred the same children")
	}
	// No mutation and no crossover: every first attempt copies a parent, so uniqueness
	// comes entirely from re-mutation.
	still := s
	still.MutationRate, still.CrossoverRate, still.MethodSwitchRate = 0, 0, 0
	if kids := check("no variation", still, 20); len(kids) != 20 {
		t.Errorf("no variation: %d children, want 20", len(kids))
	}
	// A search space with no room left: Breed stops instead of looping or repeating.
	none := s
	none.Methods = []string{"linear"}
	none.WeightMin, none.WeightMax, none.MethodSwitchRate = 1, 1, 0
	flat := []Candidate{{Recipe: Recipe{Method: "linear", Weights: []float64{1, 1, 1}}}}
	if kids := Breed(NewRNG(1), flat, 5, none); len(kids) != 0 {
		t.Errorf("no room: bred %+v", kids)
	}
}

// Children whose weights are all zero would fail to merge (linear) or merge to the base
// (task vectors); Breed never returns them.
func TestBreedNeverReturnsAllZeroWeights(t *testing.T) {
	s := DefaultVariation()
	// Uniform crossover of [0,a,0] and [0,0,b] gives [0,0,0] one time in four.
	s.MutationRate, s.CrossoverRate, s.MethodSwitchRate = 0, 1, 0
	s.BaseIndex = 0
	lin := func(w ...float64) Candidate {
		return Candidate{Recipe: Recipe{Method: "linear", Weights: w, Params: map[string]float64{"normalize": 1}}}
	}
	pop := []Candidate{lin(0, 1, 0), lin(0, 0, 1), lin(0, 0.5, 0), lin(0, 0, 0.5)}
	for seed := uint64(0); seed < 50; seed++ {
		for _, c := range Breed(NewRNG(seed), pop, 6, s) {
			if c.Weights[0]+c.Weights[1]+c.Weights[2] == 0 {
				t.Fatalf("seed %d: all-zero child %+v", seed, c)
			}
		}
	}
}
