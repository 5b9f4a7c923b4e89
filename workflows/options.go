package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// TaskQueue is the default task queue of evomerge workers.
const TaskQueue = "evomerge"

// Search attributes evomerge sets; the embedded server registers them at start and
// `evomerge run` registers them on an external server.
var (
	SARun         = temporal.NewSearchAttributeKeyKeyword("EvoRun")
	SAGeneration  = temporal.NewSearchAttributeKeyInt64("EvoGeneration")
	SABestScore   = temporal.NewSearchAttributeKeyFloat64("EvoBestScore")
	SAHypervolume = temporal.NewSearchAttributeKeyFloat64("EvoHypervolume")
	SAStage       = temporal.NewSearchAttributeKeyKeyword("EvoStage")
)

// The retry and timeout policy of every kind of work, in one place.

// shortWork is pure, quick computation: breeding, gating, selection.
func shortWork(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrBadInput, activities.ErrBadRecipe},
		},
	})
}

// heavyWork moves and transforms weights: ingest, merge, compress, report. It
// heartbeats every 5 s, so a killed worker is noticed within 20 s and the step is retried
// elsewhere; memoization in the store makes the retry skip finished work.
func heavyWork(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: []string{activities.ErrBadInput, activities.ErrBadRecipe},
		},
	})
}

// benchmarkWork scores a model; like heavyWork, on the run's task queue, or on the task
// queue of the config's hardware profile (evaluator.hardware), where latency is measured
// on the machine the model is meant for.
func benchmarkWork(ctx workflow.Context, cfg evomerge.Config) workflow.Context {
	timeout := time.Hour
	if cfg.Evaluator.Kind == "command" {
		// The program's own timeout, with room for loading and linking the model.
		timeout = max(timeout, cfg.Evaluator.TimeoutDuration()+10*time.Minute)
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           cfg.Evaluator.BenchmarkQueue(),
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: []string{activities.ErrBadInput, activities.ErrBadRecipe},
		},
	})
}

// benchmarkInput asks for model to be scored by the config's evaluator (against
// reference, if set), its result carrying every objective's metric.
func benchmarkInput(cfg evomerge.Config, model, reference store.Ref) activities.BenchmarkInput {
	return activities.BenchmarkInput{Model: model, Evaluator: cfg.Evaluator, Reference: reference, Require: cfg.ObjectiveNames()}
}

// a is only used to name activity methods; workflows never call it directly.
var a *activities.Activities
