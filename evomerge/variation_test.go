package evomerge

import (
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
