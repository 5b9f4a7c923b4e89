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
	TernarySuffix  = ".ternary"  // U8 [rows, ceil(cols/4)]: 2-bit codes (values_per_byte 4)
	Ternary5Suffix = ".ternary5" // U8 [rows, ceil(cols/5)]: base-3 codes (values_per_byte 5)
	ScaleSuffix    = ".scale"    // F32 [1] or [rows]: γ per matrix or per output channel
	ShapeSuffix    = ".shape"    // metadata "rows,cols": the original shape
)

// Settings are the codec's options, by their option names.
type Settings struct {
	// PerChannel (per_channel: 0/1, default 0) gives every output row its own absmean
	// scale γ_r instead of one per matrix.
	PerChannel bool
	// ValuesPerByte (values_per_byte: 4 or 5, default 4) chooses the stored packing: 4
	// two-bit codes per byte (2 bits per weight) or 5 base-3 digits per byte (1.6 bits).
	ValuesPerByte int
}

// DefaultSettings: one scale per matrix, 2-bit packing — the paper's format.
func DefaultSettings() Settings { return Settings{ValuesPerByte: 4} }

var options = []compress.Option[Settings]{
	{Name: "per_channel", Min: 0, Max: 1, Integer: true,
		Set: func(s *Settings, v float64) { s.PerChannel = v == 1 }},
	{Name: "values_per_byte", Min: 4, Max: 5, Integer: true,
		Set: func(s *Settings, v float64) { s.ValuesPerByte = int(v) }},
}

func init() {
	compress.Register(Name, func(opts compress.Options) (compress.Codec, error) { return New(opts) })
}

// Codec is the BitNet b1.58 codec with its settings.
type Codec struct{ s Settings }

// New returns the codec with DefaultSettings changed by opts; an unknown key or a
// value out of range is an error.
func New(opts compress.Options) (*Codec, error) {
	s := DefaultSettings()
	if err := compress.ApplyOptions(Name, opts, options, &s); err != nil {
		return nil, err
	}
	return &Codec{s: s}, nil
}

// Name returns "bitnet".
func (*Codec) Name() string { return Name }

// Version identifies the encoder; bump it when its output for the same input changes.
// (The defaults write exactly what version 1 wrote; the options are part of a
// compression's identity on their own.)
func (*Codec) Version() string { return "bitnet/1" }

// Settings returns the codec's settings.
func (c *Codec) Settings() Settings { return c.s }

// Encode quantizes a 2-D F32/F16/BF16 tensor to its packed codes ("<name>.ternary" or
// "<name>.ternary5") and "<name>.scale" with metadata "<name>.shape"; any other tensor
// (1-D, other ranks, integer dtypes, an empty matrix) comes back as itself. It fails on a
// matrix holding NaN or ±Inf.
func (c *Codec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	w, ok, err := compress.WeightMatrix(Name, t)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return []*tensor.Tensor{t}, nil, nil // not a weight matrix: stored as it is
	}
	p := QuantizeMatrix(w, t.Shape[0], t.Shape[1], c.s)
	return p.Tensors(t.Name), map[string]string{t.Name + ShapeSuffix: fmt.Sprintf("%d,%d", p.Rows, p.Cols)}, nil
}

// Decode rebuilds the dense F32 tensor name as γ·W̃ from its stored parts, checking
// every part (see LoadPacked).
func (*Codec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	p, err := LoadPacked(name, meta, get)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(name, tensor.F32, []int{p.Rows, p.Cols}, p.Dense()), nil
}

// LoadOperator loads the compressed tensor name as a Ternary operator for packed
// inference, validating every stored part first (LoadPacked): the codes are repacked
// into the kernel's 2-bit layout; no float32 copy of the weights is made.
func (*Codec) LoadOperator(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (compress.Operator, error) {
	p, err := LoadPacked(name, meta, get)
	if err != nil {
		return nil, err
	}
	return p.Operator(), nil
}

// PackedTernary is one compressed matrix as stored: Rows×Cols ternary codes packed by
// Pack (ValuesPerByte 4) or Pack5 (5), and the scales γ (one, or one per row),
// representing the matrix γ_r·W̃.
type PackedTernary struct {
	Rows, Cols    int
	ValuesPerByte int
	Codes         []byte
	Scales        []float32
}

// Quantize2D quantizes a rows×cols row-major matrix w (finite values) with one scale
// and packs it 2 bits per weight. It panics if len(w) != rows·cols.
func Quantize2D(w []float32, rows, cols int) *PackedTernary {
	return QuantizeMatrix(w, rows, cols, DefaultSettings())
}

// QuantizeMatrix quantizes a rows×cols row-major matrix w (finite values) as s says:
// one absmean scale (Quantize) or one per row, packed 4 or 5 codes per byte. It panics
// if len(w) != rows·cols.
func QuantizeMatrix(w []float32, rows, cols int, s Settings) *PackedTernary {
	if rows < 0 || cols < 0 || len(w) != rows*cols {
		panic(fmt.Sprintf("bitnet.QuantizeMatrix: %d weights for a %d×%d matrix", len(w), rows, cols))
	}
	codes := make([]int8, len(w))
	var scales []float32
	if s.PerChannel {
		scales = make([]float32, rows)
		for r := range rows {
			scales[r] = quantizeInto(w[r*cols:(r+1)*cols], codes[r*cols:(r+1)*cols])
		}
	} else {
		scales = []float32{quantizeInto(w, codes)}
	}
	p := &PackedTernary{Rows: rows, Cols: cols, ValuesPerByte: s.ValuesPerByte, Scales: scales}
	if s.ValuesPerByte == 5 {
		p.Codes = Pack5(codes, rows, cols)
	} else {
		p.ValuesPerByte = 4
		p.Codes = Pack(codes, rows, cols)
	}
	return p
}

// Tensors returns the stored form of p under name: the codes and "<name>.scale".
func (p *PackedTernary) Tensors(name string) []*tensor.Tensor {
	suffix, stride := TernarySuffix, PackedRowBytes(p.Cols)
	if p.ValuesPerByte == 5 {
		suffix, stride = Ternary5Suffix, PackedRowBytes5(p.Cols)
	}
	return []*tensor.Tensor{
		{Name: name + suffix, DType: tensor.U8, Shape: []int{p.Rows, stride}, Data: slices.Clone(p.Codes)},
		tensor.FromFloat32(name+ScaleSuffix, tensor.F32, []int{len(p.Scales)}, slices.Clone(p.Scales)),
	}
}

// Row writes the ternary codes of row r into dst (len Cols).
func (p *PackedTernary) Row(r int, dst []int8) {
	if p.ValuesPerByte == 5 {
		s := PackedRowBytes5(p.Cols)
		Unpack5(p.Codes[r*s:(r+1)*s], 1, p.Cols, dst)
		return
	}
	s := PackedRowBytes(p.Cols)
	Unpack(p.Codes[r*s:(r+1)*s], 1, p.Cols, dst)
}

// scale returns γ of row r.
func (p *PackedTernary) scale(r int) float32 {
	if len(p.Scales) == 1 {
		return p.Scales[0]
	}
	return p.Scales[r]
}

// Dense returns the Rows×Cols row-major matrix γ_r·W̃.
func (p *PackedTernary) Dense() []float32 {
	out := make([]float32, p.Rows*p.Cols)
	codes := make([]int8, p.Cols)
	for r := range p.Rows {
		p.Row(r, codes)
		g := p.scale(r)
		for c, v := range codes {
			out[r*p.Cols+c] = g * float32(v)
		}
	}
	return out
}

// Operator returns p as a Ternary operator (the codes repacked into the kernel layout).
func (p *PackedTernary) Operator() *Ternary {
	return newTernary(p.Rows, p.Cols, slices.Clone(p.Scales), p.Row)
}

// LoadPacked reads the compressed tensor name from a file's metadata and stored tensors
// (get looks a stored tensor up by name) without dequantizing it. It checks that
// "<name>.shape" is "rows,cols" with positive sizes; that the codes are either
// "<name>.ternary" (U8 [rows, ceil(cols/4)], only valid 2-bit codes, zero padding) or
// "<name>.ternary5" (U8 [rows, ceil(cols/5)], bytes below 243, padding digits of zero
// weights); and that "<name>.scale" is F32 [1] or [rows] of finite, positive numbers.
// Errors name the tensor and the part.
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

	p := &PackedTernary{Rows: rows, Cols: cols, ValuesPerByte: 4}
	codes, err := get(name + TernarySuffix)
	if err != nil {
		var err5 error
		if codes, err5 = get(name + Ternary5Suffix); err5 != nil {
			return nil, fmt.Errorf("bitnet: tensor %q: packed codes: neither %q nor %q is stored: %w",
				name, name+TernarySuffix, name+Ternary5Suffix, err)
		}
		p.ValuesPerByte = 5
	}
	stride, check := PackedRowBytes(cols), Check
	if p.ValuesPerByte == 5 {
		stride, check = PackedRowBytes5(cols), Check5
	}
	if codes.DType != tensor.U8 || !slices.Equal(codes.Shape, []int{rows, stride}) {
		return nil, fmt.Errorf("bitnet: tensor %q: %q is %s %v, want U8 [%d %d] for a %d×%d matrix",
			name, codes.Name, codes.DType, codes.Shape, rows, stride, rows, cols)
	}
	if err := check(codes.Data, rows, cols); err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: %q: %w", name, codes.Name, err)
	}
	p.Codes = codes.Data

	st, err := get(name + ScaleSuffix)
	if err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: scale: %w", name, err)
	}
	if st.DType != tensor.F32 || len(st.Shape) != 1 || (st.Shape[0] != 1 && st.Shape[0] != rows) {
		return nil, fmt.Errorf("bitnet: tensor %q: %q is %s %v, want F32 [1] or [%d]", name, st.Name, st.DType, st.Shape, rows)
	}
	sv, err := st.Float32s()
	if err != nil {
		return nil, fmt.Errorf("bitnet: tensor %q: %w", name, err)
	}
	for i, v := range sv {
		if s := float64(v); !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("bitnet: tensor %q: scale[%d] = %v is not a finite positive number", name, i, v)
		}
	}
	p.Scales = sv
	return p, nil
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
