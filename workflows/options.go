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

// shortWork is pure, quick computation: breeding, gating, selection (milliseconds to
// a second or two for a large population), so a lost worker's step is retried after
// 30 s at most.
func shortWork(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrBadInput, activities.ErrBadRecipe},
		},
	})
}

// Kinds of work with a task queue of their own: "<run's task queue>-<kind>". A worker
// serves all of them by default; `evomerge worker --only merge` serves one, so merges can
// run on a big-disk machine and benchmarks on a GPU machine's worker. Breeding, gating,
// selection, ingest and the report stay on the run's queue with the workflows.
const (
	KindWorkflows = "workflows"
	KindMerge     = "merge"
	KindCompress  = "compress"
	KindBenchmark = "benchmark"
)

// Kinds are every kind of work a worker can be limited to.
var Kinds = []string{KindWorkflows, KindMerge, KindCompress, KindBenchmark}

// KindQueue is the task queue of kind's activities for a run on queue base (base itself
// for KindWorkflows).
func KindQueue(base, kind string) string {
	if kind == KindWorkflows {
		return base
	}
	return base + "-" + kind
}

// Heartbeats: long steps heartbeat every HeartbeatEvery from a goroutine of their own
// (activities.heartbeat), independent of the work, so a timeout of a few intervals is
// safe and a killed worker's step is retried elsewhere within HeartbeatTimeout.
const HeartbeatTimeout = 8 * time.Second

// heavyWork moves and transforms weights: ingest, merge, compress, report, on kind's
// queue. Memoization in the store makes a retry skip finished work.
func heavyWork(ctx workflow.Context, kind string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           KindQueue(workflow.GetInfo(ctx).TaskQueueName, kind),
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: []string{activities.ErrBadInput, activities.ErrBadRecipe},
		},
	})
}

// benchmarkWork scores a model; like heavyWork, on the run's benchmark queue, or on
// evaluator.task_queue or the hardware profile's queue (evaluator.hardware), where
// latency is measured on the machine the model is meant for.
func benchmarkWork(ctx workflow.Context, cfg evomerge.Config) workflow.Context {
	timeout := time.Hour
	if cfg.Evaluator.Kind == "command" {
		// The program's own timeout, with room for loading and linking the model.
		timeout = max(timeout, cfg.Evaluator.TimeoutDuration()+10*time.Minute)
	}
	queue := cfg.Evaluator.BenchmarkQueue()
	if queue == "" {
		queue = KindQueue(workflow.GetInfo(ctx).TaskQueueName, KindBenchmark)
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    HeartbeatTimeout,
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
