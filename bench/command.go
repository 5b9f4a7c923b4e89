package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evomerge/evomerge/nn"
)

// Command is the "command" evaluator: it scores a model by running the user's program —
// lm-evaluation-harness behind a wrapper, a perplexity script, anything — as an argument
// list, never through a shell. In every argument
//
//	{model}      becomes a folder holding the model as model.safetensors, beside links to
//	             the spec's ModelFiles (config.json, tokenizer files);
//	{reference}  the same for the request's reference model (the uncompressed merge of a
//	             compressed child), or "" when there is none;
//	{result}     the path the program must write its result to;
//	{evomerge}   the path of the running evomerge binary.
//
// The result is JSON, {"metrics": {"name": number, ...}}. Every metric is kept in
// Result.Metrics, so any of them can be an objective; the well-known names fill
// Result's fields (accuracy — or the spec's AccuracyMetric — test_accuracy, size_bytes,
// weight_bytes, latency_ms, reference_latency_ms, speedup, params, examples,
// test_examples, and finite and packed as 0 or 1). size_bytes defaults to the model
// file's size and finite to true.
//
// A program that exits non-zero, outlives the timeout or writes no or malformed result
// fails the evaluation with an error naming the program and quoting the tail of its
// output; exit status 75 (EX_TEMPFAIL) marks a failure worth retrying (TransientError).
// The program runs in its own process group, killed whole on timeout or cancellation.
type Command struct {
	spec    Spec
	timeout time.Duration
}

// NewCommand builds a command evaluator from a normalized spec.
func NewCommand(s Spec) (*Command, error) {
	if err := normalizeCommand(&s); err != nil {
		return nil, err
	}
	return &Command{spec: s, timeout: s.TimeoutDuration()}, nil
}

// Name is "command".
func (c *Command) Name() string { return "command" }

// ExitTempFail is the exit status (sysexits.h EX_TEMPFAIL) by which a command
// evaluator's program says its failure is transient and the evaluation may be retried.
const ExitTempFail = 75

// TransientError is a failure that may succeed when retried (the program exited with
// ExitTempFail); every other evaluation error is final for that model.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// tailLimit is how much of the program's output an error quotes.
const tailLimit = 2048

// Evaluate runs the program on req's model and reads its result back.
func (c *Command) Evaluate(ctx context.Context, req Request) (Result, error) {
	work, err := os.MkdirTemp("", "evomerge-eval-")
	if err != nil {
		return Result{}, &TransientError{fmt.Errorf("command evaluator: %w", err)}
	}
	defer os.RemoveAll(work)
	modelPath, size, err := modelFile(req.Model)
	if err != nil {
		return Result{}, fmt.Errorf("command evaluator: model: %w", err)
	}
	model, err := c.modelDir(filepath.Join(work, "model"), modelPath)
	if err != nil {
		return Result{}, err
	}
	reference := ""
	if req.Reference != "" {
		refPath, _, err := modelFile(req.Reference)
		if err != nil {
			return Result{}, fmt.Errorf("command evaluator: reference: %w", err)
		}
		if reference, err = c.modelDir(filepath.Join(work, "reference"), refPath); err != nil {
			return Result{}, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return Result{}, fmt.Errorf("command evaluator: locating the evomerge binary for {evomerge}: %w", err)
	}
	resultPath := filepath.Join(work, "result.json")
	sub := strings.NewReplacer("{model}", model, "{reference}", reference, "{result}", resultPath, "{evomerge}", self)
	argv := make([]string, len(c.spec.Command))
	for i, a := range c.spec.Command {
		argv[i] = sub.Replace(a)
	}
	prog := c.spec.Command[0]

	runCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	out := &tailBuffer{limit: tailLimit}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "EVOMERGE_MODEL="+model, "EVOMERGE_RESULT="+resultPath)
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return Result{}, ctx.Err()
	case runCtx.Err() != nil:
		return Result{}, fmt.Errorf("command evaluator: %s did not finish within %s and was killed%s", prog, c.timeout, out.quote())
	case runErr != nil:
		var exit *exec.ExitError
		if errors.As(runErr, &exit) && exit.ExitCode() >= 0 {
			err := fmt.Errorf("command evaluator: %s exited with status %d%s", prog, exit.ExitCode(), out.quote())
			if exit.ExitCode() == ExitTempFail {
				return Result{}, &TransientError{err}
			}
			return Result{}, err
		}
		if errors.Is(runErr, exec.ErrNotFound) || errors.Is(runErr, os.ErrNotExist) || errors.Is(runErr, os.ErrPermission) {
			return Result{}, fmt.Errorf("command evaluator: cannot run %s: %w", prog, runErr)
		}
		return Result{}, fmt.Errorf("command evaluator: %s: %w%s", prog, runErr, out.quote())
	}
	raw, err := os.ReadFile(resultPath)
	if errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("command evaluator: %s exited 0 but wrote no result to {result}%s", prog, out.quote())
	}
	if err != nil {
		return Result{}, &TransientError{fmt.Errorf("command evaluator: reading %s's result: %w", prog, err)}
	}
	r, err := parseResult(raw, c.spec.AccuracyMetric, size)
	if err != nil {
		return Result{}, fmt.Errorf("command evaluator: %s wrote a result that %w%s", prog, err, out.quote())
	}
	return r, nil
}

// modelDir makes dir a Hugging Face-style model folder: model.safetensors linked to the
// model file, and every other regular file of the spec's ModelFiles folder linked
// beside it (safetensors shards and their index excepted: the weights are the model's).
func (c *Command) modelDir(dir, modelPath string) (string, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", &TransientError{fmt.Errorf("command evaluator: %w", err)}
	}
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return "", err
	}
	if err := os.Symlink(abs, filepath.Join(dir, nn.ModelFile)); err != nil {
		return "", &TransientError{fmt.Errorf("command evaluator: %w", err)}
	}
	if c.spec.ModelFiles == "" {
		return dir, nil
	}
	entries, err := os.ReadDir(c.spec.ModelFiles)
	if err != nil {
		return "", fmt.Errorf("command evaluator: evaluator.model_files: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".safetensors") || name == "model.safetensors.index.json" {
			continue
		}
		src, err := filepath.Abs(filepath.Join(c.spec.ModelFiles, name))
		if err != nil {
			return "", err
		}
		if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
			return "", &TransientError{fmt.Errorf("command evaluator: %w", err)}
		}
	}
	return dir, nil
}

// parseResult reads {"metrics": {...}} into a Result; the error completes "wrote a
// result that …".
func parseResult(raw []byte, accuracyMetric string, size int64) (Result, error) {
	var doc struct {
		Metrics map[string]*float64 `json:"metrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return Result{}, fmt.Errorf("is not the JSON object {\"metrics\": {\"name\": number}}: %v (starts %q)", err, head(raw, 80))
	}
	if dec.More() {
		return Result{}, fmt.Errorf("has more than one JSON value (starts %q)", head(raw, 80))
	}
	if doc.Metrics == nil {
		return Result{}, errors.New("has no \"metrics\" object")
	}
	names := make([]string, 0, len(doc.Metrics))
	for name := range doc.Metrics {
		names = append(names, name)
	}
	slices.Sort(names)
	r := Result{Metrics: make(map[string]float64, len(names)), SizeBytes: size, Finite: true}
	for _, name := range names {
		v := doc.Metrics[name]
		if v == nil {
			return Result{}, fmt.Errorf("gives metric %q no number (null)", name)
		}
		r.Metrics[name] = *v
	}
	acc, ok := r.Metrics[accuracyMetric]
	if !ok {
		return Result{}, fmt.Errorf("lacks metric %q, read as accuracy (evaluator.accuracy_metric); it has: %s", accuracyMetric, strings.Join(names, ", "))
	}
	r.Accuracy = acc
	ints := map[string]*int64{"size_bytes": &r.SizeBytes, "weight_bytes": &r.WeightBytes, "params": &r.Params}
	floats := map[string]*float64{"test_accuracy": &r.TestAccuracy, "latency_ms": &r.LatencyMs, "reference_latency_ms": &r.ReferenceLatencyMs, "speedup": &r.Speedup}
	for _, name := range names {
		v := r.Metrics[name]
		switch {
		case ints[name] != nil:
			if v < 0 || v != math.Trunc(v) {
				return Result{}, fmt.Errorf("gives %s = %g, not a whole number ≥ 0", name, v)
			}
			*ints[name] = int64(v)
		case floats[name] != nil:
			*floats[name] = v
		case name == "examples":
			r.Examples = int(v)
		case name == "test_examples":
			r.TestExamples = int(v)
		case name == "finite":
			r.Finite = v != 0
		case name == "packed":
			r.Packed = v != 0
		}
	}
	return r, nil
}

func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	cut   bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.limit {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.limit:]...)
		t.cut = true
	}
	return len(p), nil
}

// quote is the output's tail as the end of an error message, or "" if it was silent.
func (t *tailBuffer) quote() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return " (no output)"
	}
	if t.cut {
		s = "…" + s
	}
	return "; last output:\n" + s
}

// smallFile is the size up to which ProgramDigest hashes a file's bytes; larger files
// (checkpoints passed as arguments) are identified by size and modification time.
const smallFile = 1 << 20

// ProgramDigest identifies what a command evaluator's results depend on beyond its
// settings: every argument (the program included) that names an existing file or
// folder — a script, a Go package folder, a reference checkpoint — by content (a
// folder: the files directly inside it), so that results memoized for one version of
// the program are not reused for another. "" for other kinds. {evomerge} is left out:
// the binary is large, and its version is in the memo keys already.
func (s Spec) ProgramDigest() (string, error) {
	if s.Kind != "command" {
		return "", nil
	}
	h := sha256.New()
	for i, arg := range s.Command {
		if strings.Contains(arg, "{") {
			continue
		}
		p := arg
		if _, after, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(arg, "-") {
			p = after // --flag=path
		}
		if !filepath.IsAbs(p) && !strings.ContainsRune(p, filepath.Separator) && p != "." {
			// A plain word is a flag or a value — except the program, found on PATH.
			lp, err := exec.LookPath(p)
			if i != 0 || err != nil {
				continue
			}
			p = lp
		}
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		files := []string{p}
		if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return "", fmt.Errorf("command evaluator: %w", err)
			}
			files = files[:0]
			for _, e := range entries {
				if e.Type().IsRegular() {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
		for _, f := range files {
			if err := digestFile(h, f); err != nil {
				return "", fmt.Errorf("command evaluator: %w", err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func digestFile(h io.Writer, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00%d\x00", path, st.Size())
	if st.Size() > smallFile {
		fmt.Fprintf(h, "%d\x00", st.ModTime().UnixNano())
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}
