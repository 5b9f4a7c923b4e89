package pareto

import (
	"math"
	"strings"
	"testing"
)

var nan = math.NaN()

func TestDominates(t *testing.T) {
	max2 := []Direction{Maximize, Maximize}
	min1 := []Direction{Minimize}
	mixed := []Direction{Maximize, Minimize} // accuracy up, bytes down
	inf := math.Inf(1)
	tests := []struct {
		name string
		a, b []float64
		dirs []Direction
		want bool
	}{
		{"better in both", []float64{2, 2}, []float64{1, 1}, max2, true},
		{"worse in both", []float64{1, 1}, []float64{2, 2}, max2, false},
		{"equal points", []float64{1, 1}, []float64{1, 1}, max2, false},
		{"trade-off", []float64{2, 1}, []float64{1, 2}, max2, false},
		{"better in one, tied in other", []float64{2, 2}, []float64{2, 1}, max2, true},
		{"minimize smaller wins", []float64{1}, []float64{2}, min1, true},
		{"minimize larger loses", []float64{2}, []float64{1}, min1, false},
		{"mixed dominates", []float64{0.9, 10}, []float64{0.8, 12}, mixed, true},
		{"mixed trade-off", []float64{0.9, 12}, []float64{0.8, 10}, mixed, false},
		{"mixed worse bytes only", []float64{0.9, 12}, []float64{0.9, 10}, mixed, false},
		{"signed zeros equal", []float64{0, 1}, []float64{math.Copysign(0, -1), 1}, max2, false},
		{"number beats NaN", []float64{1, 1}, []float64{1, nan}, max2, true},
		{"NaN loses to number", []float64{1, nan}, []float64{1, 1}, max2, false},
		{"NaN equals NaN", []float64{nan, nan}, []float64{nan, nan}, max2, false},
		{"NaN tie, better elsewhere", []float64{nan, 2}, []float64{nan, 1}, max2, true},
		{"-Inf beats NaN when maximizing", []float64{-inf}, []float64{nan}, []Direction{Maximize}, true},
		{"+Inf beats NaN when minimizing", []float64{inf}, []float64{nan}, min1, true},
		{"NaN loses to +Inf when minimizing", []float64{nan}, []float64{inf}, min1, false},
		{"no objectives", []float64{}, []float64{}, []Direction{}, false},
	}
	for _, tc := range tests {
		if got := Dominates(tc.a, tc.b, tc.dirs); got != tc.want {
			t.Errorf("%s: Dominates(%v, %v, %v) = %v, want %v", tc.name, tc.a, tc.b, tc.dirs, got, tc.want)
		}
	}
}

func TestDominatesPanicsOnBadInput(t *testing.T) {
	mustPanic(t, "dirs has 2", func() { Dominates([]float64{1, 2, 3}, []float64{1, 2}, []Direction{Maximize, Maximize}) })
	mustPanic(t, "invalid direction 7", func() { Dominates([]float64{1}, []float64{2}, []Direction{7}) })
	mustPanic(t, "point 1 has 1 objectives, dirs has 2", func() {
		NonDominatedSort([][]float64{{1, 2}, {1}}, []Direction{Maximize, Minimize})
	})
	mustPanic(t, "front index 5 outside points", func() {
		CrowdingDistance([][]float64{{1}}, []int{5}, []Direction{Maximize})
	})
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		msg, _ := r.(string)
		if r == nil || !strings.Contains(msg, want) {
			t.Errorf("panic = %v, want a message containing %q", r, want)
		}
	}()
	f()
}

func TestDirectionString(t *testing.T) {
	if Maximize.String() != "maximize" || Minimize.String() != "minimize" || Direction(9).String() != "Direction(9)" {
		t.Errorf("String: %q %q %q", Maximize, Minimize, Direction(9))
	}
}
