package pareto

import (
	"fmt"
	"math"
	"testing"
)

func TestCrowdingDistanceHandComputed(t *testing.T) {
	// Minimize both. Points 5 and 6 are not in the front and must be ignored.
	pts := [][]float64{{1, 9}, {2, 7}, {4, 4}, {7, 2}, {10, 1}, {50, 50}, {-100, 100}}
	dirs := []Direction{Minimize, Minimize}
	front := []int{3, 0, 4, 1, 2} // deliberately not sorted: output is aligned with front
	// Objective 1 (range 10-1 = 9), sorted 0,1,2,3,4:
	//   d1 += (4-1)/9, d2 += (7-2)/9, d3 += (10-4)/9
	// Objective 2 (range 9-1 = 8), sorted 4,3,2,1,0:
	//   d3 += (4-1)/8, d2 += (7-2)/8, d1 += (9-4)/8
	// d1 = 1/3+5/8 = 23/24, d2 = 5/9+5/8 = 85/72, d3 = 2/3+3/8 = 25/24; 0 and 4 are boundaries.
	inf := math.Inf(1)
	want := []float64{25.0 / 24, inf, inf, 23.0 / 24, 85.0 / 72}
	got := CrowdingDistance(pts, front, dirs)
	for j := range want {
		if !approxEqual(got[j], want[j]) {
			t.Errorf("point %d: distance %v, want %v", front[j], got[j], want[j])
		}
	}
}

func TestCrowdingDistanceDegenerate(t *testing.T) {
	inf := math.Inf(1)
	max2 := []Direction{Maximize, Maximize}
	tests := []struct {
		name  string
		pts   [][]float64
		front []int
		want  []float64
	}{
		{"empty front", [][]float64{{1, 1}}, nil, []float64{}},
		{"single point", [][]float64{{1, 1}}, []int{0}, []float64{0}},
		{"identical points", [][]float64{{1, 1}, {1, 1}, {1, 1}}, []int{0, 1, 2}, []float64{0, 0, 0}},
		// Objective 2 is constant and contributes nothing; objective 1 is a 3-point line.
		{"one constant objective", [][]float64{{0, 5}, {1, 5}, {4, 5}}, []int{0, 1, 2}, []float64{inf, 1, inf}},
		// Ties at the extremes: value then index picks 0 as the low end and 3 as the high
		// end of objective 1; objective 2 is constant.
		{"tied extremes", [][]float64{{2, 0}, {2, 0}, {5, 0}, {5, 0}}, []int{0, 1, 2, 3}, []float64{inf, 1, 1, inf}},
		// NaN in objective 1 drops point 1 from that ordering: 0 and 2 are its ends, 3 interior.
		{"NaN excluded", [][]float64{{0, 1}, {math.NaN(), 1}, {4, 1}, {1, 1}}, []int{0, 1, 2, 3}, []float64{inf, 0, inf, 1}},
		// Infinite range: ends are boundaries, interior gets 0 instead of NaN.
		{"infinite value", [][]float64{{0, 1}, {1, 1}, {inf, 1}}, []int{0, 1, 2}, []float64{inf, 0, inf}},
	}
	for _, tc := range tests {
		got := CrowdingDistance(tc.pts, tc.front, max2)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for j := range got {
			if !approxEqual(got[j], tc.want[j]) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func BenchmarkCrowdingDistance(b *testing.B) {
	for _, m := range []int{2, 3} {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("M=%d/N=%d", m, n), func(b *testing.B) {
				pts := uniformPoints(n, m, 2)
				front := make([]int, n)
				for i := range front {
					front[i] = i
				}
				dirs := make([]Direction, m)
				for b.Loop() {
					CrowdingDistance(pts, front, dirs)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}
