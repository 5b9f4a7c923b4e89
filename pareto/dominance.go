package pareto

import (
	"fmt"
	"math"
)

// Direction says whether larger or smaller values of an objective are better.
type Direction int

const (
	// Maximize: larger values are better (accuracy, speed-up).
	Maximize Direction = iota
	// Minimize: smaller values are better (bytes, latency, loss).
	Minimize
)

// String returns "maximize" or "minimize".
func (d Direction) String() string {
	switch d {
	case Maximize:
		return "maximize"
	case Minimize:
		return "minimize"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Objective names one objective and its direction (used by callers for reporting).
type Objective struct {
	Name      string
	Direction Direction
}

// Dominates reports whether a Pareto-dominates b under dirs: a is no worse than b in every
// objective and strictly better in at least one. NaN is worse than any number (including
// -Inf when maximizing and +Inf when minimizing); two NaNs are equal. Equal points do not
// dominate each other.
//
// Dominates panics if len(a) or len(b) differs from len(dirs), or if dirs holds a value
// other than Maximize or Minimize.
func Dominates(a, b []float64, dirs []Direction) bool {
	checkDirs(dirs)
	if len(a) != len(dirs) || len(b) != len(dirs) {
		panic(fmt.Sprintf("pareto: Dominates: points have %d and %d objectives, dirs has %d", len(a), len(b), len(dirs)))
	}
	better := false
	for k, d := range dirs {
		switch compare(a[k], b[k], d) {
		case -1:
			return false
		case 1:
			better = true
		}
	}
	return better
}

// compare returns +1 if x is better than y under d, -1 if worse, 0 if equally good.
func compare(x, y float64, d Direction) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return -1
	case yn:
		return 1
	case x == y:
		return 0
	case (x > y) == (d == Maximize):
		return 1
	}
	return -1
}

// checkDirs panics if dirs holds an unknown Direction.
func checkDirs(dirs []Direction) {
	for k, d := range dirs {
		if d != Maximize && d != Minimize {
			panic(fmt.Sprintf("pareto: objective %d has invalid direction %d (want Maximize or Minimize)", k, int(d)))
		}
	}
}

// checkPoints panics unless every point has exactly len(dirs) objectives and every
// direction is valid.
func checkPoints(points [][]float64, dirs []Direction) {
	checkDirs(dirs)
	for i, p := range points {
		if len(p) != len(dirs) {
			panic(fmt.Sprintf("pareto: point %d has %d objectives, dirs has %d", i, len(p), len(dirs)))
		}
	}
}

// orderedKeys copies points into one flat row-major slice of int64 keys whose integer
// order is the preference order of each objective: larger is better. Minimized objectives
// are negated, -0 is folded onto +0, and NaN maps to math.MinInt64, below the key of -Inf,
// so NaN is worse than every number. Integer keys keep the O(N²) pair loop of the
// non-dominated sort free of direction and NaN branches.
func orderedKeys(points [][]float64, dirs []Direction) []int64 {
	m := len(dirs)
	keys := make([]int64, len(points)*m)
	for i, p := range points {
		row := keys[i*m : (i+1)*m]
		for k, d := range dirs {
			v := p[k]
			if d == Minimize {
				v = -v
			}
			row[k] = orderedKey(v)
		}
	}
	return keys
}

// orderedKey maps a float64 to an int64 that sorts the same way (NaN lowest).
func orderedKey(v float64) int64 {
	if math.IsNaN(v) {
		return math.MinInt64
	}
	if v == 0 {
		v = 0 // -0 == +0
	}
	b := int64(math.Float64bits(v))
	if b < 0 {
		// Negative floats: the raw bits grow with the magnitude; flipping all but the
		// sign bit reverses that, and leaves -Inf at MinInt64 + 2^52 - 1 > MinInt64.
		b ^= math.MaxInt64
	}
	return b
}

// relation compares two rows of ordered keys and reports whether a is strictly better
// than b in some objective and whether b is strictly better than a in some objective.
// The comparisons are accumulated without branches: on scattered scores they would be
// mispredicted about half the time.
func relation(a, b []int64) (aBetter, bBetter bool) {
	b = b[:len(a)]
	var ab, bb uint8
	for k, x := range a {
		y := b[k]
		ab |= bit(x > y)
		bb |= bit(x < y)
	}
	return ab != 0, bb != 0
}

// bit converts a bool to 0 or 1; the compiler lowers it to a SETcc instruction.
func bit(c bool) uint8 {
	if c {
		return 1
	}
	return 0
}
