package tensor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// File names of a checkpoint directory, as Hugging Face transformers writes them.
const (
	singleFileName = "model.safetensors"
	indexFileName  = "model.safetensors.index.json"
	shardPattern   = "model-?????-of-?????.safetensors" // filepath.Match syntax
)

// Checkpoint is an open model checkpoint: a single .safetensors file, a directory with
// model.safetensors, or a directory with model.safetensors.index.json and the shards it
// names. Read is safe for concurrent use; Close must not run concurrently with Read.
type Checkpoint struct {
	path   string
	shards []*File           // sorted by file name
	owner  map[string]*File  // tensor name -> the shard holding it
	infos  []Info            // all tensors, sorted by name
	meta   map[string]string // merged metadata
}

// OpenCheckpoint opens the checkpoint at path: a safetensors file, or a directory with
// either model.safetensors or model.safetensors.index.json (both at once is an error,
// since it is ambiguous which is current).
//
// For a sharded checkpoint every shard named in the index's weight_map is opened and
// validated, and the index must agree with the shards exactly: a missing shard, a tensor
// listed in the index but absent from its shard (or present in another one), a tensor in
// a shard that the index does not list, and a tensor present in two shards are errors.
// Files in the directory that the index does not name are ignored, as are index keys
// other than "metadata" and "weight_map".
func OpenCheckpoint(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.IsDir() {
		return openSingle(path, path)
	}
	indexPath := filepath.Join(path, indexFileName)
	singlePath := filepath.Join(path, singleFileName)
	hasIndex, err := fileExists(indexPath)
	if err != nil {
		return nil, err
	}
	hasSingle, err := fileExists(singlePath)
	if err != nil {
		return nil, err
	}
	switch {
	case hasIndex && hasSingle:
		return nil, fmt.Errorf("safetensors: %s: both %s and %s exist; it is ambiguous which is current, remove the stale one", path, singleFileName, indexFileName)
	case hasIndex:
		return openSharded(path, indexPath)
	case hasSingle:
		return openSingle(path, singlePath)
	}
	return nil, fmt.Errorf("safetensors: %s: directory has neither %s nor %s", path, singleFileName, indexFileName)
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("safetensors: %w", err)
	}
	return true, nil
}

func openSingle(path, file string) (*Checkpoint, error) {
	f, err := Open(file)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{path: path, shards: []*File{f}, owner: make(map[string]*File, len(f.infos)), infos: f.infos, meta: f.meta}
	for _, info := range f.infos {
		c.owner[info.Name] = f
	}
	return c, nil
}

// shardIndex is the parsed model.safetensors.index.json.
type shardIndex struct {
	meta      map[string]string // the string values of "metadata"
	weightMap map[string]string // tensor name -> shard file name
}

func readShardIndex(indexPath string) (*shardIndex, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{indexPath}, args...)...)
	}
	f, err := os.Open(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHeaderBytes+1))
	if err != nil {
		return nil, fail("%w", err)
	}
	if len(data) > maxHeaderBytes {
		return nil, fail("index is larger than the limit of %d bytes", maxHeaderBytes)
	}
	idx := &shardIndex{meta: map[string]string{}, weightMap: map[string]string{}}
	haveWeightMap := false
	err = forEachMember(data, func(key string, value json.RawMessage) error {
		switch key {
		case "metadata":
			err := forEachMember(value, func(k string, v json.RawMessage) error {
				// Only string values are metadata in our sense; Hugging Face stores
				// "total_size" as a number, which is derivable from the shards anyway.
				if len(v) > 0 && v[0] == '"' {
					var s string
					if err := json.Unmarshal(v, &s); err != nil {
						return fmt.Errorf("value of %q: %w", k, err)
					}
					idx.meta[k] = s
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("metadata: %w", err)
			}
		case "weight_map":
			haveWeightMap = true
			err := forEachMember(value, func(name string, v json.RawMessage) error {
				var shard string
				if len(v) == 0 || v[0] != '"' {
					return fmt.Errorf("tensor %q maps to %s, not a file name", name, abbreviate(v))
				}
				if err := json.Unmarshal(v, &shard); err != nil {
					return fmt.Errorf("tensor %q: %w", name, err)
				}
				if shard == "" || shard == "." || shard == ".." || strings.ContainsAny(shard, `/\`) {
					return fmt.Errorf("tensor %q maps to %q, which is not a file name in the checkpoint directory", name, shard)
				}
				idx.weightMap[name] = shard
				return nil
			})
			if err != nil {
				return fmt.Errorf("weight_map: %w", err)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, fail("%w", err)
	case !haveWeightMap:
		return nil, fail(`missing "weight_map"`)
	case len(idx.weightMap) == 0:
		return nil, fail(`"weight_map" is empty`)
	}
	return idx, nil
}

func openSharded(dir, indexPath string) (_ *Checkpoint, err error) {
	idx, err := readShardIndex(indexPath)
	if err != nil {
		return nil, err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{indexPath}, args...)...)
	}

	// The shards, in file name order, each with the first tensor the index puts there.
	firstTensor := map[string]string{}
	for _, name := range sortedKeys(idx.weightMap) {
		if shard := idx.weightMap[name]; firstTensor[shard] == "" {
			firstTensor[shard] = name
		}
	}
	shardNames := sortedKeys(firstTensor)

	c := &Checkpoint{path: dir, owner: map[string]*File{}, meta: map[string]string{}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, shard := range shardNames {
		p := filepath.Join(dir, shard)
		if _, err := os.Stat(p); err != nil {
			return nil, fail("weight_map references missing shard %q (for tensor %q): %w", shard, firstTensor[shard], err)
		}
		f, err := Open(p)
		if err != nil {
			return nil, err
		}
		c.shards = append(c.shards, f)
	}

	// Every tensor in exactly one shard, and in the shard the index says.
	for _, f := range c.shards {
		for _, info := range f.infos {
			if other, dup := c.owner[info.Name]; dup {
				return nil, fail("tensor %q is in two shards, %s and %s", info.Name, filepath.Base(other.path), filepath.Base(f.path))
			}
			c.owner[info.Name] = f
			c.infos = append(c.infos, info)
		}
	}
	for _, name := range sortedKeys(idx.weightMap) {
		shard := idx.weightMap[name]
		f, ok := c.owner[name]
		switch {
		case !ok:
			return nil, fail("weight_map lists tensor %q in %s, but that shard does not contain it", name, shard)
		case filepath.Base(f.path) != shard:
			return nil, fail("weight_map lists tensor %q in %s, but it is in %s", name, shard, filepath.Base(f.path))
		}
	}
	sort.Slice(c.infos, func(i, j int) bool { return c.infos[i].Name < c.infos[j].Name })
	for _, info := range c.infos {
		if _, ok := idx.weightMap[info.Name]; !ok {
			return nil, fail("shard %s holds tensor %q, which weight_map does not list", filepath.Base(c.owner[info.Name].path), info.Name)
		}
	}

	// Metadata: the union of the index's string metadata and every shard's __metadata__;
	// a key with two different values is an error, since picking one could decode a
	// tensor with another tensor's parameters.
	source := map[string]string{}
	merge := func(from string, meta map[string]string) error {
		for _, k := range sortedKeys(meta) {
			v := meta[k]
			if old, ok := c.meta[k]; ok && old != v {
				return fail("metadata %q is %q in %s but %q in %s", k, old, source[k], v, from)
			}
			c.meta[k] = v
			if _, ok := source[k]; !ok {
				source[k] = from
			}
		}
		return nil
	}
	if err := merge(indexFileName, idx.meta); err != nil {
		return nil, err
	}
	for _, f := range c.shards {
		if err := merge(filepath.Base(f.path), f.meta); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Metadata returns a copy of the checkpoint's metadata, never nil. For a single file it
// is the file's "__metadata__". For a sharded checkpoint it is the union of the index's
// "metadata" entries that are strings (so not Hugging Face's numeric "total_size") and
// every shard's "__metadata__"; OpenCheckpoint fails if two of them give one key
// different values.
func (c *Checkpoint) Metadata() map[string]string {
	out := make(map[string]string, len(c.meta))
	for k, v := range c.meta {
		out[k] = v
	}
	return out
}

// Infos describes every tensor of every shard, sorted by name. Begin and End are
// relative to the data section of the tensor's own shard.
func (c *Checkpoint) Infos() []Info {
	out := make([]Info, len(c.infos))
	for i, info := range c.infos {
		out[i] = info.clone()
	}
	return out
}

// Read loads the tensor called name from its shard. Errors name the shard file and the
// tensor.
func (c *Checkpoint) Read(name string) (*Tensor, error) {
	f, ok := c.owner[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", c.path, name)
	}
	return f.Read(name)
}

// Close closes every shard and reports all errors.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.shards {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// WriteSharded writes tensors and metadata as a checkpoint directory dir (created if
// needed), split into shards of at most maxShardBytes bytes of tensor data each (headers
// not counted; a tensor larger than that gets a shard of its own).
//
// Tensors are sorted by name and packed greedily in that order. A single shard is written
// as model.safetensors with no index; several are written as
// model-00001-of-0000N.safetensors ... plus model.safetensors.index.json with
// {"metadata": {"total_size": total tensor bytes}, "weight_map": {...}}. Every shard
// carries the full metadata in its "__metadata__". Each file is written atomically (see
// WriteFile), shards before the index. Checkpoint files of an earlier layout in dir
// (model.safetensors, the index, model-?????-of-?????.safetensors not written now) are
// removed afterwards, so OpenCheckpoint sees only the new checkpoint. Everything is
// validated before the first file is written. The output is deterministic.
func WriteSharded(dir string, metadata map[string]string, tensors []*Tensor, maxShardBytes int64) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{dir}, args...)...)
	}
	if maxShardBytes <= 0 {
		return fail("maximum shard size %d bytes is not positive", maxShardBytes)
	}
	sorted := make([]*Tensor, len(tensors))
	for i, t := range tensors {
		if t == nil {
			return fail("tensor %d of %d is nil", i+1, len(tensors))
		}
		sorted[i] = t
	}
	slices.SortStableFunc(sorted, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	infos := make([]Info, len(sorted))
	for i, t := range sorted {
		infos[i] = Info{Name: t.Name, DType: t.DType, Shape: t.Shape}
	}
	layout, _, err := buildHeader(metadata, infos)
	if err != nil {
		return fail("%w", err)
	}

	var shards [][]*Tensor
	var shardBytes, total int64
	for i, t := range sorted {
		n := layout[i].End - layout[i].Begin
		if int64(len(t.Data)) != n {
			return fail("tensor %q: %d bytes of data, but dtype %s × shape %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, n)
		}
		if len(shards) == 0 || (len(shards[len(shards)-1]) > 0 && shardBytes+n > maxShardBytes) {
			shards = append(shards, nil)
			shardBytes = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], t)
		shardBytes += n
		total += n
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%w", err)
	}
	if len(shards) <= 1 {
		if err := WriteFile(filepath.Join(dir, singleFileName), metadata, sorted); err != nil {
			return err
		}
		return removeStale(dir, map[string]bool{singleFileName: true})
	}

	keep := map[string]bool{indexFileName: true}
	weightMap := map[string]string{}
	for i, shard := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		keep[name] = true
		for _, t := range shard {
			weightMap[t.Name] = name
		}
		if err := WriteFile(filepath.Join(dir, name), metadata, shard); err != nil {
			return err
		}
	}
	var index struct {
		Metadata struct {
			TotalSize int64 `json:"total_size"`
		} `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	index.Metadata.TotalSize = total
	index.WeightMap = weightMap
	indexJSON, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return fail("encode index: %w", err)
	}
	indexJSON = append(indexJSON, '\n')
	err = WriteAtomic(filepath.Join(dir, indexFileName), func(w io.Writer) error {
		if _, err := w.Write(indexJSON); err != nil {
			return fmt.Errorf("safetensors: %s: %w", filepath.Join(dir, indexFileName), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return removeStale(dir, keep)
}

// removeStale deletes checkpoint files in dir that are not in keep.
func removeStale(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		shard, _ := filepath.Match(shardPattern, name)
		if keep[name] || !(shard || name == singleFileName || name == indexFileName) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("safetensors: remove stale checkpoint file: %w", err)
		}
	}
	return nil
}
