// Package activities adapts evomerge's domain packages to Temporal activities: it moves
// artifacts through the content-addressed store, heartbeats during long work, memoizes
// results by the hash of their inputs (so a retried or resumed activity skips finished
// work) and classifies errors once: bad input is non-retryable, I/O faults retry.
package activities

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/tensor"
)

// Versions of each step's code: part of every memo key, bumped when outputs change.
const (
	ingestVersion   = "ingest/v2"
	mergeVersion    = "merge/v3"
	compressVersion = "compress/v4"
	benchVersion    = "bench/v4"
)

// Error types of non-retryable failures: ErrBadInput for the user's input (files,
// config), ErrBadRecipe for a child's recipe that cannot be merged (the run can go on
// without that child).
const (
	ErrBadInput  = "BadInput"
	ErrBadRecipe = "BadRecipe"
	// ErrMissingBlob is a retryable fault: an artifact the step needs is not in this
	// worker's store.
	ErrMissingBlob = "MissingBlob"
)

// Activities holds what every activity needs. Register a *Activities with the worker.
type Activities struct {
	Store store.Store

	mu         sync.Mutex
	evaluators map[string]bench.Evaluator
	// benchMu serializes benchmarks on this worker so latency is not measured while
	// another benchmark saturates the cores.
	benchMu sync.Mutex
	work    *workStats
}

// New returns activities backed by st.
func New(st store.Store) *Activities {
	// The work log is per machine: the local store's folder, or an S3 store's cache.
	return &Activities{Store: st, evaluators: map[string]bench.Evaluator{}, work: newWorkStats(store.LocalDir(st))}
}

// badInput marks err as the user's fault: retrying cannot help. A blob missing from the
// store is not (missingBlob), wherever it is classified.
// The error's text is the failure's message; it is not also attached as the cause, which
// would print the same text a second time after the message.
func badInput(err error) error {
	if errors.Is(err, store.ErrMissing) {
		return missingBlob(err)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadInput, nil)
}

// workerName names this worker process in errors.
var workerName = func() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s (pid %d)", host, os.Getpid())
}()

// missingBlob is a blob missing from this worker's store: not the user's input but a
// worker attached to the wrong store (or a store not yet synced), so it is retried —
// with luck by a worker of the right store.
func missingBlob(err error) error {
	return temporal.NewApplicationError(fmt.Sprintf("%v; worker %s cannot reach it: is it attached to the run's store?", err, workerName), ErrMissingBlob)
}

// badRecipe marks err as the fault of one child's recipe.
func badRecipe(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadRecipe, nil)
}

// classify decides once, at the activity boundary, whether err is worth a retry:
// cancellations and I/O faults are; everything else (corrupt files, shape mismatches,
// invalid recipes) is bad input.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	var transient *bench.TransientError
	if errors.As(err, &appErr) || errors.As(err, &transient) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return badInput(err)
}

// heartbeatEvery is how often long steps heartbeat: a quarter of the workflows'
// heartbeat timeout (8 s), so a killed worker's step is retried within seconds.
const heartbeatEvery = 2 * time.Second

// heartbeat records a heartbeat every interval until fn returns. Long steps also
// heartbeat their own progress; this keeps a step alive between progress reports.
func heartbeat(ctx context.Context, fn func() error) error {
	if !activity.IsActivity(ctx) {
		return fn()
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(heartbeatEvery)
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
func memo[T any](a *Activities, kind, key string, valid func(T) bool, compute func() (T, error)) (T, error) {
	st := a.Store
	if ref, ok, err := st.Lookup(key); err == nil && ok {
		if b, err := st.Get(ref); err == nil {
			var out T
			if json.Unmarshal(b, &out) == nil && (valid == nil || valid(out)) {
				a.found(kind, key)
				return out, nil
			}
		}
	}
	start := time.Now()
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
	a.computed(kind, key, start, 0)
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
// names, dtypes and shapes — and puts each in the store as one canonical safetensors
// file, streamed tensor by tensor.
func (a *Activities) Ingest(ctx context.Context, in IngestInput) ([]store.Ref, error) {
	refs := make([]store.Ref, len(in.Models))
	var first []tensor.Info
	err := heartbeat(ctx, func() error {
		for i, m := range in.Models {
			ref, infos, err := a.ingestOne(m)
			if err != nil {
				return fmt.Errorf("ingest model %q: %w", m.Name, err)
			}
			if i == 0 {
				first = infos
			} else if err := sameLayout(first, infos); err != nil {
				return fmt.Errorf("model %q (%s) does not match model %q: %w", m.Name, m.Path, in.Models[0].Name, err)
			}
			refs[i] = ref
		}
		return nil
	})
	return refs, classify(err)
}

func (a *Activities) ingestOne(m evomerge.ModelSpec) (store.Ref, []tensor.Info, error) {
	fp, err := fingerprint(m.Path)
	if err != nil {
		return store.Ref{}, nil, err
	}
	ck, err := tensor.OpenCheckpoint(m.Path)
	if err != nil {
		return store.Ref{}, nil, err
	}
	defer ck.Close()
	infos := ck.Infos()
	key := store.Key(ingestVersion, m.Path, fp)
	if ref, ok, err := a.Store.Lookup(key); err == nil && ok {
		return ref, infos, nil
	}
	f, err := a.Store.TempFile("ingest-*.safetensors")
	if err != nil {
		return store.Ref{}, nil, err
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	err = func() error {
		w, err := tensor.NewWriter(bw, ck.Metadata(), infos)
		if err != nil {
			return err
		}
		for _, info := range infos {
			t, err := ck.Read(info.Name)
			if err != nil {
				return err
			}
			if err := checkFiniteTensor(m.Path, t); err != nil {
				return err
			}
			if err := w.Write(t); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		return bw.Flush()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return store.Ref{}, nil, err
	}
	ref, err := a.Store.PutFile(key, f.Name())
	return ref, infos, err
}

// checkFiniteTensor fails on the first NaN or infinite weight of a float tensor, naming
// the model, tensor and element: a seed with one NaN weight would otherwise run every
// generation and end in "no child passed the gates".
func checkFiniteTensor(path string, t *tensor.Tensor) error {
	switch t.DType {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return nil
	}
	v, err := t.Float32s()
	if err != nil {
		return err
	}
	if j := tensor.FirstNonFinite(v); j >= 0 {
		return fmt.Errorf("%s: tensor %q: element %d is %g; the model has non-finite weights", path, t.Name, j, v[j])
	}
	return nil
}

// fingerprint identifies the current contents of a model path without reading it: size,
// modification time, inode and change time of the file, or of every .safetensors and .json file in
// the folder (a folder's own mtime does not change when a file in it is overwritten).
func fingerprint(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for _, e := range entries { // ReadDir sorts by name
			if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".safetensors") || strings.HasSuffix(n, ".json")) {
				files = append(files, filepath.Join(path, n))
			}
		}
	}
	fp := make([]string, 0, len(files))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		// The inode and ctime change whenever the file is replaced or written, even by
		// tools that restore its mtime (cp -p, rsync -t).
		var ino uint64
		var ctime int64
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			ino, ctime = sys.Ino, sys.Ctim.Nano()
		}
		fp = append(fp, fmt.Sprintf("%s:%d:%d:%d:%d", filepath.Base(f), st.Size(), st.ModTime().UnixNano(), ino, ctime))
	}
	return fp, nil
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

// Merge merges stored models by a recipe into a new stored model.
func (a *Activities) Merge(ctx context.Context, in MergeInput) (store.Ref, error) {
	if err := evomerge.ValidateRecipe(in.Recipe, len(in.Models)); err != nil {
		return store.Ref{}, badRecipe(fmt.Errorf("child %s: %w", in.ChildID, err))
	}
	digests := make([]string, len(in.Models))
	for i, r := range in.Models {
		digests[i] = r.Digest
	}
	key := store.Key(mergeVersion, in.Recipe, digests, in.BaseIndex)
	var ref store.Ref
	err := heartbeat(ctx, func() error {
		if r, ok, err := a.Store.Lookup(key); err == nil && ok {
			ref = r
			a.found(WorkMerge, key)
			return nil
		}
		start := time.Now()
		paths := make([]string, len(in.Models))
		for i, r := range in.Models {
			p, err := a.Store.Path(r)
			if err != nil {
				return err
			}
			paths[i] = p
		}
		f, err := a.Store.TempFile("merge-*.safetensors")
		if err != nil {
			return err
		}
		dst := f.Name()
		f.Close()
		defer os.Remove(dst)
		if err := evomerge.MergeFiles(in.Recipe, paths, in.BaseIndex, dst, nil); err != nil {
			err = fmt.Errorf("child %s: %w", in.ChildID, err)
			if errors.Is(err, evomerge.ErrRecipe) {
				return badRecipe(err)
			}
			return err
		}
		if ref, err = a.Store.PutFile(key, dst); err == nil {
			a.computed(WorkMerge, key, start, ref.Bytes)
		}
		return err
	})
	return ref, classify(err)
}

// Compress compresses a stored model with a codec.
func (a *Activities) Compress(ctx context.Context, in CompressInput) (CompressResult, error) {
	codec, err := compress.New(in.Algorithm, in.Options)
	if err != nil {
		return CompressResult{}, badInput(err)
	}
	key := store.Key(compressVersion, codec.Version(), in.Model.Digest, in.Algorithm, in.Options, in.Dense, in.Recovery)
	valid := func(r CompressResult) bool { return a.Store.Has(r.Artifact) && (!in.Dense || a.Store.Has(r.Dense)) }
	var out CompressResult
	err = heartbeat(ctx, func() error {
		var err error
		out, err = memo(a, WorkCompress, key, valid, func() (CompressResult, error) {
			return a.compress(ctx, codec, in)
		})
		return err
	})
	return out, classify(err)
}

func (a *Activities) compress(ctx context.Context, codec compress.Codec, in CompressInput) (CompressResult, error) {
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
	input := src
	if in.Recovery != nil {
		// Distill first: the codec then encodes the recovered latent weights.
		if input, err = a.distill(ctx, codec, src, *in.Recovery); err != nil {
			return CompressResult{}, err
		}
		defer os.Remove(input)
	}
	stats, err := compress.CompressFile(ctx, codec, input, dst)
	if err != nil {
		return CompressResult{}, err
	}
	if input != src {
		// The ratio compares with the model the child was merged as, not the F32 latent copy.
		st, err := os.Stat(src)
		if err != nil {
			return CompressResult{}, err
		}
		stats.InputBytes, stats.Ratio = st.Size(), float64(st.Size())/float64(max(stats.OutputBytes, 1))
	}
	res := CompressResult{Stats: stats}
	if in.Dense {
		if res.Dense, err = a.putDequantized(src, dst); err != nil {
			return res, err
		}
	}
	res.Artifact, err = a.Store.PutFile("", dst)
	return res, err
}

// distill fine-tunes the model at src for codec by knowledge distillation
// (nn.DistillFile: teacher = the model itself, training images only) and writes the
// recovered latent weights to a temporary file in the store, whose path it returns.
func (a *Activities) distill(ctx context.Context, codec compress.Codec, src string, r evomerge.RecoverySpec) (string, error) {
	f, err := a.Store.TempFile("distill-*.safetensors")
	if err != nil {
		return "", err
	}
	path := f.Name()
	f.Close()
	err = nn.DistillFile(ctx, codec, src, path, nn.DistillConfig{
		Steps: r.Steps, BatchSize: r.BatchSize, LearningRate: r.LR, Temperature: r.Temperature, Seed: r.Seed,
	})
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// putDequantized stores the dequantized weights of the compressed model at dst in the
// dtypes and under the metadata of the uncompressed model at src: the compressed file's
// metadata would describe a codec the tensors no longer use, and F32 weights from an
// F16 model would double its size.
func (a *Activities) putDequantized(src, dst string) (store.Ref, error) {
	tensors, _, err := compress.ReadDense(dst)
	if err != nil {
		return store.Ref{}, err
	}
	f, err := tensor.Open(src)
	if err != nil {
		return store.Ref{}, err
	}
	defer f.Close()
	for i, t := range tensors {
		info, ok := f.Info(t.Name)
		if !ok || info.DType == t.DType {
			continue
		}
		switch info.DType {
		case tensor.F16, tensor.BF16:
			v, err := t.Float32s()
			if err != nil {
				return store.Ref{}, err
			}
			tensors[i] = tensor.FromFloat32(t.Name, info.DType, t.Shape, v)
		}
	}
	return a.putModel("", f.Metadata(), tensors)
}

// Benchmark scores a stored model. Results are memoized per model digest and evaluator
// settings, so a resumed run reports the latency measured the first time.
func (a *Activities) Benchmark(ctx context.Context, in BenchmarkInput) (bench.Result, error) {
	spec := in.Evaluator
	if spec.Kind == "mnist" && spec.DataDir == "" {
		// The data the worker will actually read is part of what the result depends on.
		dir, err := nn.MNISTDir()
		if err != nil {
			return bench.Result{}, badInput(err)
		}
		spec.DataDir = dir
	}
	key := store.Key(benchVersion, in.Model.Digest, in.Reference.Digest, spec)
	// A user's program is part of what its results depend on.
	program, err := spec.ProgramDigest()
	if err != nil {
		return bench.Result{}, badInput(err)
	}
	if program != "" {
		key = store.Key(key, program)
	}
	var out bench.Result
	err = heartbeat(ctx, func() error {
		var err error
		out, err = memo(a, WorkBenchmark, key, nil, func() (bench.Result, error) {
			ev, err := a.evaluator(spec)
			if err != nil {
				return bench.Result{}, err
			}
			req := bench.Request{}
			if req.Model, err = a.Store.Path(in.Model); err != nil {
				return bench.Result{}, err
			}
			if in.Reference.Digest != "" {
				if req.Reference, err = a.Store.Path(in.Reference); err != nil {
					return bench.Result{}, err
				}
			}
			// One benchmark at a time per worker, so timings do not compete.
			a.benchMu.Lock()
			defer a.benchMu.Unlock()
			r, err := ev.Evaluate(ctx, req)
			if err == nil && activity.IsActivity(ctx) {
				r.MeasuredOn = activity.GetInfo(ctx).TaskQueue
			}
			return r, err
		})
		return err
	})
	if err != nil {
		return out, classify(err)
	}
	for _, m := range in.Require {
		if _, ok := evomerge.MetricValue(out, m); !ok {
			return out, badInput(fmt.Errorf("%s evaluator: the result for model %s has no metric %q, which the objectives name (it has: %s)", spec.Kind, in.Model.Digest, m, strings.Join(slices.Sorted(maps.Keys(out.Metrics)), ", ")))
		}
	}
	return out, nil
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
	ev, err := bench.New(spec.Spec)
	if err != nil {
		return nil, err
	}
	a.evaluators[k] = ev
	return ev, nil
}

// Gate checks a child against the quality gates.
func (a *Activities) Gate(ctx context.Context, in evomerge.GateInput) (evomerge.GateOutput, error) {
	return evomerge.Gates(in), nil
}

// Select runs NSGA-II survival over the candidates.
func (a *Activities) Select(ctx context.Context, in evomerge.SelectInput) (evomerge.SelectOutput, error) {
	out, err := evomerge.Select(in)
	if err != nil {
		return out, badInput(err)
	}
	return out, nil
}
