package compress

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/evomerge/evomerge/tensor"
)

// Metadata keys CompressFile adds to a compressed model's "__metadata__".
const (
	// MetaAlgorithm holds the codec's registry name; its presence marks a compressed file.
	MetaAlgorithm = "compress.algorithm"
	// MetaTensors holds the comma-separated, sorted names of the compressed tensors.
	MetaTensors = "compress.tensors"
)

// Stats describes one compressed model.
type Stats struct {
	Algorithm string `json:"algorithm"`
	// InputBytes and OutputBytes are the sizes of the source and compressed files.
	InputBytes  int64 `json:"input_bytes"`
	OutputBytes int64 `json:"output_bytes"`
	// Ratio is InputBytes/OutputBytes.
	Ratio float64 `json:"ratio"`
	// BitsPerWeight is the stored bits of the compressed tensors (every tensor the codec
	// stored for them: codes, scales, codebooks) divided by their element count; 0 when
	// no tensor was compressed. Metadata strings are not counted.
	BitsPerWeight float64 `json:"bits_per_weight"`
	// CompressedTensors and DenseTensors count the source tensors the codec compressed
	// and left unchanged.
	CompressedTensors int `json:"compressed_tensors"`
	DenseTensors      int `json:"dense_tensors"`
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
	f, err := tensor.Open(src)
	if err != nil {
		return Stats{}, fmt.Errorf("compress: %w", err)
	}
	defer f.Close()

	meta := f.Metadata()
	if alg, ok := meta[MetaAlgorithm]; ok {
		return Stats{}, fmt.Errorf("compress: %s is already compressed (%s=%q); compress the original model instead", src, MetaAlgorithm, alg)
	}

	// Encode every tensor; keep the codec's output, remember the dense ones by name.
	stats := Stats{Algorithm: c.Name()}
	var (
		infos      []tensor.Info
		encoded    = map[string]*tensor.Tensor{} // stored tensors of compressed inputs
		dense      = map[string]bool{}           // names re-read from src when writing
		outNames   = map[string]string{}         // output tensor name → source tensor
		compressed []string
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
		stored, m, err := c.Encode(t)
		if err != nil {
			return Stats{}, fmt.Errorf("compress: %s: tensor %q: %w", src, in.Name, err)
		}
		isDense := len(stored) == 1 && stored[0] == t && len(m) == 0
		for _, s := range stored {
			if s == nil {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: codec %s returned a nil tensor", src, in.Name, c.Name())
			}
			if prev, dup := outNames[s.Name]; dup {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: output name %q is already used by the output of tensor %q", src, in.Name, s.Name, prev)
			}
			outNames[s.Name] = in.Name
			infos = append(infos, tensor.Info{Name: s.Name, DType: s.DType, Shape: s.Shape})
			if !isDense {
				encoded[s.Name] = s
				storedBits += 8 * int64(len(s.Data))
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
		compressed = append(compressed, in.Name)
		weights += int64(t.NumElements())
		stats.CompressedTensors++
	}
	for _, k := range slices.Sorted(maps.Keys(codecMeta)) {
		if _, dup := meta[k]; dup || k == MetaAlgorithm || k == MetaTensors {
			return Stats{}, fmt.Errorf("compress: %s: codec metadata key %q clashes with an existing metadata key", src, k)
		}
		meta[k] = codecMeta[k]
	}
	meta[MetaAlgorithm] = c.Name()
	meta[MetaTensors] = strings.Join(compressed, ",") // f.Infos() is sorted, so this is too
	if weights > 0 {
		stats.BitsPerWeight = float64(storedBits) / float64(weights)
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

// ReadDense reads a safetensors model, compressed by CompressFile or not, and returns
// every logical tensor as dense F32 (shape kept, other dtypes converted), sorted by
// name, plus the file's metadata.
//
// For a compressed file the codec registered under its MetaAlgorithm is built with no
// options and decodes each tensor listed in MetaTensors; the stored tensors the decoder
// does not ask for are the dense ones. A binary must import
// github.com/evomerge/evomerge/compress/all (or the codec's package) for the lookup to
// succeed. Errors name the file and the tensor.
func ReadDense(path string) ([]*tensor.Tensor, map[string]string, error) {
	f, err := tensor.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("compress: %w", err)
	}
	defer f.Close()
	meta := f.Metadata()

	var out []*tensor.Tensor
	consumed := map[string]bool{} // stored tensors that are parts of compressed ones
	if alg, ok := meta[MetaAlgorithm]; ok {
		c, err := New(alg, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("compress: %s: %w (is the codec's package, or compress/all, imported?)", path, err)
		}
		get := func(name string) (*tensor.Tensor, error) {
			consumed[name] = true
			return f.Read(name)
		}
		for _, name := range splitNames(meta[MetaTensors]) {
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
