package seedlm

import (
	"math"
	"testing"
)

// Every width's register visits all 2^K − 1 nonzero states before it repeats.
func TestLFSRPeriods(t *testing.T) {
	for k := 4; k <= 16; k++ {
		l := NewLFSR(k, 1)
		seen := make([]bool, 1<<k)
		period := 0
		for {
			s := l.Next()
			period++
			if s == 0 || s >= 1<<k {
				t.Fatalf("K=%d: state %d out of range", k, s)
			}
			if s == 1 {
				break
			}
			if seen[s] {
				t.Fatalf("K=%d: state %d repeats after %d steps, before returning to the seed", k, s, period)
			}
			seen[s] = true
		}
		if period != 1<<k-1 {
			t.Errorf("K=%d: period %d, want %d", k, period, 1<<k-1)
		}
	}
}

func TestLFSRHandSteps(t *testing.T) {
	// K=4, taps 4 and 3 (mask 0b1100), from 0b0001: feedback = bit3 ^ bit2.
	// 0001 → 0010 → 0100 → 1001 (fb 1) → 0011 (fb 1: bit3=1) → 0110 → 1101 (fb 1).
	l := NewLFSR(4, 1)
	want := []uint32{0b0010, 0b0100, 0b1001, 0b0011, 0b0110, 0b1101}
	for i, w := range want {
		if got := l.Next(); got != w {
			t.Fatalf("step %d: %04b, want %04b", i+1, got, w)
		}
	}
}

func TestBasisMapsStatesIntoTheOpenInterval(t *testing.T) {
	u := make([]float32, 24)
	Basis(4, 1, u)
	// First state 0b0010 = 2: (2 − 8)/8 = −0.75.
	if u[0] != -0.75 {
		t.Errorf("u[0] = %v, want -0.75", u[0])
	}
	for _, x := range u {
		if !(x > -1 && x < 1) || math.IsNaN(float64(x)) {
			t.Errorf("basis value %v outside (−1, 1)", x)
		}
	}
}

// The tabulated orbit gives the same matrices as running the register from the seed,
// also when a basis is longer than the period (K = 4: 15 states, 256 values).
func TestBasisFromOrbitMatchesTheRegister(t *testing.T) {
	for _, k := range []int{4, 7, 12, 16} {
		for _, seed := range []uint32{1, 2, 5, uint32(1<<k - 1), uint32(1<<k) / 3} {
			for _, m := range []int{1, 24, 256} {
				u := make([]float32, m)
				Basis(k, seed, u)
				l := NewLFSR(k, seed)
				half := float32(uint32(1) << (k - 1))
				for i := range m {
					if want := (float32(l.Next()) - half) / half; u[i] != want {
						t.Fatalf("K=%d seed %d: u[%d] = %v, the register gives %v", k, seed, i, u[i], want)
					}
				}
			}
		}
	}
}
