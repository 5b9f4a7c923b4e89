package workflows

import (
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
	// MergeInputs are the seed models' refs, in config order, that children merge.
	MergeInputs []store.Ref `json:"merge_inputs"`
	// Reference is the base model's score, for the accuracy gate of uncompressed children.
	Reference bench.Result `json:"reference"`
}

// GenerationResult is the next population, its front, and every child evaluated.
type GenerationResult struct {
	Population []evomerge.Model `json:"population"`
	Front      []evomerge.Model `json:"front"`
	Children   []evomerge.Model `json:"children"`
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

// GenerationWorkflow breeds children from the population, evaluates each one
// (merge → compress → benchmark → gate) with bounded parallelism, and selects the
// next population by Pareto survival over parents ∪ children.
func GenerationWorkflow(ctx workflow.Context, in GenerationInput) (GenerationResult, error) {
	g := &generation{in: in}
	if err := workflow.SetQueryHandler(ctx, "progress", func() (GenerationProgress, error) {
		return GenerationProgress{Generation: in.Generation, Planned: g.planned, Done: g.done}, nil
	}); err != nil {
		return GenerationResult{}, err
	}
	recipes, err := g.breed(ctx)
	if err != nil {
		return GenerationResult{}, err
	}
	if err := g.evaluateAll(ctx, recipes); err != nil {
		return GenerationResult{}, err
	}
	return g.selectSurvivors(ctx)
}

func (g *generation) breed(ctx workflow.Context) ([]evomerge.Recipe, error) {
	cfg := g.in.Config
	in := activities.BreedInput{
		Seed: cfg.Seed, Generation: g.in.Generation, NumModels: len(cfg.Models), BaseIndex: cfg.BaseIndex(),
		Children: cfg.Evolution.Children, Variation: cfg.Evolution.Variation(), Population: g.in.Population,
	}
	var recipes []evomerge.Recipe
	err := workflow.ExecuteActivity(shortWork(ctx), a.Breed, in).Get(ctx, &recipes)
	g.planned = len(recipes)
	return recipes, err
}

// evaluateAll evaluates every child, at most Parallelism at a time. Results keep
// the children's order whatever order they finish in.
func (g *generation) evaluateAll(ctx workflow.Context, recipes []evomerge.Recipe) error {
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
		if c.Score.Examples > 0 || c.MergedScore.Examples > 0 {
			return nil
		}
	}
	if len(g.children) == 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("generation %d: breeding produced no new child (the variation settings leave no room)", g.in.Generation),
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
func (g *generation) evaluate(ctx workflow.Context, i int, recipe evomerge.Recipe) (evomerge.Model, error) {
	cfg := g.in.Config
	m := evomerge.Model{ID: fmt.Sprintf("g%d-c%02d", g.in.Generation, i), Generation: g.in.Generation, Recipe: &recipe}
	merge := activities.MergeInput{Recipe: recipe, Models: g.in.MergeInputs, BaseIndex: cfg.BaseIndex(), ChildID: m.ID}
	if err := workflow.ExecuteActivity(heavyWork(ctx), a.Merge, merge).Get(ctx, &m.Merged); err != nil {
		return m, err
	}
	if err := workflow.ExecuteActivity(benchmarkWork(ctx), a.Benchmark, activities.BenchmarkInput{Model: m.Merged, Evaluator: cfg.Evaluator}).Get(ctx, &m.MergedScore); err != nil {
		return m, err
	}
	m.Artifact, m.Score = m.Merged, m.MergedScore
	if cfg.Compression.At(evomerge.StagePostMerge) {
		if _, err := compressAndScore(ctx, cfg, &m, evomerge.StagePostMerge, false); err != nil {
			return m, err
		}
	}
	var gate evomerge.GateOutput
	gin := evomerge.GateInput{Child: m, Compression: cfg.Compression, Gates: cfg.Gates, Reference: g.in.Reference}
	if err := workflow.ExecuteActivity(shortWork(ctx), a.Gate, gin).Get(ctx, &gate); err != nil {
		return m, err
	}
	m.Gates, m.Accepted = gate.Gates, gate.Accepted
	return m, nil
}

func (g *generation) selectSurvivors(ctx workflow.Context) (GenerationResult, error) {
	candidates := append(append([]evomerge.Model(nil), g.in.Population...), g.children...)
	in := evomerge.SelectInput{Candidates: candidates, Objectives: g.in.Config.Objectives, Survivors: g.in.Config.Evolution.Population}
	var sel evomerge.SelectOutput
	if err := workflow.ExecuteActivity(shortWork(ctx), a.Select, in).Get(ctx, &sel); err != nil {
		return GenerationResult{}, err
	}
	return GenerationResult{Population: sel.Population, Front: sel.Front, Children: g.children}, nil
}

// badConfig fails the workflow without retries: the config itself is wrong.
func badConfig(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid run config: "+err.Error(), activities.ErrBadInput, err)
}
