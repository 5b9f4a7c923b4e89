package seedlm

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Candidates is how many seeds, the best by unquantized least-squares error, each block
// tries with quantized coefficients.
const Candidates = 16

// ExpCodes is the number of shared-exponent codes (4 bits): a block's coefficients are
// q·2^(ExpBase+code), code in [0, 15].
const ExpCodes = 16

// Layout is what a decoder needs besides the stored tensors: the metadata entry
// "<name>.seedlm", as JSON.
type Layout struct {
	Rows      int `json:"rows"`
	Cols      int `json:"cols"`
	BlockSize int `json:"block_size"` // C: weights per block, along a row
	Latent    int `json:"latent"`     // P: coefficients per block
	SeedBits  int `json:"seed_bits"`  // K: LFSR width
	CoefBits  int `json:"coef_bits"`  // two's-complement bits per coefficient
	ExpBase   int `json:"exp_base"`   // exponent of code 0
	// Kept is the number of blocks stored; the others were pruned (see the mask).
	Kept   int  `json:"kept"`
	Pruned bool `json:"pruned"`
}

// blocksPerRow is the number of blocks covering one row (the last one zero-padded).
func (l Layout) blocksPerRow() int { return (l.Cols + l.BlockSize - 1) / l.BlockSize }

// Quantized is one SeedLM-compressed matrix in memory.
type Quantized struct {
	Layout
	Mask  []bool   // per block (row-major: row r's blocks are r·blocksPerRow …), nil if nothing was pruned
	Seeds []uint16 // per kept block, in [1, 2^K − 1]
	Exps  []uint16 // per kept block, the exponent code
	Coefs []int8   // per kept block, Latent coefficients
}

// Quantize compresses the rows×cols row-major matrix w (finite values of magnitude at
// most 1e25) with s. It panics if len(w) ≠ rows·cols or s is invalid (see New).
func Quantize(w []float32, rows, cols int, s Settings) *Quantized {
	if rows < 1 || cols < 1 || len(w) != rows*cols {
		panic(fmt.Sprintf("seedlm.Quantize: %d weights for a %d×%d matrix", len(w), rows, cols))
	}
	if err := s.validate(); err != nil {
		panic(err.Error())
	}
	c, p := s.BlockSize, s.Latent
	q := &Quantized{Layout: Layout{Rows: rows, Cols: cols, BlockSize: c, Latent: p, SeedBits: s.SeedBits, CoefBits: s.CoefBits}}
	bases := NewBases(s.SeedBits, c, p)
	nb := rows * q.blocksPerRow()
	blocks := make([]float32, nb*c)
	for r := range rows {
		for col := range cols {
			b := r*q.blocksPerRow() + col/c
			blocks[b*c+col%c] = w[r*cols+col]
		}
	}

	// Structured pruning: drop the ⌊prune·blocks⌋ blocks of smallest norm (a stable sort:
	// of equal norms, the earlier block goes first). The epsilon keeps 0.29·100 at 29.
	kept := make([]int, 0, nb)
	if drop := int(math.Floor(s.Prune*float64(nb) + 1e-9)); drop > 0 {
		order := make([]int, nb)
		norms := make([]float64, nb)
		for b := range nb {
			order[b] = b
			for _, x := range blocks[b*c : b*c+c] {
				norms[b] += float64(x) * float64(x)
			}
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(norms[a], norms[b]) })
		q.Mask = make([]bool, nb)
		for _, b := range order[drop:] {
			q.Mask[b] = true
		}
		for b, ok := range q.Mask {
			if ok {
				kept = append(kept, b)
			}
		}
		q.Pruned = true
	} else {
		for b := range nb {
			kept = append(kept, b)
		}
	}
	q.Kept = len(kept)

	// Pass 1: each kept block's best seeds by unquantized error, and the exponent its
	// best one needs; the largest need fixes the exponent range.
	cands := make([]uint16, len(kept)*Candidates)
	need := make([]int, len(kept))
	qmax := float64(int(1)<<(s.CoefBits-1) - 1)
	eachChunk(len(kept), func(i int) {
		blk := blocks[kept[i]*c : kept[i]*c+c]
		top := cands[i*Candidates : (i+1)*Candidates]
		bestSeeds(bases, blk, top)
		t := make([]float64, p)
		solve(bases, int(top[0]), blk, t)
		need[i] = exponentFor(t, qmax)
	})
	q.ExpBase = math.MinInt32
	for _, e := range need {
		q.ExpBase = max(q.ExpBase, e)
	}
	if q.ExpBase == math.MinInt32 {
		q.ExpBase = 0 // every block is zero
	}
	// Weights bounded by maxWeight keep this below maxExpBase; weights so small that it
	// falls below minExpBase round to zero at any exponent float32 has.
	q.ExpBase = max(q.ExpBase-(ExpCodes-1), minExpBase)

	// Pass 2: quantize each candidate's coefficients and keep the seed with the least
	// error after quantization (ties: the smaller seed).
	q.Seeds = make([]uint16, len(kept))
	q.Exps = make([]uint16, len(kept))
	q.Coefs = make([]int8, len(kept)*p)
	eachChunk(len(kept), func(i int) {
		blk := blocks[kept[i]*c : kept[i]*c+c]
		t := make([]float64, p)
		qi := make([]int8, p)
		best := math.Inf(1)
		for _, seed := range cands[i*Candidates : (i+1)*Candidates] {
			if seed == 0 {
				continue
			}
			solve(bases, int(seed), blk, t)
			code := min(max(exponentFor(t, qmax)-q.ExpBase, 0), ExpCodes-1)
			scale := math.Ldexp(1, q.ExpBase+code)
			for j := range p {
				qi[j] = int8(min(max(math.RoundToEven(t[j]/scale), -qmax-1), qmax))
			}
			err := blockError(bases, int(seed), blk, qi, scale)
			if err < best || (err == best && seed < q.Seeds[i]) {
				best = err
				q.Seeds[i], q.Exps[i] = seed, uint16(code)
				copy(q.Coefs[i*p:(i+1)*p], qi)
			}
		}
	})
	return q
}

// bestSeeds fills top with the seeds of full-rank bases whose column space is closest to
// blk (largest ‖Qᵀ·blk‖², which minimizes the least-squares error ‖blk‖² − ‖Qᵀ·blk‖²),
// best first; ties go to the smaller seed. Unused places stay 0.
func bestSeeds(b *Bases, blk []float32, top []uint16) {
	c, p := b.C, b.P
	scores := make([]float32, len(top))
	for i := range scores {
		scores[i] = -1
	}
	clear(top)
	for s := 1; s < 1<<b.K; s++ {
		if !b.Full[s-1] {
			continue
		}
		qs := b.Q[(s-1)*p*c : s*p*c]
		var score float32
		for j := range p {
			col := qs[j*c : j*c+c]
			var d float32
			for i, x := range blk {
				d += col[i] * x
			}
			score += d * d
		}
		if score <= scores[len(scores)-1] {
			continue
		}
		// Insert, keeping scores descending (an equal score stays behind: smaller seed first).
		k := len(scores) - 1
		for k > 0 && scores[k-1] < score {
			scores[k], top[k] = scores[k-1], top[k-1]
			k--
		}
		scores[k], top[k] = score, uint16(s)
	}
}

// solve sets t to the least-squares coefficients of blk on U(seed).
func solve(b *Bases, seed int, blk []float32, t []float64) {
	c, p := b.C, b.P
	pinv := b.Pinv[(seed-1)*p*c : seed*p*c]
	for j := range p {
		var s float64
		for i, x := range blk {
			s += float64(pinv[j*c+i]) * float64(x)
		}
		t[j] = s
	}
}

// exponentFor is the smallest e for which every t rounds to at most qmax in magnitude
// at scale 2^e, max|t|/2^e < qmax + ½ (MinInt32 if t is zero). Decided on the quotient
// itself, not on a logarithm that rounding could push across an integer.
func exponentFor(t []float64, qmax float64) int {
	var m float64
	for _, x := range t {
		m = max(m, math.Abs(x))
	}
	if m == 0 {
		return math.MinInt32
	}
	limit := qmax + 0.5
	e := int(math.Ceil(math.Log2(m / limit)))
	for m/math.Ldexp(1, e) >= limit {
		e++
	}
	for m/math.Ldexp(1, e-1) < limit {
		e--
	}
	return e
}

// blockError is ‖blk − scale·U(seed)·q‖².
func blockError(b *Bases, seed int, blk []float32, q []int8, scale float64) float64 {
	c, p := b.C, b.P
	u := b.U[(seed-1)*c*p : seed*c*p]
	var e float64
	for i, x := range blk {
		var r float64
		for j := range p {
			r += float64(u[i*p+j]) * float64(q[j])
		}
		d := float64(x) - scale*r
		e += d * d
	}
	return e
}

// eachChunk runs f(0..n-1) on up to GOMAXPROCS goroutines. Every f(i) is independent,
// so the result does not depend on the core count.
func eachChunk(n int, f func(int)) {
	const chunk = 256
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ch := range next {
				for i := ch * chunk; i < min(n, (ch+1)*chunk); i++ {
					f(i)
				}
			}
		})
	}
	for ch := range chunks {
		next <- ch
	}
	close(next)
	wg.Wait()
}
