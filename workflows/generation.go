package workflows

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// GenerationInput is one generation's work.
type GenerationInput struct {
	Config     evomerge.Config  `json:"config"`
	Generation int              `json:"generation"`
	Population []evomerge.Model `json:"population"`
	// Front is the run's front so far.
	Front []evomerge.Model `json:"front,omitempty"`
	// MergeInputs are the seed models' refs, in config order, that children merge.
	MergeInputs []store.Ref `json:"merge_inputs"`
	// Reference is the base model's score, for the accuracy gate of uncompressed children.
	Reference bench.Result `json:"reference"`
	// Children is this generation's share of the evaluation budget.
	Children int `json:"children"`
	// Floor is the progressive schedule's compression-strength floor.
	Floor float64 `json:"floor"`
	// Strategy is the search strategy's state; Told the previous generation's children,
	// which it has not been told yet; Seeds normalize their objectives.
	Strategy json.RawMessage  `json:"strategy,omitempty"`
	Told     []evomerge.Model `json:"told,omitempty"`
	Seeds    []evomerge.Model `json:"seeds,omitempty"`
	// Sensitivity is the base model's, under algorithm auto.
	Sensitivity []evomerge.LayerSensitivity `json:"sensitivity,omitempty"`
}

// GenerationResult is the next population, its front, and every child evaluated.
type GenerationResult struct {
	Population []evomerge.Model `json:"population"`
	Front      []evomerge.Model `json:"front"`
	Children   []evomerge.Model `json:"children"`
	// Strategy is the search strategy's state after this generation's Ask.
	Strategy json.RawMessage `json:"strategy,omitempty"`
}

// GenerationProgress is what a generation's `progress` query returns.
type GenerationProgress struct {
	Generation int              `json:"generation"`
	Planned    int              `json:"planned"`
	Done       []evomerge.Model `json:"done"`
}

type generation struct {
	in       GenerationInput
	planned  int
	done     []evomerge.Model
	children []evomerge.Model
}

// GenerationWorkflow asks the search strategy for children, evaluates each one
// (merge → compress → benchmark → gate) with bounded parallelism, and selects the
// next population by Pareto survival over parents ∪ children.
func GenerationWorkflow(ctx workflow.Context, in GenerationInput) (GenerationResult, error) {
	g := &generation{in: in}
	if err := workflow.SetQueryHandler(ctx, "progress", func() (GenerationProgress, error) {
		return GenerationProgress{Generation: in.Generation, Planned: g.planned, Done: g.done}, nil
	}); err != nil {
		return GenerationResult{}, err
	}
	children, err := g.ask(ctx)
	if err != nil {
		return GenerationResult{}, err
	}
	if err := g.evaluateAll(ctx, children.Children); err != nil {
		return GenerationResult{}, err
	}
	res, err := g.selectSurvivors(ctx)
	res.Strategy = children.State
	if err != nil {
		return res, err
	}
	// A finished generation says so in the Web UI's list (histories recorded before
	// this change replay without the update).
	if workflow.GetVersion(ctx, "generation-stage-done", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(StageDone)); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ask tells the search strategy the previous generation's scores and asks it for this
// generation's children.
func (g *generation) ask(ctx workflow.Context) (activities.AskOutput, error) {
	cfg := g.in.Config
	n := g.in.Children
	if n == 0 {
		n = cfg.Evolution.Children
	}
	in := activities.AskInput{
		Config: cfg, Generation: g.in.Generation, Children: n, Floor: g.in.Floor,
		State: g.in.Strategy, Told: g.in.Told, Seeds: g.in.Seeds,
	}
	var out activities.AskOutput
	err := workflow.ExecuteActivity(summarized(shortWork(ctx), fmt.Sprintf("breed generation %d (%s)", g.in.Generation, cfg.Evolution.Strategy)), a.Ask, in).Get(ctx, &out)
	g.planned = len(out.Children)
	workflow.SetCurrentDetails(ctx, g.details())
	return out, err
}

// evaluateAll evaluates every child, at most Parallelism at a time. Results keep
// the children's order whatever order they finish in.
func (g *generation) evaluateAll(ctx workflow.Context, recipes []activities.Child) error {
	g.children = make([]evomerge.Model, len(recipes))
	errs := make([]error, len(recipes))
	sem := workflow.NewSemaphore(ctx, int64(g.in.Config.Evolution.Parallelism))
	wg := workflow.NewWaitGroup(ctx)
	for i := range recipes {
		if err := sem.Acquire(ctx, 1); err != nil {
			return err
		}
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			defer sem.Release(1)
			g.children[i], errs[i] = g.evaluate(ctx, i, recipes[i])
			if isBadRecipe(errs[i]) {
				// This child's recipe is at fault, not the run: reject the child.
				g.children[i] = rejected(g.children[i], errs[i])
				errs[i] = nil
			}
			if errs[i] == nil {
				g.done = append(g.done, g.children[i])
				workflow.SetCurrentDetails(ctx, g.details())
			}
		})
	}
	wg.Wait(ctx)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, c := range g.children {
		if c.Score.Scored() || c.MergedScore.Scored() {
			return nil
		}
	}
	if len(g.children) == 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("generation %d: the search strategy asked for no child", g.in.Generation),
			activities.ErrBadInput, nil)
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("generation %d: every child's recipe failed; the first: %s", g.in.Generation, g.children[0].Gates[0].Detail),
		activities.ErrBadInput, nil)
}

func isBadRecipe(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.ErrBadRecipe
}

// rejected marks a child whose recipe could not be merged: it fails the functional gate
// with the error as the reason, and never enters the front.
func rejected(m evomerge.Model, err error) evomerge.Model {
	m.Accepted = false
	m.Gates = []evomerge.GateResult{{Name: "functional", Enforced: true, Detail: err.Error()}}
	return m
}

// evaluate is one child's pipeline: merge, benchmark the merge, compress it and
// benchmark that when post_merge compression is on, then gate.
func (g *generation) evaluate(ctx workflow.Context, i int, child activities.Child) (evomerge.Model, error) {
	cfg := g.in.Config
	recipe := child.Recipe
	m := evomerge.Model{ID: fmt.Sprintf("g%d-c%02d", g.in.Generation, i), Generation: g.in.Generation, Recipe: &recipe,
		Genome: child.X, Genes: child.Genes}
	if child.Invalid != "" {
		return m, temporal.NewNonRetryableApplicationError("child "+m.ID+": "+child.Invalid, activities.ErrBadRecipe, nil)
	}
	merge := activities.MergeInput{Recipe: recipe, Models: g.in.MergeInputs, BaseIndex: cfg.BaseIndex(), ChildID: m.ID}
	if err := workflow.ExecuteActivity(summarized(heavyWork(ctx, KindMerge), "merge "+m.ID), a.Merge, merge).Get(ctx, &m.Merged); err != nil {
		return m, err
	}
	if err := workflow.ExecuteActivity(summarized(benchmarkWork(ctx, cfg), "benchmark "+m.ID), a.Benchmark, benchmarkInput(cfg, m.Merged, store.Ref{})).Get(ctx, &m.MergedScore); err != nil {
		return m, err
	}
	m.Artifact, m.Score = m.Merged, m.MergedScore
	switch {
	case !cfg.Compression.At(evomerge.StagePostMerge):
	case cfg.Compression.Searched():
		if err := compressPlanAndScore(ctx, cfg, &m, g.in.Sensitivity); err != nil {
			return m, err
		}
	default:
		if _, err := compressAndScore(ctx, cfg, &m, evomerge.StagePostMerge, false); err != nil {
			return m, err
		}
	}
	var gate evomerge.GateOutput
	gin := evomerge.GateInput{Child: m, Compression: cfg.Compression, Gates: cfg.Gates, Reference: g.in.Reference}
	if err := workflow.ExecuteActivity(summarized(shortWork(ctx), "gate "+m.ID), a.Gate, gin).Get(ctx, &gate); err != nil {
		return m, err
	}
	m.Gates, m.Accepted = gate.Gates, gate.Accepted
	return m, nil
}

func (g *generation) selectSurvivors(ctx workflow.Context) (GenerationResult, error) {
	candidates := append(append([]evomerge.Model(nil), g.in.Population...), g.children...)
	in := evomerge.SelectInput{Candidates: candidates, Front: g.in.Front, Objectives: g.in.Config.Objectives, Survivors: g.in.Config.Evolution.Population}
	var sel evomerge.SelectOutput
	if err := workflow.ExecuteActivity(summarized(shortWork(ctx), fmt.Sprintf("select survivors of generation %d", g.in.Generation)), a.Select, in).Get(ctx, &sel); err != nil {
		return GenerationResult{}, err
	}
	return GenerationResult{Population: sel.Population, Front: sel.Front, Children: g.children}, nil
}

// badConfig fails the workflow without retries: the config itself is wrong.
func badConfig(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid run config: "+err.Error(), activities.ErrBadInput, err)
}
