package evomerge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// cmaes is CMA-ES with rank-one and rank-μ covariance updates and cumulative step-size
// adaptation, as in N. Hansen, "The CMA Evolution Strategy: A Tutorial" (arXiv:1604.00772,
// 2016), with its default parameters, on a scalarized objective: Σ w_k F_k
// (StrategyOptions.Scalar, default the first objective) plus Penalty per unit of Violation.
// Samples live in R^d; the point asked for is the sample clipped to [0,1]^d, and the value
// the update sees adds the squared distance of the sample from the cube (Hansen's
// repair-and-penalize), so the distribution does not drift outside it. (Reflecting
// instead was tried: with the penalty it makes false optima outside the cube — a run on
// the sphere stalled at f = 0.01 with a mean coordinate at 1.14.) The first distribution is centred on Initial[0]
// (or the centre of the cube) with step size Sigma and C = I.
//
// Why not gonum's optimize.CmaEsChol, which go.mod carries for this: it samples from
// N(m, AAᵀ) without the step size σ, which only scales its updates, so step-size control
// does not act. Driven through its own Minimize on the 8-D sphere of strategy_test.go it
// was at f = 0.059 after 2,000 evaluations and reached 2e-8 only after 50,000; this
// implementation needs about 1,000 (TestCMAESSphere). Driving CmaEsChol synchronously (its
// results pre-queued on a buffered channel, the state replayed from the history told) works,
// but cannot fix its sampling. Here the whole state — mean, σ, C, the evolution paths —
// is plain numbers, so State is exact and restoring needs no replay.
//
// λ is StrategyOptions.Population, or the n of the first Ask (at least 4); μ = ⌊λ/2⌋ with
// log-linear positive weights. Ask(n) draws n samples from the current distribution,
// whatever n is. Tell matches told points to the samples asked for since the last update
// (by exact X); once at least λ of them are told, the distribution is updated from all of
// them (the μ best, weighted) and the samples asked for but not told are forgotten. Told
// points that are not such samples only count for the best-so-far.
type cmaes struct {
	strategyBase
	Lambda int     `json:"lambda"`
	Mean   floats  `json:"mean"`
	Sigma  float64 `json:"sigma"`
	C      floats  `json:"c"` // d×d covariance, row-major
	PC     floats  `json:"pc"`
	PS     floats  `json:"ps"`
	// Updates counts the distribution updates (the generation g of the tutorial).
	Updates int `json:"updates"`
	// Samples are the samples of the current distribution asked for since the last update.
	Samples []cmaesSample `json:"samples,omitempty"`
	// BestSoFar is the best individual told (by Best's rule), nil before the first Tell.
	BestSoFar *stateIndividual `json:"best,omitempty"`

	b, d []float64 // eigendecomposition of C: eigenvectors (columns of b, row-major) and √eigenvalues
}

// cmaesSample is one sample: z ~ N(0, I), the point x = m + σ·B·D·z (before reflection),
// and, once told, the value the update sees.
type cmaesSample struct {
	Z    floats     `json:"z"`
	X    floats     `json:"x"`
	F    stateFloat `json:"f"`
	Told bool       `json:"told,omitempty"`
}

func newCMAES(base strategyBase, initial [][]float64) (*cmaes, error) {
	d := base.Dim
	c := &cmaes{strategyBase: base, Mean: make(floats, d), Sigma: base.Options.Sigma,
		C: make(floats, d*d), PC: make(floats, d), PS: make(floats, d)}
	for i := range d {
		c.Mean[i] = 0.5
		c.C[i*d+i] = 1
	}
	if len(initial) > 0 {
		for i, v := range initial[0] {
			c.Mean[i] = clamp(v, 0, 1)
		}
	}
	return c, c.decompose()
}

func (c *cmaes) Name() string { return StrategyCMAES }

func (c *cmaes) State() (json.RawMessage, error) { return json.Marshal(c) }

// restore checks a restored state and recomputes the eigendecomposition.
func (c *cmaes) restore() error {
	d := c.Dim
	if len(c.Mean) != d || len(c.C) != d*d || len(c.PC) != d || len(c.PS) != d || !(c.Sigma > 0) {
		return errors.New("strategy cmaes: state is inconsistent")
	}
	for _, s := range c.Samples {
		if len(s.Z) != d || len(s.X) != d {
			return errors.New("strategy cmaes: state has a sample of the wrong dimension")
		}
	}
	return c.decompose()
}

// decompose sets b and d from C = B·diag(d²)·Bᵀ.
func (c *cmaes) decompose() error {
	n := c.Dim
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(n, slices.Clone([]float64(c.C))), true) {
		return errors.New("strategy cmaes: eigendecomposition of the covariance failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	c.b = make([]float64, n*n)
	for i := range n {
		for j := range n {
			c.b[i*n+j] = vecs.At(i, j)
		}
	}
	c.d = make([]float64, n)
	for i, v := range vals {
		c.d[i] = math.Sqrt(max(v, 1e-300))
	}
	return nil
}

// params are the tutorial's default strategy parameters for dimension n and λ.
type cmaesParams struct {
	mu                  int
	w                   []float64
	muEff               float64
	cs, ds, cc, c1, cmu float64
	chiN                float64
}

func cmaesDefaults(n, lambda int) cmaesParams {
	p := cmaesParams{mu: max(lambda/2, 1)}
	p.w = make([]float64, p.mu)
	sum := 0.0
	for i := range p.w {
		p.w[i] = math.Log(float64(lambda+1)/2) - math.Log(float64(i+1))
		sum += p.w[i]
	}
	sq := 0.0
	for i := range p.w {
		p.w[i] /= sum
		sq += p.w[i] * p.w[i]
	}
	p.muEff = 1 / sq
	N := float64(n)
	p.cs = (p.muEff + 2) / (N + p.muEff + 5)
	p.ds = 1 + 2*math.Max(0, math.Sqrt((p.muEff-1)/(N+1))-1) + p.cs
	p.cc = (4 + p.muEff/N) / (N + 4 + 2*p.muEff/N)
	p.c1 = 2 / ((N+1.3)*(N+1.3) + p.muEff)
	p.cmu = math.Min(1-p.c1, 2*(p.muEff-2+1/p.muEff)/((N+2)*(N+2)+p.muEff))
	p.chiN = math.Sqrt(N) * (1 - 1/(4*N) + 1/(21*N*N))
	return p
}

func (c *cmaes) Ask(n int) ([][]float64, error) {
	if err := checkAsk(c.Name(), n); err != nil {
		return nil, err
	}
	rng := c.nextRNG()
	if c.Lambda == 0 && n > 0 {
		c.Lambda = c.Options.Population
		if c.Lambda == 0 {
			c.Lambda = max(n, 4)
		}
	}
	d := c.Dim
	out := make([][]float64, n)
	for k := range out {
		z := make(floats, d)
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		x := make(floats, d)
		for i := range d {
			s := 0.0
			for j := range d {
				s += c.b[i*d+j] * c.d[j] * z[j]
			}
			x[i] = c.Mean[i] + c.Sigma*s
		}
		c.Samples = append(c.Samples, cmaesSample{Z: z, X: x})
		out[k] = clipUnit(x)
	}
	return out, nil
}

func (c *cmaes) Tell(evaluated []Individual) error {
	if err := c.checkTold(evaluated); err != nil {
		return err
	}
	for _, ind := range evaluated {
		if best := c.best(); best == nil || preferred(ind, *best, c.Options.Scalar) {
			s := toState([]Individual{ind})[0]
			c.BestSoFar = &s
		}
		for j := range c.Samples {
			s := &c.Samples[j]
			if s.Told || !slices.Equal(clipUnit(s.X), ind.X) {
				continue
			}
			f := scalarize(ind.F, c.Options.Scalar) + c.Options.Penalty*violationOf(ind)
			if math.IsNaN(f) {
				f = math.Inf(1)
			}
			s.F, s.Told = stateFloat(f+outsideUnit(s.X)), true
			break
		}
	}
	told := 0
	for _, s := range c.Samples {
		if s.Told {
			told++
		}
	}
	if c.Lambda > 0 && told >= c.Lambda {
		return c.update()
	}
	return nil
}

// update moves the distribution by the told samples (Hansen 2016, eqs. 39–47 with
// positive weights only) and forgets the current samples.
func (c *cmaes) update() error {
	n := c.Dim
	var told []cmaesSample
	for _, s := range c.Samples {
		if s.Told {
			told = append(told, s)
		}
	}
	sort.SliceStable(told, func(i, j int) bool { return float64(told[i].F) < float64(told[j].F) })
	p := cmaesDefaults(n, c.Lambda)
	mu := min(p.mu, len(told))
	// y_i = (x_i − m)/σ = B·D·z_i; y_w = Σ w_i y_i; z_w = Σ w_i z_i, so C^(−1/2)·y_w = B·z_w.
	ys := make([][]float64, mu)
	yw := make([]float64, n)
	zw := make([]float64, n)
	for i := range mu {
		ys[i] = make([]float64, n)
		for k := range n {
			ys[i][k] = (told[i].X[k] - c.Mean[k]) / c.Sigma
			yw[k] += p.w[i] * ys[i][k]
			zw[k] += p.w[i] * told[i].Z[k]
		}
	}
	for k := range n {
		c.Mean[k] += c.Sigma * yw[k]
	}
	// p_σ ← (1−c_σ)p_σ + √(c_σ(2−c_σ)μ_eff)·C^(−1/2)·y_w
	a := math.Sqrt(p.cs * (2 - p.cs) * p.muEff)
	for i := range n {
		s := 0.0
		for j := range n {
			s += c.b[i*n+j] * zw[j]
		}
		c.PS[i] = (1-p.cs)*c.PS[i] + a*s
	}
	normPS := 0.0
	for _, v := range c.PS {
		normPS += v * v
	}
	normPS = math.Sqrt(normPS)
	c.Updates++
	hs := 0.0
	if normPS/math.Sqrt(1-math.Pow(1-p.cs, float64(2*c.Updates))) < (1.4+2/float64(n+1))*p.chiN {
		hs = 1
	}
	ac := math.Sqrt(p.cc * (2 - p.cc) * p.muEff)
	for i := range n {
		c.PC[i] = (1-p.cc)*c.PC[i] + hs*ac*yw[i]
	}
	dh := (1 - hs) * p.cc * (2 - p.cc)
	wsum := 0.0
	for _, w := range p.w[:mu] {
		wsum += w
	}
	keep := 1 + p.c1*dh - p.c1 - p.cmu*wsum
	for i := range n {
		for j := i; j < n; j++ {
			v := keep*c.C[i*n+j] + p.c1*c.PC[i]*c.PC[j]
			for k := range mu {
				v += p.cmu * p.w[k] * ys[k][i] * ys[k][j]
			}
			c.C[i*n+j], c.C[j*n+i] = v, v
		}
	}
	c.Sigma *= math.Exp(math.Min(1, (p.cs/p.ds)*(normPS/p.chiN-1)))
	if math.IsNaN(c.Sigma) || math.IsInf(c.Sigma, 0) || c.Sigma <= 0 {
		return fmt.Errorf("strategy cmaes: step size became %g", c.Sigma)
	}
	c.Samples = nil
	return c.decompose()
}

func (c *cmaes) best() *Individual {
	if c.BestSoFar == nil {
		return nil
	}
	b := fromState([]stateIndividual{*c.BestSoFar})[0]
	return &b
}

// clipUnit is x clipped to [0,1]^d.
func clipUnit(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = clamp(v, 0, 1)
	}
	return out
}

// outsideUnit is the squared distance from x to [0,1]^d.
func outsideUnit(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		switch {
		case v < 0:
			s += v * v
		case v > 1:
			s += (v - 1) * (v - 1)
		}
	}
	return s
}
