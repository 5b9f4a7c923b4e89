package seedlm

import "fmt"

// taps lists, for register widths 4–16, the feedback taps (1-based bit positions) of a
// maximal-length Fibonacci LFSR (Xilinx application note XAPP052, "Efficient Shift
// Registers, LFSR Counters, and Long Pseudo-Random Sequence Generators", table 3): from
// any nonzero state it cycles through all 2^K − 1 nonzero states. TestLFSRPeriods checks
// every width.
var taps = map[int][]int{
	4: {4, 3}, 5: {5, 3}, 6: {6, 5}, 7: {7, 6}, 8: {8, 6, 5, 4}, 9: {9, 5}, 10: {10, 7},
	11: {11, 9}, 12: {12, 6, 4, 1}, 13: {13, 4, 3, 1}, 14: {14, 5, 3, 1}, 15: {15, 14},
	16: {16, 15, 13, 4},
}

// LFSR is a K-bit Fibonacci linear feedback shift register.
type LFSR struct {
	k     int
	mask  uint32 // the taps as a bit mask (tap i is bit i−1)
	state uint32
}

// NewLFSR returns the K-bit register (4 ≤ K ≤ 16) started at seed, which must be in
// [1, 2^K − 1].
func NewLFSR(k int, seed uint32) *LFSR {
	t, ok := taps[k]
	if !ok {
		panic(fmt.Sprintf("seedlm: no LFSR of %d bits (4–16)", k))
	}
	if seed == 0 || seed >= 1<<k {
		panic(fmt.Sprintf("seedlm: LFSR seed %d outside [1, %d]", seed, 1<<k-1))
	}
	var m uint32
	for _, b := range t {
		m |= 1 << (b - 1)
	}
	return &LFSR{k: k, mask: m, state: seed}
}

// Next advances the register one step and returns the new state, in [1, 2^K − 1]: the
// state shifts left by one and the parity of the tapped bits enters at bit 0.
func (l *LFSR) Next() uint32 {
	fb := parity(l.state & l.mask)
	l.state = (l.state<<1 | fb) & (1<<l.k - 1)
	return l.state
}

func parity(x uint32) uint32 {
	x ^= x >> 16
	x ^= x >> 8
	x ^= x >> 4
	x ^= x >> 2
	x ^= x >> 1
	return x & 1
}

// Basis fills u (C·P values, row-major C×P) with the pseudo-random matrix U(seed): the
// next C·P states of the K-bit register started at seed, each mapped from [1, 2^K − 1]
// to (−1, 1) by u = (v − 2^(K−1)) / 2^(K−1).
func Basis(k int, seed uint32, u []float32) {
	l := NewLFSR(k, seed)
	half := float32(uint32(1) << (k - 1))
	for i := range u {
		u[i] = (float32(l.Next()) - half) / half
	}
}
