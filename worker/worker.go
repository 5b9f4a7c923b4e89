// Package worker builds an evomerge Temporal worker: workflow and activity
// registrations, the task queue, search-attribute registration and the zerolog-backed
// SDK logger.
package worker

import (
	"context"
	"fmt"

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
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
	Store     store.Store
	// MaxConcurrentActivities bounds activities running at once on this worker (default 4).
	MaxConcurrentActivities int
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

// New returns a worker (not started) polling o.TaskQueue with every workflow and activity registered.
func New(c client.Client, o Options) worker.Worker {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.TaskQueue
	}
	if o.MaxConcurrentActivities == 0 {
		o.MaxConcurrentActivities = 4
	}
	w := worker.New(c, o.TaskQueue, worker.Options{MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities})
	Register(w, activities.New(o.Store))
	return w
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
