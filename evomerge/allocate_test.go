package evomerge

import (
	"math"
	"testing"
)

// Allocate against exhaustive search over every combination: the greedy allocation must
// fit the budget and, on these convex curves, reach the exhaustive optimum's error.
func TestAllocateMatchesExhaustiveSearch(t *testing.T) {
	curve := func(scale float64) []LayerOption {
		// Error halves per extra bit: convex in bits.
		var opts []LayerOption
		for _, b := range []float64{1.6, 2, 3, 4, 32} {
			e := scale * math.Pow(0.5, b)
			if b == 32 {
				e = 0
			}
			opts = append(opts, LayerOption{Codec: "x", BitsPerWeight: b, Error: e})
		}
		return opts
	}
	layers := []LayerSensitivity{
		{Tensor: "fc1.weight", Weights: 200704, Options: curve(1)},
		{Tensor: "fc2.weight", Weights: 65536, Options: curve(8)}, // 8× more sensitive
		{Tensor: "fc3.weight", Weights: 2560, Options: curve(4)},
	}
	lo, hi := BudgetRange(layers)
	if math.Abs(lo-1.6) > 1e-9 || math.Abs(hi-32) > 1e-9 {
		t.Fatalf("BudgetRange = %g, %g; want 1.6, 32", lo, hi)
	}
	for _, budget := range []float64{1, 1.6, 1.8, 2.2, 2.6, 3.5, 5, 12, 32} {
		got, err := Allocate(layers, budget)
		if err != nil {
			t.Fatal(err)
		}
		var total, bits, errSum float64
		for l, i := range got {
			total += float64(layers[l].Weights)
			bits += float64(layers[l].Weights) * layers[l].Options[i].BitsPerWeight
			errSum += layers[l].Options[i].Error
		}
		// Exhaustive: the least total error within the budget.
		best := math.Inf(1)
		for a := range 5 {
			for b := range 5 {
				for c := range 5 {
					idx := []int{a, b, c}
					var bb, ee float64
					for l, i := range idx {
						bb += float64(layers[l].Weights) * layers[l].Options[i].BitsPerWeight
						ee += layers[l].Options[i].Error
					}
					if bb <= math.Max(budget, lo)*total*(1+1e-12) && ee < best {
						best = ee
					}
				}
			}
		}
		if bits > math.Max(budget, lo)*total*(1+1e-9) {
			t.Errorf("budget %g: allocation %v uses %g bits per weight", budget, got, bits/total)
		}
		// Greedy is within a small factor of the optimum on convex curves; it must never
		// beat it (that would mean a wrong feasibility check).
		if errSum < best-1e-12 || errSum > best*1.5+1e-12 {
			t.Errorf("budget %g: allocation %v error %g, exhaustive optimum %g", budget, got, errSum, best)
		}
	}
	// The sensitive layer gets bits first.
	got, _ := Allocate(layers, 2.2)
	if layers[1].Options[got[1]].BitsPerWeight <= layers[0].Options[got[0]].BitsPerWeight {
		t.Errorf("at 2.2 bits the 8× more sensitive fc2 got %v", got)
	}
	if _, err := Allocate([]LayerSensitivity{{Tensor: "w"}}, 2); err == nil {
		t.Error("a layer without options: want an error")
	}
}
