package seedlm

import (
	"fmt"
	"sync"
)

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

// maxBasis is the most values one basis takes: block_size·latent ≤ 32·8.
const maxBasis = 32 * 8

// orbitPad is how many values the orbit repeats after its cycle: a basis (maxBasis)
// plus the projection kernel's overrun (Operator.project reads up to 128 values past
// the last table entry it needs).
const orbitPad = maxBasis + 256

// orbit is the whole cycle of a maximal-length K-bit register, mapped to (−1, 1): every
// nonzero state appears once, so U(seed) for any seed is a window of it.
type orbit struct {
	vals []float32 // the mapped states in cycle order, then the first orbitPad again
	pos  []int32   // pos[s]: index of state s in vals
}

var (
	orbitMu sync.Mutex
	orbits  = map[int]*orbit{}
)

// orbitOf returns (building once per process) the orbit of the K-bit register: 2^K − 1
// steps, at most 65,535 values.
func orbitOf(k int) *orbit {
	orbitMu.Lock()
	defer orbitMu.Unlock()
	if o, ok := orbits[k]; ok {
		return o
	}
	n := 1<<k - 1
	o := &orbit{vals: make([]float32, 0, n+orbitPad), pos: make([]int32, n+1)}
	half := float32(uint32(1) << (k - 1))
	l := NewLFSR(k, 1)
	state := uint32(1)
	for i := range n {
		o.pos[state] = int32(i)
		o.vals = append(o.vals, (float32(state)-half)/half)
		state = l.Next()
	}
	for i := range orbitPad {
		o.vals = append(o.vals, o.vals[i%n])
	}
	orbits[k] = o
	return o
}

// window returns U(seed) as a read-only slice of m values: the m states after seed.
func (o *orbit) window(seed uint32, m int) []float32 {
	start := int(o.pos[seed]) + 1
	return o.vals[start : start+m : start+m]
}

// Basis fills u (C·P values, row-major C×P) with the pseudo-random matrix U(seed): the
// next C·P states of the K-bit register started at seed, each mapped from [1, 2^K − 1]
// to (−1, 1) by u = (v − 2^(K−1)) / 2^(K−1). len(u) must be at most 256.
func Basis(k int, seed uint32, u []float32) {
	if seed == 0 || seed >= 1<<k || len(u) > maxBasis {
		panic(fmt.Sprintf("seedlm.Basis: seed %d of a %d-bit register, %d values", seed, k, len(u)))
	}
	copy(u, orbitOf(k).window(seed, len(u)))
}
