package seedlm

import (
	"fmt"
	"math"
	"sync"
)

// Bases holds, for every seed of a K-bit register, the C×P matrix U(seed) and what
// encoding needs of it: an orthonormal basis Q of its column space (for the best
// least-squares error) and its pseudo-inverse (for the best coefficients).
type Bases struct {
	K, C, P int
	U       []float32 // (2^K − 1) × C × P, seed s at index s−1, row-major C×P
	Q       []float32 // (2^K − 1) × P × C: the P orthonormal columns, each C long
	Pinv    []float32 // (2^K − 1) × P × C: (UᵀU)⁻¹Uᵀ
	// Full is false for seeds whose U has (nearly) dependent columns; they are never
	// chosen.
	Full []bool
}

type basesKey struct{ k, c, p int }

var (
	basesMu    sync.Mutex
	basesCache = map[basesKey]*Bases{}
)

// NewBases computes (once per process and shape; later calls share it) the bases of all
// 2^K − 1 seeds for blocks of C weights and P coefficients. Only the encoder uses it,
// with settings New has validated; decoding regenerates U(seed) per block instead.
func NewBases(k, c, p int) *Bases {
	key := basesKey{k, c, p}
	basesMu.Lock()
	defer basesMu.Unlock()
	if b, ok := basesCache[key]; ok {
		return b
	}
	if p < 1 || c < p {
		panic(fmt.Sprintf("seedlm: latent size %d must be in [1, block size %d]", p, c))
	}
	n := 1<<k - 1
	b := &Bases{K: k, C: c, P: p, U: make([]float32, n*c*p), Q: make([]float32, n*p*c),
		Pinv: make([]float32, n*p*c), Full: make([]bool, n)}
	for s := 1; s <= n; s++ {
		u := b.U[(s-1)*c*p : s*c*p]
		Basis(k, uint32(s), u)
		b.Full[s-1] = factor(u, c, p, b.Q[(s-1)*p*c:s*p*c], b.Pinv[(s-1)*p*c:s*p*c])
	}
	basesCache[key] = b
	return b
}

// factor computes, in float64, a thin QR of the C×P matrix u by modified Gram–Schmidt:
// q gets the P orthonormal columns (each C long) and pinv = R⁻¹Qᵀ, the least-squares
// solver. It reports false if a column is (numerically) dependent on earlier ones.
func factor(u []float32, c, p int, q, pinv []float32) bool {
	cols := make([][]float64, p)
	r := make([]float64, p*p) // upper triangular, row-major
	for j := range p {
		v := make([]float64, c)
		for i := range c {
			v[i] = float64(u[i*p+j])
		}
		norm0 := math.Sqrt(dot(v, v))
		for k := range j {
			r[k*p+j] = dot(cols[k], v)
			for i := range c {
				v[i] -= r[k*p+j] * cols[k][i]
			}
		}
		// A column that keeps less than 1% of its length after removing its projection
		// on the earlier ones makes U ill-conditioned (condition number ≳ 100): its
		// least-squares coefficients would be huge and, through the shared exponent
		// base, coarsen every other block. Such seeds (about 0.1%) are never chosen.
		norm := math.Sqrt(dot(v, v))
		if norm <= 1e-2*norm0 || norm == 0 {
			return false
		}
		r[j*p+j] = norm
		for i := range c {
			v[i] /= norm
		}
		cols[j] = v
	}
	for j := range p {
		for i := range c {
			q[j*c+i] = float32(cols[j][i])
		}
	}
	// pinv = R⁻¹Qᵀ: solve R·X = Qᵀ by back substitution, column by column of Qᵀ.
	x := make([]float64, p)
	for i := range c {
		for row := p - 1; row >= 0; row-- {
			s := cols[row][i]
			for k := row + 1; k < p; k++ {
				s -= r[row*p+k] * x[k]
			}
			x[row] = s / r[row*p+row]
		}
		for row := range p {
			pinv[row*c+i] = float32(x[row])
		}
	}
	return true
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
