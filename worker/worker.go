// Package worker builds an evomerge Temporal worker: workflow and activity
// registrations, the task queue, search-attribute registration and the zerolog-backed
// SDK logger.
package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/workflows"
)

// Options configure a worker.
type Options struct {
	// TaskQueue is the run's task queue (defaults to workflows.TaskQueue); each kind of
	// work has its own queue beside it (workflows.KindQueue).
	TaskQueue string
	Store     store.Store
	// Only limits the worker to these kinds of work (workflows.Kinds); empty serves all.
	Only []string
	// MaxConcurrentActivities bounds the activities of the run's own queue (breeding,
	// gating, selection, ingest, report) running at once (default 4); Concurrency the
	// activities of a kind (defaults: merge 2, compress 2, benchmark 2 — benchmarks on
	// one worker still run one at a time, so their timings do not compete).
	MaxConcurrentActivities int
	Concurrency             map[string]int
	// StopTimeout is how long Stop waits for activities in flight to finish (default
	// 30 s); their steps are memoized, so one cut short is redone elsewhere.
	StopTimeout time.Duration
}

// Workers are the SDK workers of one evomerge worker: one per kind of work it serves.
type Workers struct {
	ws     []worker.Worker
	Queues []string
	// Activities are the activities every queue's worker runs (their work counts).
	Activities *activities.Activities
}

// Start starts every queue's worker.
func (w *Workers) Start() error {
	for i, x := range w.ws {
		if err := x.Start(); err != nil {
			for _, y := range w.ws[:i] {
				y.Stop()
			}
			return fmt.Errorf("worker on %s: %w", w.Queues[i], err)
		}
	}
	return nil
}

// Stop stops them, each waiting for its activities in flight up to StopTimeout.
func (w *Workers) Stop() {
	var wg sync.WaitGroup
	for _, x := range w.ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.Stop()
		}()
	}
	wg.Wait()
}

// TaskQueueFor is the task queue of a store's workers, "evomerge-" and the first 12
// characters of the store's ID: only workers that can reach a run's artifacts take its
// work, so two runs with separate stores on one server never cross.
func TaskQueueFor(st store.Store) (string, error) {
	id, err := st.ID()
	if err != nil {
		return "", err
	}
	return workflows.TaskQueue + "-" + id[:min(12, len(id))], nil
}

// New returns a worker (not started) serving o.TaskQueue's workflows and short work and
// each kind's queue, or only the kinds in o.Only. It fails on an unknown kind.
func New(c client.Client, o Options) (*Workers, error) {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.TaskQueue
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 30 * time.Second
	}
	only := o.Only
	if len(only) == 0 {
		only = workflows.Kinds
	}
	for _, k := range only {
		if !slices.Contains(workflows.Kinds, k) {
			return nil, fmt.Errorf("unknown kind of work %q (known: %s)", k, strings.Join(workflows.Kinds, ", "))
		}
	}
	defaults := map[string]int{workflows.KindWorkflows: 4, workflows.KindMerge: 2, workflows.KindCompress: 2, workflows.KindBenchmark: 2}
	if o.MaxConcurrentActivities > 0 {
		defaults[workflows.KindWorkflows] = o.MaxConcurrentActivities
	}
	acts := activities.New(o.Store)
	out := &Workers{Activities: acts}
	for _, k := range workflows.Kinds {
		if !slices.Contains(only, k) {
			continue
		}
		n := defaults[k]
		if v := o.Concurrency[k]; v > 0 {
			n = v
		}
		q := workflows.KindQueue(o.TaskQueue, k)
		w := worker.New(c, q, worker.Options{
			MaxConcurrentActivityExecutionSize: n,
			DisableWorkflowWorker:              k != workflows.KindWorkflows,
			WorkerStopTimeout:                  o.StopTimeout,
		})
		if k == workflows.KindWorkflows {
			Register(w, acts)
		} else {
			w.RegisterActivity(acts)
		}
		out.ws, out.Queues = append(out.ws, w), append(out.Queues, q)
	}
	return out, nil
}

// Serve registers evomerge on queue and every kind's queue beside it through newWorker
// (a test server's NewWorker, say), as New does for a client.
func Serve(queue string, acts *activities.Activities, newWorker func(queue string, register func(worker.Registry))) {
	for _, k := range workflows.Kinds {
		if k == workflows.KindWorkflows {
			newWorker(queue, func(r worker.Registry) { Register(r, acts) })
		} else {
			newWorker(workflows.KindQueue(queue, k), func(r worker.Registry) { r.RegisterActivity(acts) })
		}
	}
}

// Register registers evomerge's workflows and the activities of acts.
func Register(r worker.Registry, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.EvolutionWorkflow)
	r.RegisterWorkflow(workflows.GenerationWorkflow)
	r.RegisterActivity(acts)
}

// SearchAttributes are the custom search attributes evomerge workflows set.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		workflows.SARun.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		workflows.SAGeneration.GetName():  enumspb.INDEXED_VALUE_TYPE_INT,
		workflows.SABestScore.GetName():   enumspb.INDEXED_VALUE_TYPE_DOUBLE,
		workflows.SAHypervolume.GetName(): enumspb.INDEXED_VALUE_TYPE_DOUBLE,
		workflows.SAStage.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// EnsureSearchAttributes registers any of evomerge's search attributes the namespace lacks.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes() {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("register search attributes on namespace %s: %w", namespace, err)
	}
	return nil
}

// Logger adapts zerolog to the SDK's logger: key-value pairs become fields.
type Logger struct{ Z zerolog.Logger }

var _ sdklog.Logger = Logger{}

func (l Logger) log(e *zerolog.Event, msg string, kv []interface{}) {
	for i := 0; i+1 < len(kv); i += 2 {
		e = field(e, fmt.Sprint(kv[i]), kv[i+1])
	}
	if len(kv)%2 == 1 {
		e = e.Interface("extra", kv[len(kv)-1])
	}
	e.Msg(msg)
}

func (l Logger) Debug(msg string, kv ...interface{}) { l.log(l.Z.Debug(), msg, kv) }
func (l Logger) Info(msg string, kv ...interface{})  { l.log(l.Z.Info(), msg, kv) }
func (l Logger) Warn(msg string, kv ...interface{})  { l.log(l.Z.Warn(), msg, kv) }
func (l Logger) Error(msg string, kv ...interface{}) { l.log(l.Z.Error(), msg, kv) }

// field adds one key-value pair; errors as their message (zerolog would print {}).
func field(e *zerolog.Event, key string, v interface{}) *zerolog.Event {
	if err, ok := v.(error); ok {
		return e.AnErr(key, err)
	}
	return e.Interface(key, v)
}

// With returns a logger that adds kv to every entry.
func (l Logger) With(kv ...interface{}) sdklog.Logger {
	ctx := l.Z.With()
	for i := 0; i+1 < len(kv); i += 2 {
		if err, ok := kv[i+1].(error); ok {
			ctx = ctx.AnErr(fmt.Sprint(kv[i]), err)
		} else {
			ctx = ctx.Interface(fmt.Sprint(kv[i]), kv[i+1])
		}
	}
	return Logger{ctx.Logger()}
}
