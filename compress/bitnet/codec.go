package bitnet

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// Name is the codec's registry name.
const Name = "bitnet"

// Suffixes of the stored tensors and metadata key of a compressed tensor "<name>".
const (
	TernarySuffix = ".ternary" // U8 [rows, ceil(cols/4)]: the packed codes
	ScaleSuffix   = ".scale"   // F32 [1]: γ
	ShapeSuffix   = ".shape"   // metadata "rows,cols": the original shape
)

func init() {
	compress.Register(Name, func(opts compress.Options) (compress.Codec, error) { return New(opts) })
}

// Codec is the BitNet b1.58 codec. It has no options.
type Codec struct{}

// New returns the codec. opts must be empty: bitnet has no settings, and an unknown key
// is an error rather than silently ignored.
func New(opts compress.Options) (*Codec, error) {
	if len(opts) > 0 {
		keys := make([]string, 0, len(opts))
		for k := range opts {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("bitnet: unknown option(s) %s: the bitnet codec takes no options", strings.Join(keys, ", "))
	}
	return &Codec{}, nil
}

// Name returns "bitnet".
func (*Codec) Name() string { return Name }

// Version identifies the encoder; bump it when its output for the same input changes.
func (*Codec) Version() string { return "bitnet/1" }

// Encode quantizes a 2-D F32/F16/BF16 tensor to "<name>.ternary" and "<name>.scale" with
// metadata "<name>.shape"; any other tensor (1-D, other ranks, integer dtypes, an empty
// matrix) comes back as itself. It fails on a matrix holding NaN or ±Inf.
func (*Codec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	w, ok, err := compress.WeightMatrix(Name, t)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return []*tensor.Tensor{t}, nil, nil // not a weight matrix: stored as it is
	}
	p := Quantize2D(w, t.Shape[0], t.Shape[1])
	return p.Tensors(t.Name), map[string]string{t.Name + ShapeSuffix: fmt.Sprintf("%d,%d", p.Rows, p.Cols)}, nil
}

// Decode rebuilds the dense F32 tensor name as scale·W̃ from its stored parts, checking
// every part (see LoadPacked).
func (*Codec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	p, err := LoadPacked(name, meta, get)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(name, tensor.F32, []int{p.Rows, p.Cols}, p.Dense()), nil
}

// PackedTernary is one compressed matrix: Rows×Cols ternary codes packed by Pack, and
// the scale γ, representing the matrix Scale·W̃.
type PackedTernary struct {
	Rows, Cols int
	Codes      []byte // Rows·PackedRowBytes(Cols) bytes
	Scale      float32
}

// Quantize2D quantizes a rows×cols row-major matrix w (finite values) and packs it.
// It panics if len(w) != rows·cols.
func Quantize2D(w []float32, rows, cols int) *PackedTernary {
	if rows < 0 || cols < 0 || len(w) != rows*cols {
		panic(fmt.Sprintf("bitnet.Quantize2D: %d weights for a %d×%d matrix", len(w), rows, cols))
	}
	codes, scale := Quantize(w)
	return &PackedTernary{Rows: rows, Cols: cols, Codes: Pack(codes, rows, cols), Scale: scale}
}

// Tensors returns the stored form of p under name: "<name>.ternary" and "<name>.scale".
func (p *PackedTernary) Tensors(name string) []*tensor.Tensor {
	return []*tensor.Tensor{
		{Name: name + TernarySuffix, DType: tensor.U8, Shape: []int{p.Rows, PackedRowBytes(p.Cols)}, Data: slices.Clone(p.Codes)},
		tensor.FromFloat32(name+ScaleSuffix, tensor.F32, []int{1}, []float32{p.Scale}),
	}
}

// Dense returns the Rows×Cols row-major matrix Scale·W̃.
func (p *PackedTernary) Dense() []float32 {
	out := make([]float32, p.Rows*p.Cols)
	Dequantize(p.Codes, p.Rows, p.Cols, p.Scale, out)
	return out
}

// MulVec sets y = Scale·W̃·x (len(x) = Cols, len(y) = Rows) with GEMV.
func (p *PackedTernary) MulVec(x, y []float32) { GEMV(p.Codes, p.Rows, p.Cols, p.Scale, x, y) }

// LoadPacked reads the compressed tensor name from a file's metadata and stored tensors
// (get looks a stored tensor up by name) without dequantizing it. It checks that
// "<name>.shape" is "rows,cols" with positive sizes, that "<name>.ternary" is U8 of shape
// [rows, ceil(cols/4)] holding only valid codes with zero padding, and that
// "<name>.scale" is one finite, positive F32. Errors name the tensor and the part.
func LoadPacked(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*PackedTernary, error) {
	shapeKey := name + ShapeSuffix
	shape, ok := meta[shapeKey]
	if !ok {
		return nil, fmt.Errorf("bitnet: tensor %q: metadata key %q is missing", name, shapeKey)
	}
	rows, cols, err := parseShape(shape)
	if err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: metadata %q=%q: %w", name, shapeKey, shape, err)
	}

	codes, err := get(name + TernarySuffix)
	if err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: packed codes: %w", name, err)
	}
	stride := PackedRowBytes(cols)
	if codes.DType != tensor.U8 || !slices.Equal(codes.Shape, []int{rows, stride}) {
		return nil, fmt.Errorf("bitnet: tensor %q: %q is %s %v, want U8 [%d %d] for a %d×%d matrix",
			name, codes.Name, codes.DType, codes.Shape, rows, stride, rows, cols)
	}
	if err := Check(codes.Data, rows, cols); err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: %q: %w", name, codes.Name, err)
	}

	st, err := get(name + ScaleSuffix)
	if err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: scale: %w", name, err)
	}
	if st.DType != tensor.F32 || !slices.Equal(st.Shape, []int{1}) {
		return nil, fmt.Errorf("bitnet: tensor %q: %q is %s %v, want F32 [1]", name, st.Name, st.DType, st.Shape)
	}
	sv, err := st.Float32s()
	if err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: %w", name, err)
	}
	if s := float64(sv[0]); !(s > 0) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("bitnet: tensor %q: scale %v is not a finite positive number", name, sv[0])
	}
	return &PackedTernary{Rows: rows, Cols: cols, Codes: codes.Data, Scale: sv[0]}, nil
}

// parseShape parses "rows,cols" with both sizes positive.
func parseShape(s string) (rows, cols int, err error) {
	r, c, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, fmt.Errorf("want \"rows,cols\"")
	}
	rows, err1 := strconv.Atoi(r)
	cols, err2 := strconv.Atoi(c)
	if err1 != nil || err2 != nil || rows <= 0 || cols <= 0 {
		return 0, 0, fmt.Errorf("want \"rows,cols\" with two positive integers")
	}
	return rows, cols, nil
}
