// Package activities adapts evomerge's domain packages to Temporal activities: it moves
// artifacts through the content-addressed store, heartbeats during long work, memoizes
// results by the hash of their inputs (so a retried or resumed activity skips finished
// work) and classifies errors once: bad input is non-retryable, I/O faults retry.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/pareto"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/tensor"
)

// Versions of each step's code: part of every memo key, bumped when outputs change.
const (
	ingestVersion   = "ingest/v1"
	mergeVersion    = "merge/v2"
	compressVersion = "compress/v2"
	benchVersion    = "bench/v1"
)

// ErrBadInput is the error type of non-retryable failures caused by the user's input.
const ErrBadInput = "BadInput"

// Activities holds what every activity needs. Register a *Activities with the worker.
type Activities struct {
	Store store.Store

	mu         sync.Mutex
	evaluators map[string]bench.Evaluator
	// benchMu serializes benchmarks on this worker so latency is not measured while
	// another benchmark saturates the cores.
	benchMu sync.Mutex
}

// New returns activities backed by st.
func New(st store.Store) *Activities {
	return &Activities{Store: st, evaluators: map[string]bench.Evaluator{}}
}

// badInput marks err as the user's fault: retrying cannot help.
func badInput(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadInput, err)
}

// classify decides once, at the activity boundary, whether err is worth a retry:
// cancellations and I/O faults are; everything else (corrupt files, shape mismatches,
// invalid recipes) is bad input.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) && errors.As(err, &pathErr) {
		return err
	}
	return badInput(err)
}

// heartbeat records a heartbeat every interval until fn returns. Long steps also
// heartbeat their own progress; this keeps a step alive between progress reports.
func heartbeat(ctx context.Context, fn func() error) error {
	if !activity.IsActivity(ctx) {
		return fn()
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return fn()
}

// memo returns the JSON result recorded under key, or computes, records and returns it.
// valid rejects a recorded result whose artifacts have gone missing.
func memo[T any](st store.Store, key string, valid func(T) bool, compute func() (T, error)) (T, error) {
	if ref, ok, err := st.Lookup(key); err == nil && ok {
		if b, err := st.Get(ref); err == nil {
			var out T
			if json.Unmarshal(b, &out) == nil && (valid == nil || valid(out)) {
				return out, nil
			}
		}
	}
	out, err := compute()
	if err != nil {
		return out, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return out, err
	}
	if _, err := st.PutBytes(key, b); err != nil {
		return out, err
	}
	return out, nil
}

// putModel encodes tensors into the store as one canonical safetensors file.
func (a *Activities) putModel(key string, meta map[string]string, tensors []*tensor.Tensor) (store.Ref, error) {
	f, err := a.Store.TempFile("model-*.safetensors")
	if err != nil {
		return store.Ref{}, err
	}
	defer os.Remove(f.Name())
	if err := tensor.Encode(f, meta, tensors); err != nil {
		f.Close()
		return store.Ref{}, err
	}
	if err := f.Close(); err != nil {
		return store.Ref{}, err
	}
	return a.Store.PutFile(key, f.Name())
}

// Ingest validates the run's seed models — every one readable, all with the same tensor
// names, dtypes and shapes — and puts each in the store as one canonical safetensors file.
func (a *Activities) Ingest(ctx context.Context, in IngestInput) ([]store.Ref, error) {
	refs := make([]store.Ref, len(in.Models))
	var first []tensor.Info
	for i, m := range in.Models {
		if _, err := os.Stat(m.Path); err != nil {
			return nil, badInput(fmt.Errorf("model %q: %w", m.Name, err))
		}
		err := func() error {
			ck, err := tensor.OpenCheckpoint(m.Path)
			if err != nil {
				return err
			}
			defer ck.Close()
			infos := ck.Infos()
			if i == 0 {
				first = infos
			} else if err := sameLayout(first, infos); err != nil {
				return fmt.Errorf("model %q (%s) does not match model %q: %w", m.Name, m.Path, in.Models[0].Name, err)
			}
			st, err := os.Stat(m.Path)
			if err != nil {
				return err
			}
			key := store.Key(ingestVersion, m.Path, st.Size(), st.ModTime().UnixNano())
			if ref, ok, err := a.Store.Lookup(key); err == nil && ok {
				refs[i] = ref
				return nil
			}
			tensors := make([]*tensor.Tensor, 0, len(infos))
			for _, info := range infos {
				t, err := ck.Read(info.Name)
				if err != nil {
					return err
				}
				tensors = append(tensors, t)
			}
			refs[i], err = a.putModel(key, ck.Metadata(), tensors)
			return err
		}()
		if err != nil {
			return nil, classify(fmt.Errorf("ingest %s: %w", m.Path, err))
		}
		activity.RecordHeartbeat(ctx, i)
	}
	return refs, nil
}

func sameLayout(want, got []tensor.Info) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Name != g.Name {
			return fmt.Errorf("tensor %q where %q was expected", g.Name, w.Name)
		}
		if w.DType != g.DType || fmt.Sprint(w.Shape) != fmt.Sprint(g.Shape) {
			return fmt.Errorf("tensor %q is %s%v, want %s%v", g.Name, g.DType, g.Shape, w.DType, w.Shape)
		}
	}
	return nil
}

// Breed returns the recipes of one generation's children: the initial recipes for
// generation 0, otherwise tournament selection, crossover and mutation over the
// population. Randomness comes from (run seed, generation) only.
func (a *Activities) Breed(ctx context.Context, in BreedInput) ([]evomerge.Recipe, error) {
	rng := evomerge.NewRNG(in.Seed, uint64(in.Generation))
	// Knowing the base lets variation skip children that differ only in the base's
	// weight, which task-vector methods ignore.
	in.Variation.BaseIndex = in.BaseIndex
	if err := in.Variation.Validate(); err != nil {
		return nil, badInput(err)
	}
	if len(in.Population) == 0 {
		return evomerge.InitialRecipes(rng, in.NumModels, in.BaseIndex, in.Children, in.Variation), nil
	}
	pop := make([]evomerge.Candidate, len(in.Population))
	for i, m := range in.Population {
		if m.Recipe == nil {
			return nil, badInput(fmt.Errorf("population member %s has no recipe", m.ID))
		}
		pop[i] = evomerge.Candidate{Recipe: *m.Recipe, Rank: m.Rank, Crowding: m.Crowding}
	}
	return evomerge.Breed(rng, pop, in.Children, in.Variation), nil
}

// Merge merges stored models by a recipe into a new stored model.
func (a *Activities) Merge(ctx context.Context, in MergeInput) (store.Ref, error) {
	if err := evomerge.ValidateRecipe(in.Recipe, len(in.Models)); err != nil {
		return store.Ref{}, badInput(fmt.Errorf("child %s: %w", in.ChildID, err))
	}
	digests := make([]string, len(in.Models))
	for i, r := range in.Models {
		digests[i] = r.Digest
	}
	key := store.Key(mergeVersion, in.Recipe, digests, in.BaseIndex)
	if ref, ok, err := a.Store.Lookup(key); err == nil && ok {
		return ref, nil
	}
	paths := make([]string, len(in.Models))
	for i, r := range in.Models {
		p, err := a.Store.Path(r)
		if err != nil {
			return store.Ref{}, classify(err)
		}
		paths[i] = p
	}
	f, err := a.Store.TempFile("merge-*.safetensors")
	if err != nil {
		return store.Ref{}, err
	}
	dst := f.Name()
	f.Close()
	defer os.Remove(dst)
	err = heartbeat(ctx, func() error {
		return evomerge.MergeFiles(in.Recipe, paths, in.BaseIndex, dst, nil)
	})
	if err != nil {
		return store.Ref{}, classify(fmt.Errorf("child %s: %w", in.ChildID, err))
	}
	ref, err := a.Store.PutFile(key, dst)
	return ref, classify(err)
}

// Compress compresses a stored model with a codec.
func (a *Activities) Compress(ctx context.Context, in CompressInput) (CompressResult, error) {
	codec, err := compress.New(in.Algorithm, in.Options)
	if err != nil {
		return CompressResult{}, badInput(err)
	}
	key := store.Key(compressVersion, in.Model.Digest, in.Algorithm, in.Options, in.Dense)
	valid := func(r CompressResult) bool { return a.Store.Has(r.Artifact) && (!in.Dense || a.Store.Has(r.Dense)) }
	out, err := memo(a.Store, key, valid, func() (CompressResult, error) {
		src, err := a.Store.Path(in.Model)
		if err != nil {
			return CompressResult{}, err
		}
		f, err := a.Store.TempFile("compress-*.safetensors")
		if err != nil {
			return CompressResult{}, err
		}
		dst := f.Name()
		f.Close()
		defer os.Remove(dst)
		var stats compress.Stats
		err = heartbeat(ctx, func() error {
			var err error
			stats, err = compress.CompressFile(codec, src, dst)
			return err
		})
		if err != nil {
			return CompressResult{}, err
		}
		res := CompressResult{Stats: stats}
		if in.Dense {
			// The dequantized weights, under the uncompressed model's metadata: the
			// compressed file's metadata would describe a codec the tensors no longer use.
			tensors, _, err := compress.ReadDense(dst)
			if err != nil {
				return res, err
			}
			f, err := tensor.Open(src)
			if err != nil {
				return res, err
			}
			meta := f.Metadata()
			f.Close()
			if res.Dense, err = a.putModel("", meta, tensors); err != nil {
				return res, err
			}
		}
		res.Artifact, err = a.Store.PutFile("", dst)
		return res, err
	})
	return out, classify(err)
}

// Benchmark scores a stored model. Results are memoized per model digest and evaluator
// settings, so a resumed run reports the latency measured the first time.
func (a *Activities) Benchmark(ctx context.Context, in BenchmarkInput) (bench.Result, error) {
	key := store.Key(benchVersion, in.Model.Digest, in.Evaluator)
	out, err := memo(a.Store, key, nil, func() (bench.Result, error) {
		ev, err := a.evaluator(in.Evaluator)
		if err != nil {
			return bench.Result{}, err
		}
		path, err := a.Store.Path(in.Model)
		if err != nil {
			return bench.Result{}, err
		}
		a.benchMu.Lock()
		defer a.benchMu.Unlock()
		var res bench.Result
		err = heartbeat(ctx, func() error {
			var err error
			res, err = ev.Evaluate(ctx, path)
			return err
		})
		return res, err
	})
	return out, classify(err)
}

// evaluator returns the evaluator spec describes, built once per worker (the MNIST
// evaluator holds the decoded test set).
func (a *Activities) evaluator(spec evomerge.EvaluatorSpec) (bench.Evaluator, error) {
	k := store.Key(spec)
	a.mu.Lock()
	defer a.mu.Unlock()
	if ev, ok := a.evaluators[k]; ok {
		return ev, nil
	}
	var ev bench.Evaluator
	switch spec.Kind {
	case "mnist":
		m, err := bench.NewMNIST(bench.MNISTSettings{DataDir: spec.DataDir, LatencyRuns: spec.LatencyRuns, Limit: spec.Limit})
		if err != nil {
			return nil, err
		}
		ev = m
	default:
		return nil, fmt.Errorf("unknown evaluator %q (known: mnist)", spec.Kind)
	}
	a.evaluators[k] = ev
	return ev, nil
}

// Gate checks a child against the quality gates.
func (a *Activities) Gate(ctx context.Context, in GateInput) (GateOutput, error) {
	return Gates(in), nil
}

// Select runs NSGA-II survival over the candidates.
func (a *Activities) Select(ctx context.Context, in SelectInput) (SelectOutput, error) {
	out, err := Select(in)
	if err != nil {
		return out, badInput(err)
	}
	return out, nil
}

// objectiveVector returns m's objectives in the order of names, with their directions.
func objectiveVector(m Model, names []string) ([]float64, []pareto.Direction, error) {
	v := make([]float64, len(names))
	d := make([]pareto.Direction, len(names))
	for i, n := range names {
		switch n {
		case evomerge.ObjAccuracy:
			v[i], d[i] = m.Score.Accuracy, pareto.Maximize
		case evomerge.ObjSizeBytes:
			v[i], d[i] = float64(m.Score.SizeBytes), pareto.Minimize
		case evomerge.ObjLatencyMs:
			v[i], d[i] = m.Score.LatencyMs, pareto.Minimize
		default:
			return nil, nil, fmt.Errorf("unknown objective %q", n)
		}
	}
	return v, d, nil
}
