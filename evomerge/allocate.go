package evomerge

import (
	"fmt"
	"math"
)

// LayerOption is one way to store a layer under algorithm auto: a codec and its options
// (Codec "none" keeps it dense), the bits per weight that costs and the layer's measured
// sensitivity to it (compress.Sensitivity: activation-weighted relative error, 0 for none).
type LayerOption struct {
	Codec         string             `json:"codec"`
	Options       map[string]float64 `json:"options,omitempty"`
	BitsPerWeight float64            `json:"bits_per_weight"`
	Error         float64            `json:"error"`
}

// LayerSensitivity is one weight matrix's options, measured.
type LayerSensitivity struct {
	Tensor  string        `json:"tensor"`
	Weights int64         `json:"weights"`
	Options []LayerOption `json:"options"`
}

// Allocate chooses one option per layer so that the layers' mean bits per weight
// (weighted by their sizes) is at most budget, minimizing the sum of the layers' errors:
// every layer starts at its cheapest option, then the upgrade with the largest error
// reduction per extra bit that still fits the budget is taken, until none fits
// (the greedy marginal-gain allocation of rate–distortion bit allocation; on convex
// error-versus-bits curves it is optimal at the budgets it stops at). A budget below
// the cheapest allocation gets the cheapest. Ties go to the earlier layer and option,
// so the result is deterministic. It returns the chosen option index per layer.
func Allocate(layers []LayerSensitivity, budget float64) ([]int, error) {
	choice := make([]int, len(layers))
	var total, bits float64
	for l, ls := range layers {
		if len(ls.Options) == 0 {
			return nil, fmt.Errorf("allocate: layer %s has no options", ls.Tensor)
		}
		best := 0
		for i, o := range ls.Options {
			c := ls.Options[best]
			if o.BitsPerWeight < c.BitsPerWeight || (o.BitsPerWeight == c.BitsPerWeight && o.Error < c.Error) {
				best = i
			}
		}
		choice[l] = best
		total += float64(ls.Weights)
		bits += float64(ls.Weights) * ls.Options[best].BitsPerWeight
	}
	limit := budget * total
	for {
		bestL, bestI, bestGain := -1, -1, 0.0
		for l, ls := range layers {
			cur := ls.Options[choice[l]]
			for i, o := range ls.Options {
				dBits := float64(ls.Weights) * (o.BitsPerWeight - cur.BitsPerWeight)
				dErr := cur.Error - o.Error
				if dBits <= 0 || dErr <= 0 || bits+dBits > limit*(1+1e-12) {
					continue
				}
				if gain := dErr / dBits; gain > bestGain {
					bestL, bestI, bestGain = l, i, gain
				}
			}
		}
		if bestL < 0 {
			return choice, nil
		}
		ls := layers[bestL]
		bits += float64(ls.Weights) * (ls.Options[bestI].BitsPerWeight - ls.Options[choice[bestL]].BitsPerWeight)
		choice[bestL] = bestI
	}
}

// BudgetRange is the smallest and largest mean bits per weight an allocation over
// layers can have.
func BudgetRange(layers []LayerSensitivity) (lo, hi float64) {
	var total float64
	for _, ls := range layers {
		mn, mx := math.Inf(1), 0.0
		for _, o := range ls.Options {
			mn, mx = math.Min(mn, o.BitsPerWeight), math.Max(mx, o.BitsPerWeight)
		}
		lo += float64(ls.Weights) * mn
		hi += float64(ls.Weights) * mx
		total += float64(ls.Weights)
	}
	if total == 0 {
		return 0, 0
	}
	return lo / total, hi / total
}
