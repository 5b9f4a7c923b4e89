package evomerge

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/evomerge/evomerge/pareto"
)

// nsga2 is NSGA-II (K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, IEEE TEVC 6(2), 2002)
// with constrained domination (its §V, after Deb 2000) on [0,1]^d:
//
//   - the first Ask gives the initial points, then a Latin hypercube sample;
//   - later Asks breed from the population: parents by binary tournament on constrained
//     rank, then crowding distance (pareto.CrowdedLess); simulated binary crossover of
//     each pair with probability p_c (bounded SBX, index η_c); polynomial mutation of each
//     coordinate with probability p_m (index η_m). A child equal to a population member or
//     an earlier child is mutated again (up to 16 times) rather than evaluated twice;
//   - Tell merges the evaluated children into the population and keeps μ by elitist
//     (μ+λ) survival: constrained non-dominated sort, the last front cut by crowding
//     (pareto.ConstrainedSurvive). So a feasible point always outlives an infeasible one.
//
// μ is StrategyOptions.Population, or the n of the first Ask.
type nsga2 struct {
	strategyBase
	Mu  int               `json:"mu"`
	Pop []stateIndividual `json:"population,omitempty"`
}

func (s *nsga2) Name() string { return StrategyNSGA2 }

func (s *nsga2) State() (json.RawMessage, error) { return json.Marshal(s) }

func (s *nsga2) setMu(n int) {
	if s.Mu == 0 {
		s.Mu = s.Options.Population
		if s.Mu == 0 {
			s.Mu = max(n, 2)
		}
	}
}

func (s *nsga2) Ask(n int) ([][]float64, error) {
	if err := checkAsk(s.Name(), n); err != nil {
		return nil, err
	}
	if n > 0 {
		s.setMu(n)
	}
	rng := s.nextRNG()
	out := s.takePending(n)
	if len(out) == n {
		return out, nil
	}
	if len(s.Pop) == 0 {
		return append(out, latinHypercube(rng, n-len(out), s.Dim)...), nil
	}
	return append(out, s.breed(rng, n-len(out))...), nil
}

func (s *nsga2) Tell(evaluated []Individual) error {
	if err := s.checkTold(evaluated); err != nil {
		return err
	}
	if len(evaluated) == 0 {
		return nil
	}
	s.setMu(len(evaluated))
	s.Pop = toState(nsga2Survive(append(fromState(s.Pop), evaluated...), s.Mu))
	return nil
}

// nsga2Survive keeps mu of all by constrained non-dominated sort and crowding, in order.
func nsga2Survive(all []Individual, mu int) []Individual {
	points, violation, dirs := individualsPoints(all)
	keep := pareto.ConstrainedSurvive(points, violation, dirs, mu)
	pop := make([]Individual, len(keep))
	for j, i := range keep {
		pop[j] = all[i]
	}
	return pop
}

// breed makes n children of the population.
func (s *nsga2) breed(rng *rand.Rand, n int) [][]float64 {
	pop := fromState(s.Pop)
	points, violation, dirs := individualsPoints(pop)
	rank, crowding := pareto.ConstrainedRank(points, violation, dirs)
	// Parents come from binary tournaments over shuffled copies of the population, as in
	// Deb's reference code: each member enters two tournaments per pass over the
	// population, so every member has a chance and the best can win twice.
	var order []int
	pick := func() int {
		if len(pop) == 1 {
			return 0
		}
		if len(order) < 2 {
			order = rng.Perm(len(pop))
		}
		i, j := order[0], order[1]
		order = order[2:]
		if pareto.CrowdedLess(j, i, rank, crowding) {
			return j
		}
		return i
	}
	seen := make(map[string]bool, len(pop)+n)
	for _, ind := range pop {
		seen[pointKey(ind.X)] = true
	}
	o := s.Options
	out := make([][]float64, 0, n)
	for len(out) < n {
		a, b := pop[pick()].X, pop[pick()].X
		c1, c2 := append([]float64(nil), a...), append([]float64(nil), b...)
		if rng.Float64() < o.PCrossover {
			sbx(rng, c1, c2, o.EtaC)
		}
		for _, c := range [][]float64{c1, c2} {
			if len(out) == n {
				break
			}
			polynomialMutation(rng, c, o.EtaM, o.PMutation)
			key := pointKey(c)
			for try := 0; seen[key] && try < 16; try++ {
				k := rng.IntN(len(c))
				c[k] = mutateOne(rng, c[k], o.EtaM)
				key = pointKey(c)
			}
			seen[key] = true
			out = append(out, c)
		}
	}
	return out
}

// sbx is the bounded simulated binary crossover of Deb & Agrawal (1995) as in Deb's
// NSGA-II reference code: each coordinate, with probability ½ and when the parents
// differ, is recombined with a spread drawn so the children stay in [0,1]; the children
// swap the coordinate with probability ½. c1 and c2 are the parents, changed in place.
func sbx(rng *rand.Rand, c1, c2 []float64, eta float64) {
	const eps = 1e-14
	for i := range c1 {
		if rng.Float64() > 0.5 {
			continue
		}
		y1, y2 := c1[i], c2[i]
		if math.Abs(y1-y2) <= eps {
			continue
		}
		if y1 > y2 {
			y1, y2 = y2, y1
		}
		u := rng.Float64()
		betaq := func(beta float64) float64 {
			alpha := 2 - math.Pow(beta, -(eta+1))
			if u <= 1/alpha {
				return math.Pow(u*alpha, 1/(eta+1))
			}
			return math.Pow(1/(2-u*alpha), 1/(eta+1))
		}
		lo := 0.5 * ((y1 + y2) - betaq(1+2*y1/(y2-y1))*(y2-y1))
		hi := 0.5 * ((y1 + y2) + betaq(1+2*(1-y2)/(y2-y1))*(y2-y1))
		lo, hi = clamp(lo, 0, 1), clamp(hi, 0, 1)
		if rng.Float64() <= 0.5 {
			c1[i], c2[i] = hi, lo
		} else {
			c1[i], c2[i] = lo, hi
		}
	}
}

// polynomialMutation mutates each coordinate of x with probability p (Deb & Goyal 1996,
// the bounded form of Deb's NSGA-II reference code).
func polynomialMutation(rng *rand.Rand, x []float64, eta, p float64) {
	for i := range x {
		if rng.Float64() < p {
			x[i] = mutateOne(rng, x[i], eta)
		}
	}
}

// mutateOne is polynomial mutation of one coordinate y in [0,1].
func mutateOne(rng *rand.Rand, y, eta float64) float64 {
	y = clamp(y, 0, 1)
	u := rng.Float64()
	pow := 1 / (eta + 1)
	var dq float64
	if u <= 0.5 {
		v := 2*u + (1-2*u)*math.Pow(1-y, eta+1)
		dq = math.Pow(v, pow) - 1
	} else {
		v := 2*(1-u) + 2*(u-0.5)*math.Pow(y, eta+1)
		dq = 1 - math.Pow(v, pow)
	}
	return clamp(y+dq, 0, 1)
}

// pointKey identifies a point exactly, for duplicate detection.
func pointKey(x []float64) string {
	var b strings.Builder
	for _, v := range x {
		b.WriteString(strconv.FormatUint(math.Float64bits(v), 36))
		b.WriteByte(',')
	}
	return b.String()
}
