package tensor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ShardedWriter streams a checkpoint directory tensor by tensor: the layout (which tensor
// goes to which shard) is planned from the tensor list up front, so shard file names can
// carry their count (model-00001-of-00003.safetensors) while only one tensor at a time
// is in memory. Tensors must be written in the order they were given.
//
// Packing is greedy in the given order: a shard takes tensors until the next one would
// take it past maxShardBytes of tensor data (headers not counted); a tensor larger than
// that gets a shard of its own. One shard is written as model.safetensors with no index;
// several as model-0000i-of-0000N.safetensors plus model.safetensors.index.json
// ({"metadata": {"total_size": N}, "weight_map": {...}}, as WriteSharded writes it).
// Every shard carries metadata as its "__metadata__".
//
// Files go straight into dir, which must exist, and are fsynced when complete; the index
// is written last. ShardedWriter does not make the directory appear atomically: write into
// a temporary directory and rename it. After an error, Abort removes what was written.
type ShardedWriter struct {
	dir     string
	meta    map[string]string
	shards  []shardPlan
	cur     int // index of the open shard, -1 before the first
	f       *os.File
	bw      *bufio.Writer
	sw      *Writer
	left    int // tensors still to write into the open shard
	written int
	files   []string
	total   int64
	done    bool
	err     error
}

type shardPlan struct {
	name  string
	infos []Info
}

// NewShardedWriter validates infos (as NewWriter does) and plans the shards of a
// checkpoint in dir holding them, in that order, with at most maxShardBytes bytes of
// tensor data per shard. Nothing is written until the first tensor.
func NewShardedWriter(dir string, metadata map[string]string, infos []Info, maxShardBytes int64) (*ShardedWriter, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{dir}, args...)...)
	}
	if maxShardBytes <= 0 {
		return nil, fail("maximum shard size %d bytes is not positive", maxShardBytes)
	}
	layout, _, err := buildHeader(metadata, infos)
	if err != nil {
		return nil, fail("%w", err)
	}
	w := &ShardedWriter{dir: dir, meta: metadata, cur: -1}
	var shardBytes int64
	for _, info := range layout {
		n := info.End - info.Begin
		if len(w.shards) == 0 || (len(w.shards[len(w.shards)-1].infos) > 0 && shardBytes+n > maxShardBytes) {
			w.shards = append(w.shards, shardPlan{})
			shardBytes = 0
		}
		last := &w.shards[len(w.shards)-1]
		last.infos = append(last.infos, Info{Name: info.Name, DType: info.DType, Shape: info.Shape})
		shardBytes += n
		w.total += n
	}
	if len(w.shards) == 0 {
		w.shards = []shardPlan{{}}
	}
	for i := range w.shards {
		if len(w.shards) == 1 {
			w.shards[i].name = singleFileName
		} else {
			w.shards[i].name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(w.shards))
		}
	}
	return w, nil
}

// Shards is the number of shard files the checkpoint will have.
func (w *ShardedWriter) Shards() int { return len(w.shards) }

// Files lists the files written so far (full paths).
func (w *ShardedWriter) Files() []string { return append([]string(nil), w.files...) }

func (w *ShardedWriter) setErr(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// target returns the Writer of the shard the next tensor goes to, finishing the open
// shard and starting the next one as needed.
func (w *ShardedWriter) target() (*Writer, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.done {
		return nil, w.setErr(fmt.Errorf("safetensors: %s: Write after Close", w.dir))
	}
	for w.sw == nil || w.left == 0 {
		if w.sw != nil {
			if err := w.finishShard(); err != nil {
				return nil, err
			}
		}
		if w.cur+1 >= len(w.shards) {
			return nil, w.setErr(fmt.Errorf("safetensors: %s: all %d tensors are already written", w.dir, w.count()))
		}
		if err := w.openShard(); err != nil {
			return nil, err
		}
	}
	return w.sw, nil
}

// openShard creates the next shard file and writes its header.
func (w *ShardedWriter) openShard() error {
	w.cur++
	plan := w.shards[w.cur]
	path := filepath.Join(w.dir, plan.name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return w.setErr(fmt.Errorf("safetensors: %w", err))
	}
	w.files = append(w.files, path)
	w.f = f
	w.bw = bufio.NewWriterSize(f, 1<<20)
	sw, err := newWriter(w.bw, path, w.meta, plan.infos)
	if err != nil {
		return w.setErr(err)
	}
	w.sw, w.left = sw, len(plan.infos)
	return nil
}

func (w *ShardedWriter) count() int {
	n := 0
	for _, s := range w.shards {
		n += len(s.infos)
	}
	return n
}

// finishShard completes, flushes, fsyncs and closes the open shard.
func (w *ShardedWriter) finishShard() error {
	path := filepath.Join(w.dir, w.shards[w.cur].name)
	if err := w.sw.Close(); err != nil {
		return w.setErr(err)
	}
	if err := w.bw.Flush(); err != nil {
		return w.setErr(fmt.Errorf("safetensors: %s: %w", path, err))
	}
	if err := w.f.Sync(); err != nil {
		return w.setErr(fmt.Errorf("safetensors: %s: fsync: %w", path, err))
	}
	err := w.f.Close()
	w.f, w.sw, w.bw = nil, nil, nil
	if err != nil {
		return w.setErr(fmt.Errorf("safetensors: %s: %w", path, err))
	}
	return nil
}

// Write appends t, the next tensor in the order given to NewShardedWriter.
func (w *ShardedWriter) Write(t *Tensor) error {
	sw, err := w.target()
	if err != nil {
		return err
	}
	if err := sw.Write(t); err != nil {
		return w.setErr(err)
	}
	w.left--
	w.written++
	return nil
}

// WriteFloat32 appends the next tensor from float32 values, encoded in chunks to its
// dtype (see Writer.WriteFloat32).
func (w *ShardedWriter) WriteFloat32(name string, values []float32) error {
	sw, err := w.target()
	if err != nil {
		return err
	}
	if err := sw.WriteFloat32(name, values); err != nil {
		return w.setErr(err)
	}
	w.left--
	w.written++
	return nil
}

// Close finishes the last shard and writes the index (for more than one shard). It is an
// error if not every tensor was written.
func (w *ShardedWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return nil
	}
	if n := w.count(); w.written != n {
		return w.setErr(fmt.Errorf("safetensors: %s: Close after %d of %d tensors", w.dir, w.written, n))
	}
	if w.cur < 0 { // no tensors at all: an empty model.safetensors
		if err := w.openShard(); err != nil {
			return err
		}
	}
	if err := w.finishShard(); err != nil {
		return err
	}
	w.done = true
	if len(w.shards) == 1 {
		return nil
	}
	var index struct {
		Metadata struct {
			TotalSize int64 `json:"total_size"`
		} `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	index.Metadata.TotalSize = w.total
	index.WeightMap = map[string]string{}
	for _, s := range w.shards {
		for _, info := range s.infos {
			index.WeightMap[info.Name] = s.name
		}
	}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return w.setErr(fmt.Errorf("safetensors: encode index: %w", err))
	}
	b = append(b, '\n')
	path := filepath.Join(w.dir, indexFileName)
	err = WriteAtomic(path, func(out io.Writer) error {
		_, err := out.Write(b)
		return err
	})
	if err != nil {
		return w.setErr(err)
	}
	w.files = append(w.files, path)
	return nil
}

// Abort closes an open shard and removes every file this writer created. It reports the
// first removal error; calling it after a successful Close removes the checkpoint.
func (w *ShardedWriter) Abort() error {
	if w.f != nil {
		w.f.Close()
		w.f, w.sw, w.bw = nil, nil, nil
	}
	w.setErr(errors.New("safetensors: writer aborted"))
	var errs []error
	for _, p := range w.files {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	w.files = nil
	return errors.Join(errs...)
}
