package compress

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/evomerge/evomerge/tensor"
)

// Metadata keys CompressFile and CompressFilePlan add to a compressed model's
// "__metadata__".
const (
	// MetaAlgorithm holds the codec's registry name, or Mixed for a file whose tensors
	// use several codecs; its presence marks a compressed file.
	MetaAlgorithm = "compress.algorithm"
	// MetaTensors holds the comma-separated, sorted names of the compressed tensors.
	MetaTensors = "compress.tensors"
	// MetaCodecs, in a Mixed file only, holds a JSON object mapping each compressed
	// tensor (every name in MetaTensors, no other) to its codec's registry name, keys
	// sorted.
	MetaCodecs = "compress.codecs"
)

// Mixed is the MetaAlgorithm of a file whose compressed tensors do not all use one
// codec (see CompressFilePlan); MetaCodecs then names each tensor's codec. No codec may
// be registered under this name.
const Mixed = "mixed"

// Stats describes one compressed model.
type Stats struct {
	// Algorithm is the file's MetaAlgorithm: the codec's name, or Mixed.
	Algorithm string `json:"algorithm"`
	// InputBytes and OutputBytes are the sizes of the source and compressed files.
	InputBytes  int64 `json:"input_bytes"`
	OutputBytes int64 `json:"output_bytes"`
	// Ratio is InputBytes/OutputBytes.
	Ratio float64 `json:"ratio"`
	// BitsPerWeight is the stored bits of the compressed tensors (every tensor the codecs
	// stored for them: codes, scales, codebooks) divided by their element count; 0 when
	// no tensor was compressed. Metadata strings are not counted; dense tensors are not
	// in it.
	BitsPerWeight float64 `json:"bits_per_weight"`
	// CompressedTensors and DenseTensors count the source tensors a codec compressed
	// and left unchanged (not in a plan, "none", or left dense by their codec).
	CompressedTensors int `json:"compressed_tensors"`
	DenseTensors      int `json:"dense_tensors"`
	// Codecs has one entry per codec that compressed at least one tensor, by name.
	Codecs map[string]CodecStats `json:"codecs,omitempty"`
	// CachedTensors counts the compressed tensors whose encoding came from a
	// TensorCache instead of their codec (CompressFilePlan with a cache).
	CachedTensors int `json:"cached_tensors,omitempty"`
}

// CodecStats describes the tensors one codec compressed in a file.
type CodecStats struct {
	// Tensors is how many source tensors it compressed; Weights their element count.
	Tensors int   `json:"tensors"`
	Weights int64 `json:"weights"`
	// StoredBytes is the data of every tensor it stored for them.
	StoredBytes int64 `json:"stored_bytes"`
	// BitsPerWeight is 8·StoredBytes/Weights.
	BitsPerWeight float64 `json:"bits_per_weight"`
}

// CompressFile reads the safetensors model at src tensor by tensor, encodes each with c,
// and writes dst atomically (a temporary file in dst's directory, synced, then renamed)
// with deterministic bytes. The output's "__metadata__" keeps src's metadata and adds
// MetaAlgorithm = c.Name(), MetaTensors = the sorted names of the compressed tensors, and
// the codec's own entries.
//
// The codec's output for the compressed tensors is held in memory until the file is
// written; tensors the codec leaves dense are read from src again while writing, so peak
// memory is about one source tensor plus the compressed model.
//
// It stops between tensors once ctx is done, writing nothing. It fails, naming the file
// and tensor, if src is already compressed (has MetaAlgorithm), if the codec fails, if a
// stored tensor name or a metadata key would be written twice, or if a compressed
// tensor's name contains a comma.
func CompressFile(ctx context.Context, c Codec, src, dst string) (Stats, error) {
	enc := &encoder{codec: c}
	return compressFile(ctx, src, dst, func(string) (*encoder, bool) { return enc, true }, nil, c.Name())
}

// encoder is the codec one source tensor is encoded with; options are the canonical
// form of the options it was built with (CanonicalOptions), part of its cache key.
type encoder struct {
	codec   Codec
	options string
}

// compressFile is CompressFile and CompressFilePlan: pick returns the encoder of a
// source tensor, or false to keep it dense; cache, if not nil, memoizes encodings;
// single is the MetaAlgorithm written when no tensor ends up compressed ("" for Mixed).
// When the compressed tensors all use one codec the file is in that codec's format
// (MetaAlgorithm = its name), otherwise Mixed with MetaCodecs.
func compressFile(ctx context.Context, src, dst string, pick func(name string) (*encoder, bool), cache TensorCache, single string) (Stats, error) {
	f, err := tensor.Open(src)
	if err != nil {
		return Stats{}, fmt.Errorf("compress: %w", err)
	}
	defer f.Close()

	meta := f.Metadata()
	if alg, ok := meta[MetaAlgorithm]; ok {
		return Stats{}, fmt.Errorf("compress: %s is already compressed (%s=%q); compress the original model instead", src, MetaAlgorithm, alg)
	}

	// Encode every tensor; keep the codecs' output, remember the dense ones by name.
	var (
		stats      Stats
		infos      []tensor.Info
		encoded    = map[string]*tensor.Tensor{} // stored tensors of compressed inputs
		dense      = map[string]bool{}           // names re-read from src when writing
		outNames   = map[string]string{}         // output tensor name → source tensor
		compressed []string
		codecOf    = map[string]string{} // compressed tensor → codec name
		perCodec   = map[string]CodecStats{}
		storedBits int64
		weights    int64
	)
	codecMeta := map[string]string{}
	for _, in := range f.Infos() {
		if err := ctx.Err(); err != nil {
			return Stats{}, fmt.Errorf("compress: %s: stopped before tensor %q: %w", src, in.Name, err)
		}
		t, err := f.Read(in.Name)
		if err != nil {
			return Stats{}, fmt.Errorf("compress: %w", err)
		}
		enc, ok := pick(in.Name)
		stored, m, isDense := []*tensor.Tensor{t}, map[string]string(nil), true
		cached := false
		if ok {
			if stored, m, cached, err = enc.encode(t, cache); err != nil {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: %w", src, in.Name, err)
			}
			isDense = len(stored) == 1 && stored[0] == t && len(m) == 0
		}
		var bytes int64
		for _, s := range stored {
			if s == nil {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: codec %s returned a nil tensor", src, in.Name, enc.codec.Name())
			}
			if prev, dup := outNames[s.Name]; dup {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: output name %q is already used by the output of tensor %q", src, in.Name, s.Name, prev)
			}
			outNames[s.Name] = in.Name
			infos = append(infos, tensor.Info{Name: s.Name, DType: s.DType, Shape: s.Shape})
			if !isDense {
				encoded[s.Name] = s
				bytes += int64(len(s.Data))
			}
		}
		if isDense {
			dense[in.Name] = true
			stats.DenseTensors++
			continue
		}
		if strings.Contains(in.Name, ",") {
			return Stats{}, fmt.Errorf("compress: %s: tensor %q: a compressed tensor's name cannot contain a comma (%s is a comma-separated list)", src, in.Name, MetaTensors)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if _, dup := codecMeta[k]; dup {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: codec metadata key %q is written twice", src, in.Name, k)
			}
			codecMeta[k] = m[k]
		}
		name := enc.codec.Name()
		compressed = append(compressed, in.Name)
		codecOf[in.Name] = name
		cs := perCodec[name]
		cs.Tensors++
		cs.Weights += int64(t.NumElements())
		cs.StoredBytes += bytes
		perCodec[name] = cs
		storedBits += 8 * bytes
		weights += int64(t.NumElements())
		stats.CompressedTensors++
		if cached {
			stats.CachedTensors++
		}
	}

	stats.Algorithm = single
	switch {
	case len(perCodec) == 1:
		for name := range perCodec {
			stats.Algorithm = name
		}
	case len(perCodec) > 1 || single == "":
		stats.Algorithm = Mixed
	}
	for _, k := range slices.Sorted(maps.Keys(codecMeta)) {
		if _, dup := meta[k]; dup || k == MetaAlgorithm || k == MetaTensors || (stats.Algorithm == Mixed && k == MetaCodecs) {
			return Stats{}, fmt.Errorf("compress: %s: codec metadata key %q clashes with an existing metadata key", src, k)
		}
		meta[k] = codecMeta[k]
	}
	if stats.Algorithm == Mixed {
		if _, dup := meta[MetaCodecs]; dup {
			return Stats{}, fmt.Errorf("compress: %s: metadata key %q is already set in the source", src, MetaCodecs)
		}
		b, err := json.Marshal(codecOf) // keys sorted
		if err != nil {
			return Stats{}, fmt.Errorf("compress: %s: %w", src, err)
		}
		meta[MetaCodecs] = string(b)
	}
	meta[MetaAlgorithm] = stats.Algorithm
	meta[MetaTensors] = strings.Join(compressed, ",") // f.Infos() is sorted, so this is too
	if weights > 0 {
		stats.BitsPerWeight = float64(storedBits) / float64(weights)
	}
	if len(perCodec) > 0 {
		stats.Codecs = perCodec
		for name, cs := range perCodec {
			cs.BitsPerWeight = 8 * float64(cs.StoredBytes) / float64(cs.Weights)
			perCodec[name] = cs
		}
	}

	// Write the tensors in name order, the order of the header.
	slices.SortFunc(infos, func(a, b tensor.Info) int { return strings.Compare(a.Name, b.Name) })
	err = tensor.WriteAtomic(dst, func(w io.Writer) error {
		tw, err := tensor.NewWriter(w, meta, infos)
		if err != nil {
			return err
		}
		for _, info := range infos {
			t := encoded[info.Name]
			if dense[info.Name] {
				if t, err = f.Read(info.Name); err != nil {
					return err
				}
			}
			if err := tw.Write(t); err != nil {
				return err
			}
		}
		return tw.Close()
	})
	if err != nil {
		return Stats{}, fmt.Errorf("compress: %w", err)
	}

	if stats.InputBytes, err = fileSize(src); err != nil {
		return Stats{}, err
	}
	if stats.OutputBytes, err = fileSize(dst); err != nil {
		return Stats{}, err
	}
	if stats.OutputBytes > 0 {
		stats.Ratio = float64(stats.InputBytes) / float64(stats.OutputBytes)
	}
	return stats, nil
}

// fileCodecs returns the compressed tensors of a file with metadata meta, in MetaTensors
// order, and the codec of each (built with no options: decoders read everything from
// the file). Errors name the file.
func fileCodecs(path string, meta map[string]string) ([]string, map[string]Codec, error) {
	alg, ok := meta[MetaAlgorithm]
	if !ok {
		return nil, nil, nil
	}
	names := splitNames(meta[MetaTensors])
	byCodec := map[string]Codec{}
	build := func(name string) (Codec, error) {
		if c, ok := byCodec[name]; ok {
			return c, nil
		}
		c, err := New(name, nil)
		if err != nil {
			return nil, fmt.Errorf("compress: %s: %w (is the codec's package, or compress/all, imported?)", path, err)
		}
		byCodec[name] = c
		return c, nil
	}
	out := map[string]Codec{}
	if alg != Mixed {
		c, err := build(alg)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range names {
			out[n] = c
		}
		return names, out, nil
	}
	var codecOf map[string]string
	if err := DecodeLayout(meta, MetaCodecs, &codecOf); err != nil {
		return nil, nil, fmt.Errorf("compress: %s: %s file: %w", path, Mixed, err)
	}
	for _, n := range names {
		cn, ok := codecOf[n]
		if !ok {
			return nil, nil, fmt.Errorf("compress: %s: tensor %q is listed in %s but has no codec in %s", path, n, MetaTensors, MetaCodecs)
		}
		c, err := build(cn)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (tensor %q)", err, n)
		}
		out[n] = c
	}
	for _, n := range slices.Sorted(maps.Keys(codecOf)) {
		if _, ok := out[n]; !ok {
			return nil, nil, fmt.Errorf("compress: %s: tensor %q has a codec in %s but is not listed in %s", path, n, MetaCodecs, MetaTensors)
		}
	}
	return names, out, nil
}

// ReadDense reads a safetensors model, compressed by CompressFile or CompressFilePlan or
// not, and returns every logical tensor as dense F32 (shape kept, other dtypes
// converted), sorted by name, plus the file's metadata.
//
// For a compressed file the codec registered under its MetaAlgorithm (in a Mixed file:
// the tensor's codec in MetaCodecs) is built with no options and decodes each tensor
// listed in MetaTensors; the stored tensors the decoders do not ask for are the dense
// ones. A binary must import github.com/evomerge/evomerge/compress/all (or the codecs'
// packages) for the lookup to succeed. Errors name the file and the tensor.
func ReadDense(path string) ([]*tensor.Tensor, map[string]string, error) {
	f, err := tensor.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("compress: %w", err)
	}
	defer f.Close()
	meta := f.Metadata()

	var out []*tensor.Tensor
	consumed := map[string]bool{} // stored tensors that are parts of compressed ones
	names, codecs, err := fileCodecs(path, meta)
	if err != nil {
		return nil, nil, err
	}
	get := func(name string) (*tensor.Tensor, error) {
		consumed[name] = true
		return f.Read(name)
	}
	for _, name := range names {
		c := codecs[name]
		alg := c.Name()
		t, err := c.Decode(name, meta, get)
		if err != nil {
			return nil, nil, fmt.Errorf("compress: %s: decode %s tensor %q: %w", path, alg, name, err)
		}
		if t.DType != tensor.F32 || t.Name != name || len(t.Data) != 4*t.NumElements() {
			return nil, nil, fmt.Errorf("compress: %s: %s decoder returned %s tensor %q of shape %v with %d bytes for %q; want F32",
				path, alg, t.DType, t.Name, t.Shape, len(t.Data), name)
		}
		out = append(out, t)
	}
	for _, info := range f.Infos() {
		if consumed[info.Name] {
			continue
		}
		t, err := f.Read(info.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("compress: %w", err)
		}
		if t, err = toF32(t); err != nil {
			return nil, nil, fmt.Errorf("compress: %s: %w", path, err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tensor.Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, nil, fmt.Errorf("compress: %s: tensor %q is both stored dense and listed in %s", path, out[i].Name, MetaTensors)
		}
	}
	return out, meta, nil
}

// splitNames splits a MetaTensors value; the empty string lists no tensor.
func splitNames(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// toF32 returns t converted to F32 (t itself when it already is).
func toF32(t *tensor.Tensor) (*tensor.Tensor, error) {
	if t.DType == tensor.F32 {
		return t, nil
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(t.Name, tensor.F32, t.Shape, v), nil
}

// fileSize is the size of the file at path in bytes.
func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("compress: %w", err)
	}
	return st.Size(), nil
}
