package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// A model missing from this worker's store is an infrastructure fault, retried, and the
// message says which store and worker; a corrupt input stays final.
func TestMissingBlobIsRetryableAndNamesTheStore(t *testing.T) {
	mine, err := store.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := other.PutBytes("", []byte("a model in another store"))
	if err != nil {
		t.Fatal(err)
	}
	a := New(mine)
	_, err = a.Benchmark(context.Background(), BenchmarkInput{Model: ref, Evaluator: evomerge.EvaluatorSpec{Spec: bench.Spec{Kind: "mnist", LatencyRuns: 1}}})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrMissingBlob || appErr.NonRetryable() {
		t.Fatalf("error %v: want a retryable %s", err, ErrMissingBlob)
	}
	if !strings.Contains(err.Error(), mine.Root) || !strings.Contains(err.Error(), "worker ") {
		t.Errorf("error %q should name the store %s and the worker", err, mine.Root)
	}
	if e := classify(errors.New("shape mismatch")); !errors.As(e, &appErr) || !appErr.NonRetryable() || appErr.Type() != ErrBadInput {
		t.Errorf("bad input classified as %v", e)
	}
}
