package vptq

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// Name is the codec's registry name.
const Name = "vptq"

// Suffixes of the stored tensors and metadata key of a compressed tensor "<name>".
const (
	CodebookSuffix    = ".vq.codebook"     // F32 [2^codebook_bits, vector_length]
	IndicesSuffix     = ".vq.indices"      // U8: packed indices, codebook_bits each
	ResCodebookSuffix = ".vq.res_codebook" // F32 [2^residual_bits, vector_length]
	ResIndicesSuffix  = ".vq.res_indices"  // U8: packed residual indices
	ColScaleSuffix    = ".vq.col_scale"    // F32 [cols]: per-column σ
	ColBiasSuffix     = ".vq.col_bias"     // F32 [cols]: per-column μ
	LayoutSuffix      = ".vq"              // metadata: Layout as JSON
)

// TrainVectors is the number of vectors a codebook of k entries is trained on at most:
// 64 per entry, and no fewer than 16,384. Larger matrices train on a seeded sample and
// then assign every vector to its nearest entry.
func TrainVectors(k int) int { return max(1<<14, 64*k) }

// Settings are the codec's options, by their option names.
type Settings struct {
	VectorLength int    // vector_length: weights per vector, along a row (default 4)
	CodebookBits int    // codebook_bits: log2 of the codebook size (default 7)
	ResidualBits int    // residual_bits: log2 of the residual codebook size, 0 = none (default 1)
	Normalize    bool   // normalize: 1 = per-column mean/std normalization first (default 1)
	Iterations   int    // iterations: Lloyd iterations per codebook (default 20)
	Seed         uint64 // seed: seeds sampling and k-means++ (default 0)
}

// DefaultSettings: 4-weight vectors, a 128-entry codebook plus a 2-entry residual
// codebook — 8 bits of index per vector, 2 per weight, so that the operator reads one
// 256-entry pair table per vector — on column-normalized weights. On the demo's
// 784-256-256-10 MLP they store 2.49 bits per weight in all (indices, codebooks and
// column statistics) and keep 99.9 % of its MNIST accuracy (see the package doc).
func DefaultSettings() Settings {
	return Settings{VectorLength: 4, CodebookBits: 7, ResidualBits: 1, Normalize: true, Iterations: 20}
}

var options = []compress.Option[Settings]{
	{Name: "vector_length", Min: 1, Max: 16, Integer: true, Set: func(s *Settings, v float64) { s.VectorLength = int(v) }},
	{Name: "codebook_bits", Min: 1, Max: 12, Integer: true, Set: func(s *Settings, v float64) { s.CodebookBits = int(v) }},
	{Name: "residual_bits", Min: 0, Max: 12, Integer: true, Set: func(s *Settings, v float64) { s.ResidualBits = int(v) }},
	{Name: "normalize", Min: 0, Max: 1, Integer: true, Set: func(s *Settings, v float64) { s.Normalize = v == 1 }},
	{Name: "iterations", Min: 0, Max: 1000, Integer: true, Set: func(s *Settings, v float64) { s.Iterations = int(v) }},
	{Name: "seed", Min: 0, Max: 1 << 53, Integer: true, Set: func(s *Settings, v float64) { s.Seed = uint64(v) }},
}

func init() {
	compress.Register(Name, func(opts compress.Options) (compress.Codec, error) { return New(opts) })
}

// Codec is the VPTQ codec with its settings.
type Codec struct{ s Settings }

// New returns the codec with DefaultSettings changed by opts. Every option is an
// integer in its range (see the package doc); an unknown key is an error.
func New(opts compress.Options) (*Codec, error) {
	s := DefaultSettings()
	if err := compress.ApplyOptions(Name, opts, options, &s); err != nil {
		return nil, err
	}
	return &Codec{s: s}, nil
}

// Name returns "vptq".
func (*Codec) Name() string { return Name }

// Version identifies the encoder; bump it when its output for the same input changes.
// vptq/2 stores vectors along rows (Layout.Orientation "rows"); vptq/1 stored them
// along columns.
func (*Codec) Version() string { return "vptq/2" }

// Settings returns the codec's settings.
func (c *Codec) Settings() Settings { return c.s }

// Orientations of the vectors, the values of Layout.Orientation.
const (
	// Rows: vector (r, g) is v consecutive columns (inputs) g·v … g·v+v−1 of row r,
	// zero-padded on the right; index k = r·G + g with G = ⌈cols/v⌉. Written by vptq/2.
	Rows = "rows"
	// Columns: vector (g, c) is v consecutive rows (outputs) g·v … g·v+v−1 of column c,
	// zero-padded at the bottom; index k = g·cols + c. Written by vptq/1, whose layouts
	// have no orientation field (""), which means Columns.
	Columns = "columns"
)

// Layout is what a decoder needs besides the stored tensors: the metadata entry
// "<name>.vq", as JSON.
type Layout struct {
	Rows         int  `json:"rows"`
	Cols         int  `json:"cols"`
	VectorLength int  `json:"vector_length"`
	CodebookBits int  `json:"codebook_bits"`
	ResidualBits int  `json:"residual_bits"`
	Normalize    bool `json:"normalize"`
	// Orientation is Rows or Columns; empty (a vptq/1 file) means Columns.
	Orientation string `json:"orientation,omitempty"`
}

// rowMajor reports whether the vectors run along rows.
func (l Layout) rowMajor() bool { return l.Orientation == Rows }

// groups is the number of vectors per row (Rows) or per column (Columns).
func (l Layout) groups() int {
	if l.rowMajor() {
		return (l.Cols + l.VectorLength - 1) / l.VectorLength
	}
	return (l.Rows + l.VectorLength - 1) / l.VectorLength
}

// vectors is the number of vectors, and of indices per codebook.
func (l Layout) vectors() int {
	if l.rowMajor() {
		return l.Rows * l.groups()
	}
	return l.groups() * l.Cols
}

// Encode quantizes a 2-D F32/F16/BF16 tensor; any other tensor comes back as itself.
// It fails on a matrix holding NaN or ±Inf.
func (c *Codec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	w, ok, err := compress.WeightMatrix(Name, t)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return []*tensor.Tensor{t}, nil, nil // not a weight matrix: stored as it is
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name))
	q := Quantize(w, t.Shape[0], t.Shape[1], c.s, c.s.Seed^h.Sum64())
	meta, err := compress.EncodeLayout(t.Name+LayoutSuffix, q.Layout)
	if err != nil {
		return nil, nil, err
	}
	return q.Tensors(t.Name), meta, nil
}

// Decode rebuilds the dense F32 tensor name from its stored parts, checking each (see
// Load).
func (*Codec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	q, err := Load(name, meta, get)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(name, tensor.F32, []int{q.Rows, q.Cols}, q.Dense()), nil
}

// Quantized is one vector-quantized matrix in memory.
type Quantized struct {
	Layout
	Codebook    []float32 // 2^CodebookBits × VectorLength
	Indices     []uint16  // one per vector, in the order of the Layout's orientation
	ResCodebook []float32 // 2^ResidualBits × VectorLength, nil without residual
	ResIndices  []uint16
	ColScale    []float32 // Cols, nil without normalization
	ColBias     []float32
}

// Quantize vector-quantizes the rows×cols row-major matrix w (finite values) with s,
// seeding k-means with seed. It panics if len(w) ≠ rows·cols or s is out of range.
func Quantize(w []float32, rows, cols int, s Settings, seed uint64) *Quantized {
	if rows < 1 || cols < 1 || len(w) != rows*cols {
		panic(fmt.Sprintf("vptq.Quantize: %d weights for a %d×%d matrix", len(w), rows, cols))
	}
	q := &Quantized{Layout: Layout{Rows: rows, Cols: cols, VectorLength: s.VectorLength,
		CodebookBits: s.CodebookBits, ResidualBits: s.ResidualBits, Normalize: s.Normalize,
		Orientation: Rows}}
	v, g := s.VectorLength, q.groups()

	// Column statistics: each input channel is normalized to mean 0, deviation 1, so one
	// codebook fits columns of different scales.
	scale, bias := make([]float32, cols), make([]float32, cols)
	for c := range scale {
		scale[c] = 1
	}
	if s.Normalize {
		for c := range cols {
			var sum, sq float64
			for r := range rows {
				x := float64(w[r*cols+c])
				sum += x
				sq += x * x
			}
			mean := sum / float64(rows)
			sd := math.Sqrt(max(sq/float64(rows)-mean*mean, 0))
			bias[c] = float32(mean)
			if sd > 1e-12 {
				scale[c] = float32(sd)
			}
		}
		q.ColScale, q.ColBias = scale, bias
	}

	// The vectors: v consecutive columns of one row; the last group of a row is
	// zero-padded. Vector (r, g) starts at (r·G + g)·v, so a row's vectors are its
	// normalized weights followed by the padding.
	vecs := make([]float32, rows*g*v)
	for r := range rows {
		row := vecs[r*g*v : r*g*v+cols]
		for c := range cols {
			row[c] = (w[r*cols+c] - bias[c]) / scale[c]
		}
	}
	// Lloyd stops once 0.1% or fewer of the vectors move: later iterations barely
	// change the reconstruction.
	km := KMeansSettings{K: 1 << s.CodebookBits, Iterations: s.Iterations, Tolerance: 1e-3,
		Seed: seed, MaxTrain: TrainVectors(1 << s.CodebookBits)}
	q.Codebook, q.Indices = KMeans(vecs, v, km)
	if s.ResidualBits > 0 {
		// Residual vector quantization: a second codebook for what the first missed.
		for i, idx := range q.Indices {
			cw := q.Codebook[int(idx)*v : int(idx)*v+v]
			for j := range v {
				vecs[i*v+j] -= cw[j]
			}
		}
		km.K, km.Seed, km.MaxTrain = 1<<s.ResidualBits, seed+1, TrainVectors(1<<s.ResidualBits)
		q.ResCodebook, q.ResIndices = KMeans(vecs, v, km)
	}
	return q
}

// Tensors returns the stored form of q under name.
func (q *Quantized) Tensors(name string) []*tensor.Tensor {
	v := q.VectorLength
	out := []*tensor.Tensor{
		tensor.FromFloat32(name+CodebookSuffix, tensor.F32, []int{len(q.Codebook) / v, v}, q.Codebook),
		packed(name+IndicesSuffix, q.Indices, q.CodebookBits),
	}
	if q.ResidualBits > 0 {
		out = append(out,
			tensor.FromFloat32(name+ResCodebookSuffix, tensor.F32, []int{len(q.ResCodebook) / v, v}, q.ResCodebook),
			packed(name+ResIndicesSuffix, q.ResIndices, q.ResidualBits))
	}
	if q.Normalize {
		out = append(out,
			tensor.FromFloat32(name+ColScaleSuffix, tensor.F32, []int{q.Cols}, q.ColScale),
			tensor.FromFloat32(name+ColBiasSuffix, tensor.F32, []int{q.Cols}, q.ColBias))
	}
	return out
}

func packed(name string, idx []uint16, bits int) *tensor.Tensor {
	b := compress.PackBits(idx, bits)
	return &tensor.Tensor{Name: name, DType: tensor.U8, Shape: []int{len(b)}, Data: b}
}

// Dense returns the Rows×Cols row-major matrix q represents, in either orientation.
func (q *Quantized) Dense() []float32 {
	v, cols, groups := q.VectorLength, q.Cols, q.groups()
	out := make([]float32, q.Rows*cols)
	for r := range q.Rows {
		for c := range cols {
			// Vector i holds the weight at position j.
			i, j := (r/v)*cols+c, r%v
			if q.rowMajor() {
				i, j = r*groups+c/v, c%v
			}
			x := q.Codebook[int(q.Indices[i])*v+j]
			if q.ResidualBits > 0 {
				x += q.ResCodebook[int(q.ResIndices[i])*v+j]
			}
			if q.Normalize {
				x = x*q.ColScale[c] + q.ColBias[c]
			}
			out[r*cols+c] = x
		}
	}
	return out
}

// Load reads the compressed tensor name from a file's metadata and stored tensors (get
// looks a stored tensor up by name) without dequantizing it, checking the layout and
// every part's dtype, shape and values (finite codebooks and column statistics,
// positive scales, zero index padding, no parts the layout does not use). Errors name
// the tensor and the part. Finite parts can still multiply out to ±Inf near the float32
// limit; the evaluator's functional gate catches non-finite outputs.
func Load(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*Quantized, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("vptq: tensor %q: %s", name, fmt.Sprintf(format, a...))
	}
	var l Layout
	if err := compress.DecodeLayout(meta, name+LayoutSuffix, &l); err != nil {
		return nil, fail("%v", err)
	}
	if !compress.MatrixShapeOK(l.Rows, l.Cols) || l.VectorLength < 1 || l.VectorLength > 16 ||
		l.CodebookBits < 1 || l.CodebookBits > 16 || l.ResidualBits < 0 || l.ResidualBits > 16 {
		return nil, fail("metadata %q=%q: sizes out of range", name+LayoutSuffix, meta[name+LayoutSuffix])
	}
	switch l.Orientation {
	case Rows:
	case "", Columns:
		l.Orientation = Columns
	default:
		return nil, fail("metadata %q: unknown orientation %q (want %q or %q)", name+LayoutSuffix, l.Orientation, Rows, Columns)
	}
	q := &Quantized{Layout: l}
	n := l.vectors()
	var err error
	if q.Codebook, err = floats(get, name+CodebookSuffix, []int{1 << l.CodebookBits, l.VectorLength}); err != nil {
		return nil, fail("%v", err)
	}
	if q.Indices, err = compress.ReadPacked(get, name+IndicesSuffix, l.CodebookBits, n); err != nil {
		return nil, fail("%v", err)
	}
	if l.ResidualBits == 0 {
		if err := compress.Unused(get, name+ResCodebookSuffix, name+ResIndicesSuffix); err != nil {
			return nil, fail("%v", err)
		}
	} else {
		if q.ResCodebook, err = floats(get, name+ResCodebookSuffix, []int{1 << l.ResidualBits, l.VectorLength}); err != nil {
			return nil, fail("%v", err)
		}
		if q.ResIndices, err = compress.ReadPacked(get, name+ResIndicesSuffix, l.ResidualBits, n); err != nil {
			return nil, fail("%v", err)
		}
	}
	if !l.Normalize {
		if err := compress.Unused(get, name+ColScaleSuffix, name+ColBiasSuffix); err != nil {
			return nil, fail("%v", err)
		}
	} else {
		if q.ColScale, err = floats(get, name+ColScaleSuffix, []int{l.Cols}); err != nil {
			return nil, fail("%v", err)
		}
		for c, s := range q.ColScale {
			if !(s > 0) {
				return nil, fail("column %d scale %v is not positive", c, s)
			}
		}
		if q.ColBias, err = floats(get, name+ColBiasSuffix, []int{l.Cols}); err != nil {
			return nil, fail("%v", err)
		}
	}
	return q, nil
}

// floats reads an F32 tensor of the given shape with finite values.
func floats(get func(string) (*tensor.Tensor, error), name string, shape []int) ([]float32, error) {
	t, err := get(name)
	if err != nil {
		return nil, err
	}
	if t.DType != tensor.F32 || !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("%q is %s %v, want F32 %v", name, t.DType, t.Shape, shape)
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%q: element %d is %v", name, i, x)
		}
	}
	return v, nil
}
