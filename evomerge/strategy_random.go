package evomerge

import "encoding/json"

// randomSearch is the baseline: the initial points, then points drawn uniformly from
// [0,1]^d, whatever it is told. It keeps the front of everything told (the members no
// other told point constrained-dominates), so its best trade-offs are at hand without
// the state growing with the budget.
type randomSearch struct {
	strategyBase
	Front []stateIndividual `json:"front,omitempty"`
}

func (s *randomSearch) Name() string { return StrategyRandom }

func (s *randomSearch) State() (json.RawMessage, error) { return json.Marshal(s) }

func (s *randomSearch) Ask(n int) ([][]float64, error) {
	if err := checkAsk(s.Name(), n); err != nil {
		return nil, err
	}
	rng := s.nextRNG()
	out := s.takePending(n)
	return append(out, uniformPoints(rng, n-len(out), s.Dim)...), nil
}

func (s *randomSearch) Tell(evaluated []Individual) error {
	if err := s.checkTold(evaluated); err != nil {
		return err
	}
	if len(evaluated) == 0 {
		return nil
	}
	s.Front = toState(ParetoFront(append(fromState(s.Front), evaluated...)))
	return nil
}

// archive is the front of everything told so far.
func (s *randomSearch) archive() []Individual { return fromState(s.Front) }
