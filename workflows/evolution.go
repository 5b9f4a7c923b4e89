package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// ErrNoModelPassed is the failure type of a run that ended with no model through its
// gates. Same config, same seed, same result: running it again ends the same way.
const ErrNoModelPassed = "NoModelPassed"

// Stages of a run, as EvoStage shows them.
const (
	StageIngest = "ingest"
	StageEvolve = "evolve"
	StageFinal  = "final"
	StageReport = "report"
	StageDone   = "done"
	// StagePaused: between generations, waiting for the resume (or stop) update.
	StagePaused = "paused"
)

// Update names: `evomerge pause|resume|stop RUN`, or `temporal workflow update execute
// --name pause --workflow-id RUN`.
const (
	UpdatePause  = "pause"
	UpdateResume = "resume"
	UpdateStop   = "stop"
)

// RunInput is the EvolutionWorkflow's input: the run config and, when the run is
// carried across continue-as-new, its state so far.
type RunInput struct {
	Config evomerge.Config `json:"config"`
	State  *RunState       `json:"state,omitempty"`
}

// RunState is everything a run knows between generations: a plain value.
type RunState struct {
	Stage       string           `json:"stage"`
	Generation  int              `json:"generation"` // generations completed
	Seeds       []evomerge.Model `json:"seeds"`
	MergeInputs []store.Ref      `json:"merge_inputs"`
	Population  []evomerge.Model `json:"population"`
	Front       []evomerge.Model `json:"front"`
	// Rejected are front members that failed the final gates.
	Rejected    []evomerge.Model  `json:"rejected,omitempty"`
	BestMerge   *evomerge.Model   `json:"best_merge,omitempty"`
	Evaluations int               `json:"evaluations"`
	StartedAt   time.Time         `json:"started_at"`
	History     []GenerationStats `json:"history"`
	// Children are the deployed objectives of every child evaluated so far (the report's
	// front plot draws them).
	Children []evomerge.PlotPoint `json:"children,omitempty"`
	// Spent counts the children evaluated against evolution.budget.
	Spent int `json:"spent"`
	// Strategy is the search strategy's state; Told the last generation's children, which
	// the strategy is told at the next generation's Ask.
	Strategy json.RawMessage  `json:"strategy,omitempty"`
	Told     []evomerge.Model `json:"told,omitempty"`
	// Sensitivity is the base model's measured sensitivity per layer and codec setting,
	// under algorithm auto.
	Sensitivity []evomerge.LayerSensitivity `json:"sensitivity,omitempty"`
	// StoppedEarly says the run ended by evolution.early_stop.
	StoppedEarly bool `json:"stopped_early,omitempty"`
	// Paused holds the run between generations until resumed; Stopping ends it after
	// the current generation (then the final stage and the report), by the stop update.
	Paused   bool `json:"paused,omitempty"`
	Stopping bool `json:"stopping,omitempty"`
}

// GenerationStats summarizes one finished generation.
type GenerationStats struct {
	Generation     int     `json:"generation"`
	Children       int     `json:"children"`
	Accepted       int     `json:"accepted"`
	FrontSize      int     `json:"front_size"`
	BestScore      float64 `json:"best_score"`
	BestID         string  `json:"best_id"`
	BestMergeScore float64 `json:"best_merge_score"`
	BestMergeID    string  `json:"best_merge_id"`
	// Hypervolume of the front, normalized against the seeds (evomerge.FrontHypervolume).
	Hypervolume     float64 `json:"hypervolume"`
	DurationSeconds float64 `json:"duration_seconds"`
	// Floor is the progressive schedule's strength floor; MeanStrength the mean strength
	// of the generation's compressed layer groups (0 when none was compressed).
	Floor        float64 `json:"floor,omitempty"`
	MeanStrength float64 `json:"mean_strength,omitempty"`
}

// Progress is what the `progress` query returns.
type Progress struct {
	Run         string            `json:"run"`
	Stage       string            `json:"stage"`
	Generation  int               `json:"generation"`
	Generations int               `json:"generations"`
	Evaluations int               `json:"evaluations"`
	Seeds       []evomerge.Model  `json:"seeds"`
	Front       []evomerge.Model  `json:"front"`
	BestMerge   *evomerge.Model   `json:"best_merge,omitempty"`
	History     []GenerationStats `json:"history"`
	Paused      bool              `json:"paused,omitempty"`
	Stopping    bool              `json:"stopping,omitempty"`
}

// RunResult is the EvolutionWorkflow's result.
type RunResult struct {
	Report activities.ReportOutput `json:"report"`
}

// run is the EvolutionWorkflow's state and its steps.
type run struct {
	cfg   evomerge.Config
	state RunState
	id    string
}

// EvolutionWorkflow runs an evolutionary merge: ingest the seed models, evolve the
// population one child GenerationWorkflow per generation, compress and check the final
// front, and write the report.
func EvolutionWorkflow(ctx workflow.Context, in RunInput) (RunResult, error) {
	r := &run{cfg: in.Config, id: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if in.State != nil {
		r.state = *in.State
	} else {
		r.state.StartedAt = workflow.Now(ctx)
	}
	if err := workflow.SetQueryHandler(ctx, "progress", r.progress); err != nil {
		return RunResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, "front", func() ([]evomerge.Model, error) { return r.state.Front, nil }); err != nil {
		return RunResult{}, err
	}
	if err := r.cfg.Normalize(); err != nil {
		return RunResult{}, badConfig(err)
	}
	if err := r.controls(ctx); err != nil {
		return RunResult{}, err
	}

	// 1. Ingest the seed models and score them: the baseline every child must beat.
	if r.state.Seeds == nil {
		if err := r.ingest(ctx); err != nil {
			return RunResult{}, err
		}
	}
	// 2. Evolve, one child workflow per generation; a pause holds the run between them.
	for {
		if err := r.wait(ctx); err != nil {
			return RunResult{}, err
		}
		if !r.more() {
			break
		}
		if err := r.generation(ctx); err != nil {
			return RunResult{}, err
		}
		if r.cfg.Evolution.EarlyStop.Stop(r.hypervolumes()) {
			r.state.StoppedEarly = true
			workflow.GetLogger(ctx).Info("early stop: the front stopped improving", "run", r.cfg.Name, "gen", r.state.Generation)
			break
		}
		if r.shouldContinueAsNew(ctx) && workflow.AllHandlersFinished(ctx) {
			// A fresh history, the same run: the state so far goes along as input.
			return RunResult{}, workflow.NewContinueAsNewError(ctx, EvolutionWorkflow, RunInput{Config: r.cfg, State: &r.state})
		}
	}
	// 3. Compress and gate the final front.
	if err := r.final(ctx); err != nil {
		return RunResult{}, err
	}
	// 4. Report.
	return r.report(ctx)
}

// more reports whether another generation runs: generations and budget left, and no
// early or requested stop.
func (r *run) more() bool {
	return r.state.Generation < r.cfg.Evolution.Generations && r.state.Spent < r.cfg.Evolution.Budget && !r.state.StoppedEarly && !r.state.Stopping
}

// controls registers the pause, resume and stop updates. Each validator rejects what
// does not apply (pausing a paused run, resuming a running one, anything once the
// evolution is over); each handler only flips the run's state, acted on between
// generations, and answers with what will happen.
func (r *run) controls(ctx workflow.Context) error {
	evolving := func() error {
		switch {
		case r.state.Stopping:
			return fmt.Errorf("run %s is already stopping after generation %d", r.cfg.Name, r.state.Generation+1)
		case r.state.Stage == StageFinal || r.state.Stage == StageReport || r.state.Stage == StageDone:
			return fmt.Errorf("run %s is past its evolution (stage %s)", r.cfg.Name, r.state.Stage)
		}
		return nil
	}
	next := func() string {
		if r.state.Stage == StageEvolve {
			return fmt.Sprintf("after generation %d", r.state.Generation+1)
		}
		return "before the next generation"
	}
	handlers := []struct {
		name     string
		validate func() error
		apply    func() string
	}{
		{UpdatePause, func() error {
			if r.state.Paused {
				return fmt.Errorf("run %s is already paused", r.cfg.Name)
			}
			return evolving()
		}, func() string {
			r.state.Paused = true
			return fmt.Sprintf("run %s pauses %s (resume with evomerge resume %s)", r.cfg.Name, next(), r.id)
		}},
		{UpdateResume, func() error {
			if !r.state.Paused {
				return fmt.Errorf("run %s is not paused", r.cfg.Name)
			}
			return nil
		}, func() string {
			r.state.Paused = false
			return fmt.Sprintf("run %s resumes at generation %d", r.cfg.Name, r.state.Generation+1)
		}},
		{UpdateStop, evolving, func() string {
			r.state.Stopping, r.state.Paused = true, false
			if r.state.Stage == StagePaused {
				return fmt.Sprintf("run %s stops now, after generation %d: final stage and report next", r.cfg.Name, r.state.Generation)
			}
			return fmt.Sprintf("run %s stops %s, then runs its final stage and report", r.cfg.Name, next())
		}},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, func(ctx workflow.Context) (string, error) {
			return h.apply(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context) error { return h.validate() }}); err != nil {
			return err
		}
	}
	return nil
}

// wait holds a paused run until it is resumed or stopped.
func (r *run) wait(ctx workflow.Context) error {
	if !r.state.Paused {
		return nil
	}
	resume := r.state.Stage
	if err := r.setStage(ctx, StagePaused); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Info("run paused", "run", r.cfg.Name, "after_generation", r.state.Generation)
	if err := workflow.Await(ctx, func() bool { return !r.state.Paused || r.state.Stopping }); err != nil {
		return err
	}
	r.state.Stage = resume
	return nil
}

// hypervolumes is the front's hypervolume after each generation so far.
func (r *run) hypervolumes() []float64 {
	var hv []float64
	for _, h := range r.state.History {
		hv = append(hv, h.Hypervolume)
	}
	return hv
}

// shouldContinueAsNew is true between generations every continue_as_new_every
// generations, or when the server finds the history large.
func (r *run) shouldContinueAsNew(ctx workflow.Context) bool {
	if !r.more() {
		return false
	}
	k := r.cfg.Evolution.ContinueAsNewEvery
	return (k > 0 && r.state.Generation%k == 0) || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (r *run) progress() (Progress, error) {
	return Progress{
		Run: r.cfg.Name, Stage: r.state.Stage, Generation: r.state.Generation, Generations: r.cfg.Evolution.Generations,
		Evaluations: r.state.Evaluations, Seeds: r.state.Seeds, Front: r.state.Front, BestMerge: r.state.BestMerge,
		History: r.state.History, Paused: r.state.Paused, Stopping: r.state.Stopping,
	}, nil
}

func (r *run) setStage(ctx workflow.Context, stage string, more ...temporal.SearchAttributeUpdate) error {
	r.state.Stage = stage
	workflow.SetCurrentDetails(ctx, r.details())
	return workflow.UpsertTypedSearchAttributes(ctx, append([]temporal.SearchAttributeUpdate{SAStage.ValueSet(stage)}, more...)...)
}

// ingest puts the seeds in the store, compresses them when pre_merge is configured,
// and benchmarks them.
func (r *run) ingest(ctx workflow.Context) error {
	if err := r.setStage(ctx, StageIngest); err != nil {
		return err
	}
	var refs []store.Ref
	if err := workflow.ExecuteActivity(summarized(heavyWork(ctx, KindWorkflows), fmt.Sprintf("ingest %d seed models", len(r.cfg.Models))), a.Ingest, activities.IngestInput{Models: r.cfg.Models}).Get(ctx, &refs); err != nil {
		return err
	}
	seeds := make([]evomerge.Model, len(refs))
	inputs := make([]store.Ref, len(refs))
	for i, ref := range refs {
		m := evomerge.Model{ID: r.cfg.Models[i].Name, Merged: ref, Artifact: ref}
		if err := workflow.ExecuteActivity(summarized(benchmarkWork(ctx, r.cfg), "benchmark seed "+m.ID), a.Benchmark, benchmarkInput(r.cfg, ref, store.Ref{})).Get(ctx, &m.MergedScore); err != nil {
			return err
		}
		m.Score = m.MergedScore
		inputs[i] = ref
		if r.cfg.Compression.At(evomerge.StagePreMerge) {
			c, err := compressAndScore(ctx, r.cfg, &m, evomerge.StagePreMerge, true)
			if err != nil {
				return err
			}
			inputs[i] = c.Dense
		}
		seeds[i] = m
	}
	r.state.Seeds, r.state.MergeInputs = seeds, inputs
	if r.cfg.Compression.Enabled && r.cfg.Compression.Algorithm == evomerge.AlgorithmAuto {
		// Layer sensitivities are measured once, on the base model: merges of the same
		// seeds share the layers' roles, and every child's allocation then costs nothing.
		in := activities.SensitivityInput{Model: refs[r.cfg.BaseIndex()], Codecs: r.cfg.Compression.Codecs, DataDir: r.cfg.Evaluator.DataDir}
		if err := workflow.ExecuteActivity(summarized(heavyWork(ctx, KindCompress), "measure layer sensitivity"), a.Sensitivity, in).Get(ctx, &r.state.Sensitivity); err != nil {
			return err
		}
	}
	r.state.Evaluations += len(seeds)
	// The seeds face the same gates as children, against the base model, so the report
	// shows where each one stands (a specialist fails the accuracy gate).
	for i := range r.state.Seeds {
		if err := r.gate(ctx, &r.state.Seeds[i]); err != nil {
			return err
		}
	}
	return nil
}

// generation runs one GenerationWorkflow and folds its result into the run.
func (r *run) generation(ctx workflow.Context) error {
	if err := r.setStage(ctx, StageEvolve); err != nil {
		return err
	}
	gen := r.state.Generation + 1
	started := workflow.Now(ctx)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    fmt.Sprintf("%s/gen-%d", r.id, gen),
		StaticSummary: fmt.Sprintf("%s: generation %d of %d", r.cfg.Name, gen, r.cfg.Evolution.Generations),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SARun.ValueSet(r.cfg.Name), SAGeneration.ValueSet(int64(gen)), SAStage.ValueSet(StageEvolve)),
	})
	floor := r.cfg.Compression.Progressive.Floor(gen, r.cfg.Evolution.Generations)
	in := GenerationInput{
		Config: r.cfg, Generation: gen, Population: r.state.Population, Front: r.state.Front,
		MergeInputs: r.state.MergeInputs, Reference: r.baseSeed().MergedScore,
		Children: min(r.cfg.Evolution.Children, r.cfg.Evolution.Budget-r.state.Spent), Floor: floor,
		Strategy: r.state.Strategy, Told: r.state.Told, Seeds: r.state.Seeds, Sensitivity: r.state.Sensitivity,
	}
	var out GenerationResult
	if err := workflow.ExecuteChildWorkflow(cctx, GenerationWorkflow, in).Get(ctx, &out); err != nil {
		return err
	}
	r.state.Generation = gen
	r.state.Population, r.state.Front = out.Population, out.Front
	r.state.Evaluations += len(out.Children)
	r.state.Spent += len(out.Children)
	r.state.Strategy, r.state.Told = out.Strategy, out.Children
	for i := range out.Children {
		c := out.Children[i]
		if c.Merged.Digest == "" {
			continue // rejected before it was merged
		}
		r.state.Children = append(r.state.Children, evomerge.PlotPoint{ID: c.ID, Accuracy: c.Score.Accuracy, SizeBytes: c.Score.SizeBytes})
		if b := r.state.BestMerge; b == nil || c.MergedScore.Accuracy > b.MergedScore.Accuracy {
			r.state.BestMerge = &c
		}
	}
	stats := GenerationStats{Generation: gen, Children: len(out.Children), FrontSize: len(out.Front),
		DurationSeconds: workflow.Now(ctx).Sub(started).Seconds(), Floor: floor}
	strengths := 0
	for _, c := range out.Children {
		if c.Accepted {
			stats.Accepted++
		}
		for _, g := range c.Genes {
			if g.Codec != evomerge.CodecNone {
				stats.MeanStrength += g.Strength
				strengths++
			}
		}
	}
	if strengths > 0 {
		stats.MeanStrength /= float64(strengths)
	}
	if best := bestOf(out.Front); best != nil {
		stats.BestScore, stats.BestID = best.Score.Accuracy, best.ID
	}
	if b := r.state.BestMerge; b != nil {
		stats.BestMergeScore, stats.BestMergeID = b.MergedScore.Accuracy, b.ID
	}
	hv, err := evomerge.FrontHypervolume(out.Front, r.state.Seeds, r.cfg.Objectives)
	if err != nil {
		return badConfig(err)
	}
	stats.Hypervolume = hv
	r.state.History = append(r.state.History, stats)
	workflow.GetLogger(ctx).Info("generation finished", "run", r.cfg.Name, "gen", gen,
		"best", stats.BestScore, "best_id", stats.BestID, "front", stats.FrontSize, "hypervolume", hv)
	workflow.SetCurrentDetails(ctx, r.details())
	return workflow.UpsertTypedSearchAttributes(ctx, SAGeneration.ValueSet(int64(gen)),
		SABestScore.ValueSet(stats.BestScore), SAHypervolume.ValueSet(hv))
}

// final compresses the front with the final stage's codec (a memoized no-op when the
// same codec already ran post_merge), re-benchmarks and re-gates it.
func (r *run) final(ctx workflow.Context) error {
	if err := r.setStage(ctx, StageFinal); err != nil {
		return err
	}
	if !r.cfg.Compression.At(evomerge.StageFinal) || r.cfg.Compression.Searched() {
		// Searched compression is part of each child (post_merge); the final gates ran then.
		return nil
	}
	for i := range r.state.Front {
		m := &r.state.Front[i]
		if _, err := compressAndScore(ctx, r.cfg, m, evomerge.StageFinal, false); err != nil {
			return err
		}
		if err := r.gate(ctx, m); err != nil {
			return err
		}
	}
	// Only what passes the final gates is delivered as the front.
	var front []evomerge.Model
	for _, m := range r.state.Front {
		if m.Accepted {
			front = append(front, m)
		} else {
			r.state.Rejected = append(r.state.Rejected, m)
		}
	}
	r.state.Front = front
	return nil
}

func (r *run) report(ctx workflow.Context) (RunResult, error) {
	// The delivered front's hypervolume: after the final gates, it may differ from the
	// last generation's.
	hv, err := evomerge.FrontHypervolume(r.state.Front, r.state.Seeds, r.cfg.Objectives)
	if err != nil {
		return RunResult{}, badConfig(err)
	}
	if err := r.setStage(ctx, StageReport, SAHypervolume.ValueSet(hv)); err != nil {
		return RunResult{}, err
	}
	now := workflow.Now(ctx)
	in := evomerge.ReportInput{
		Config: r.cfg, Seeds: r.state.Seeds, Front: r.state.Front, Rejected: r.state.Rejected, BestMerge: r.state.BestMerge,
		Generations: r.state.Generation, Evaluations: r.state.Evaluations, Hypervolume: hv, WorkflowID: r.id,
		StartedAt: r.state.StartedAt.UTC().Format(time.RFC3339), FinishedAt: now.UTC().Format(time.RFC3339),
		WallSeconds: now.Sub(r.state.StartedAt).Seconds(), Children: r.state.Children,
	}
	for _, h := range r.state.History {
		in.HypervolumeHistory = append(in.HypervolumeHistory, h.Hypervolume)
		in.History = append(in.History, evomerge.GenerationSummary{Generation: h.Generation, Children: h.Children, Accepted: h.Accepted,
			FrontSize: h.FrontSize, Hypervolume: h.Hypervolume, BestAccuracy: h.BestScore, Floor: h.Floor, MeanStrength: h.MeanStrength})
	}
	in.StoppedEarly, in.Sensitivity, in.Stopped = r.state.StoppedEarly, r.state.Sensitivity, r.state.Stopping
	var out RunResult
	if err := workflow.ExecuteActivity(summarized(heavyWork(ctx, KindWorkflows), "report to "+r.cfg.OutputDir), a.Report, in).Get(ctx, &out.Report); err != nil {
		return out, err
	}
	if err := r.setStage(ctx, StageDone); err != nil {
		return out, err
	}
	if len(r.state.Front) == 0 {
		why := fmt.Sprintf("no child passed the gates in %d generations", r.state.Generation)
		if len(r.state.Rejected) > 0 {
			why = fmt.Sprintf("no model passed the final gates (%d rejected)", len(r.state.Rejected))
		}
		return out, temporal.NewNonRetryableApplicationError(why+"; see "+out.Report.MDPath, ErrNoModelPassed, nil)
	}
	return out, nil
}

// gate records m's verdicts on the quality gates, against the base model.
func (r *run) gate(ctx workflow.Context, m *evomerge.Model) error {
	var g evomerge.GateOutput
	gin := evomerge.GateInput{Child: *m, Compression: r.cfg.Compression, Gates: r.cfg.Gates, Reference: r.baseSeed().MergedScore}
	if err := workflow.ExecuteActivity(summarized(shortWork(ctx), "gate "+m.ID), a.Gate, gin).Get(ctx, &g); err != nil {
		return err
	}
	m.Gates, m.Accepted = g.Gates, g.Accepted
	return nil
}

func (r *run) baseSeed() evomerge.Model {
	return r.state.Seeds[r.cfg.BaseIndex()]
}

// compressAndScore compresses m's uncompressed model at stage, benchmarks the result and
// makes it m's deployed artifact.
func compressAndScore(ctx workflow.Context, cfg evomerge.Config, m *evomerge.Model, stage string, dense bool) (activities.CompressResult, error) {
	var c activities.CompressResult
	in := activities.CompressInput{Model: m.Merged, Algorithm: cfg.Compression.Algorithm, Options: cfg.Compression.Options, Dense: dense}
	if stage != evomerge.StagePreMerge {
		in.Recovery = cfg.Compression.Recovery
	}
	if err := workflow.ExecuteActivity(summarized(heavyWork(ctx, KindCompress), fmt.Sprintf("compress %s (%s, %s)", m.ID, cfg.Compression.Algorithm, stage)), a.Compress, in).Get(ctx, &c); err != nil {
		return c, err
	}
	if err := workflow.ExecuteActivity(summarized(benchmarkWork(ctx, cfg), "benchmark "+m.ID+" compressed"), a.Benchmark, benchmarkInput(cfg, c.Artifact, m.Merged)).Get(ctx, &m.Score); err != nil {
		return c, err
	}
	m.Artifact = c.Artifact
	ratio := 0.0
	if m.Score.SizeBytes > 0 {
		ratio = float64(m.MergedScore.SizeBytes) / float64(m.Score.SizeBytes)
	}
	m.Compression = &evomerge.CompressionInfo{Algorithm: cfg.Compression.Algorithm, Stage: stage, BitsPerWeight: c.Stats.BitsPerWeight, Ratio: ratio, Recovery: in.Recovery}
	return c, nil
}

// compressPlanAndScore compresses m's merge by its compression genes (a codec and
// strength per layer group), benchmarks the result against the merge and makes it m's
// deployed artifact. A child whose genes keep every group dense stays uncompressed.
func compressPlanAndScore(ctx workflow.Context, cfg evomerge.Config, m *evomerge.Model, sensitivity []evomerge.LayerSensitivity) error {
	dense := true
	for _, g := range m.Genes {
		if g.Codec != evomerge.CodecNone {
			dense = false
		}
	}
	if dense {
		return nil
	}
	var c activities.CompressPlanResult
	in := activities.CompressPlanInput{Model: m.Merged, Genes: m.Genes}
	if cfg.Compression.Algorithm == evomerge.AlgorithmAuto {
		in.Sensitivity = sensitivity
	}
	if err := workflow.ExecuteActivity(summarized(heavyWork(ctx, KindCompress), "compress "+m.ID+" ("+evomerge.GenesString(m.Genes)+")"), a.CompressPlan, in).Get(ctx, &c); err != nil {
		return err
	}
	if len(c.Plan) == 0 {
		return nil
	}
	if err := workflow.ExecuteActivity(summarized(benchmarkWork(ctx, cfg), "benchmark "+m.ID+" compressed"), a.Benchmark, benchmarkInput(cfg, c.Artifact, m.Merged)).Get(ctx, &m.Score); err != nil {
		return err
	}
	m.Artifact = c.Artifact
	ratio := 0.0
	if m.Score.SizeBytes > 0 {
		ratio = float64(m.MergedScore.SizeBytes) / float64(m.Score.SizeBytes)
	}
	m.Compression = &evomerge.CompressionInfo{Algorithm: c.Stats.Algorithm, Stage: evomerge.StagePostMerge, BitsPerWeight: c.Stats.BitsPerWeight, Ratio: ratio}
	return nil
}

// bestOf is the most accurate model (first on ties), or nil.
func bestOf(ms []evomerge.Model) *evomerge.Model {
	var best *evomerge.Model
	for i := range ms {
		if best == nil || ms[i].Score.Accuracy > best.Score.Accuracy {
			best = &ms[i]
		}
	}
	return best
}
