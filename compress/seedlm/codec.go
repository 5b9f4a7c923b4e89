package seedlm

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// Name is the codec's registry name.
const Name = "seedlm"

// Suffixes of the stored tensors and metadata key of a compressed tensor "<name>".
const (
	SeedsSuffix  = ".seedlm.seeds" // U8: packed seeds, seed_bits each, one per kept block
	ExpsSuffix   = ".seedlm.exps"  // U8: packed exponent codes, 4 bits each
	CoefsSuffix  = ".seedlm.coefs" // U8: packed coefficients, coef_bits each (two's complement)
	MaskSuffix   = ".seedlm.mask"  // U8: packed kept-block mask, 1 bit per block (if pruned)
	LayoutSuffix = ".seedlm"       // metadata: Layout as JSON
)

// Settings are the codec's options, by their option names.
type Settings struct {
	BlockSize int     // block_size: C, weights per block (default 8)
	Latent    int     // latent: P, coefficients per block (default 3)
	SeedBits  int     // seed_bits: K, the LFSR width (default 12)
	CoefBits  int     // coef_bits: bits per coefficient (default 4)
	Prune     float64 // prune: fraction of blocks dropped, smallest norm first (default 0)
}

// DefaultSettings: blocks of 8 weights, 3 coefficients of 4 bits, a 12-bit seed and a
// 4-bit exponent per block — (12 + 4 + 3·4)/8 = 3.5 bits per weight — and no pruning.
func DefaultSettings() Settings {
	return Settings{BlockSize: 8, Latent: 3, SeedBits: 12, CoefBits: 4}
}

type option struct {
	name     string
	min, max float64
	integer  bool
	set      func(*Settings, float64)
	get      func(Settings) float64
}

var options = []option{
	{"block_size", 2, 32, true, func(s *Settings, v float64) { s.BlockSize = int(v) }, func(s Settings) float64 { return float64(s.BlockSize) }},
	{"latent", 1, 8, true, func(s *Settings, v float64) { s.Latent = int(v) }, func(s Settings) float64 { return float64(s.Latent) }},
	{"seed_bits", 4, 16, true, func(s *Settings, v float64) { s.SeedBits = int(v) }, func(s Settings) float64 { return float64(s.SeedBits) }},
	{"coef_bits", 2, 8, true, func(s *Settings, v float64) { s.CoefBits = int(v) }, func(s Settings) float64 { return float64(s.CoefBits) }},
	{"prune", 0, 0.9, false, func(s *Settings, v float64) { s.Prune = v }, func(s Settings) float64 { return s.Prune }},
}

func init() {
	compress.Register(Name, func(opts compress.Options) (compress.Codec, error) { return New(opts) })
}

// Codec is the SeedLM codec with its settings.
type Codec struct{ s Settings }

// New returns the codec with DefaultSettings changed by opts (see the package doc for
// the ranges); an unknown key is an error, and latent must be smaller than block_size.
func New(opts compress.Options) (*Codec, error) {
	s := DefaultSettings()
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		v := opts[k]
		i := slices.IndexFunc(options, func(o option) bool { return o.name == k })
		if i < 0 {
			names := make([]string, len(options))
			for j, o := range options {
				names[j] = o.name
			}
			return nil, fmt.Errorf("seedlm: unknown option %q (known: %s)", k, strings.Join(names, ", "))
		}
		o := options[i]
		kind := "a number"
		if o.integer {
			kind = "an integer"
		}
		if math.IsNaN(v) || (o.integer && v != math.Trunc(v)) || v < o.min || v > o.max {
			return nil, fmt.Errorf("seedlm: option %s = %v: want %s in [%v, %v]", k, v, kind, o.min, o.max)
		}
		o.set(&s, v)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &Codec{s: s}, nil
}

// validate checks every setting's range (the options table), that latent is below
// block_size, and that some seed gives a well-conditioned basis (with a 4-bit register
// and 5 or 6 coefficients none does: the register's period is too short).
func (s Settings) validate() error {
	for _, o := range options {
		if v := o.get(s); !(v >= o.min && v <= o.max) {
			return fmt.Errorf("seedlm: %s = %v is outside [%v, %v]", o.name, o.get(s), o.min, o.max)
		}
	}
	if s.Latent >= s.BlockSize {
		return fmt.Errorf("seedlm: latent %d must be smaller than block_size %d (otherwise nothing is compressed)", s.Latent, s.BlockSize)
	}
	if !slices.Contains(NewBases(s.SeedBits, s.BlockSize, s.Latent).Full, true) {
		return fmt.Errorf("seedlm: no seed of a %d-bit register gives %d independent columns of %d values; use more seed_bits or a smaller latent",
			s.SeedBits, s.Latent, s.BlockSize)
	}
	return nil
}

// The exponent range Load accepts and Encode produces: 2^(exp_base+15) times the largest
// coefficient and basis sum stays far below float32's limit, and 2^exp_base at worst
// underflows to zero.
const (
	minExpBase = -160
	maxExpBase = 100
	// maxWeight is the largest weight magnitude Encode takes; it keeps exp_base below
	// maxExpBase.
	maxWeight = 1e25
)

// Name returns "seedlm".
func (*Codec) Name() string { return Name }

// Version identifies the encoder; bump it when its output for the same input changes.
func (*Codec) Version() string { return "seedlm/1" }

// Settings returns the codec's settings.
func (c *Codec) Settings() Settings { return c.s }

// Encode compresses a 2-D F32/F16/BF16 tensor; any other tensor comes back as itself.
// It fails on a matrix holding NaN or ±Inf.
func (c *Codec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	if !compressible(t) {
		return []*tensor.Tensor{t}, nil, nil
	}
	w, err := t.Float32s()
	if err != nil {
		return nil, nil, fmt.Errorf("seedlm: %w", err)
	}
	for i, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("seedlm: tensor %q: element %d (row %d, column %d) is %v; cannot compress a non-finite weight",
				t.Name, i, i/t.Shape[1], i%t.Shape[1], v)
		}
		if math.Abs(float64(v)) > maxWeight {
			return nil, nil, fmt.Errorf("seedlm: tensor %q: element %d (row %d, column %d) is %v, beyond the ±%g that 4-bit exponents can represent",
				t.Name, i, i/t.Shape[1], i%t.Shape[1], v, maxWeight)
		}
	}
	q := Quantize(w, t.Shape[0], t.Shape[1], c.s)
	layout, err := json.Marshal(q.Layout)
	if err != nil {
		return nil, nil, err
	}
	return q.Tensors(t.Name), map[string]string{t.Name + LayoutSuffix: string(layout)}, nil
}

// Decode rebuilds the dense F32 tensor name from its stored parts, checking each (see Load).
func (*Codec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	q, err := Load(name, meta, get)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(name, tensor.F32, []int{q.Rows, q.Cols}, q.Dense()), nil
}

func compressible(t *tensor.Tensor) bool {
	switch t.DType {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return false
	}
	return len(t.Shape) == 2 && t.Shape[0] > 0 && t.Shape[1] > 0
}

// Tensors returns the stored form of q under name.
func (q *Quantized) Tensors(name string) []*tensor.Tensor {
	coefs := make([]uint16, len(q.Coefs))
	mask := uint16(1)<<q.CoefBits - 1
	for i, v := range q.Coefs {
		coefs[i] = uint16(v) & mask
	}
	out := []*tensor.Tensor{
		packed(name+SeedsSuffix, q.Seeds, q.SeedBits),
		packed(name+ExpsSuffix, q.Exps, 4),
		packed(name+CoefsSuffix, coefs, q.CoefBits),
	}
	if q.Pruned {
		m := make([]uint16, len(q.Mask))
		for i, ok := range q.Mask {
			if ok {
				m[i] = 1
			}
		}
		out = append(out, packed(name+MaskSuffix, m, 1))
	}
	return out
}

func packed(name string, vals []uint16, bits int) *tensor.Tensor {
	b := compress.PackBits(vals, bits)
	return &tensor.Tensor{Name: name, DType: tensor.U8, Shape: []int{len(b)}, Data: b}
}

// Dense returns the Rows×Cols row-major matrix q represents: each kept block is
// 2^(ExpBase+code)·U(seed)·coefficients, each pruned block zero.
func (q *Quantized) Dense() []float32 {
	c, nbr := q.BlockSize, q.blocksPerRow()
	out := make([]float32, q.Rows*q.Cols)
	blk := make([]float32, c)
	o := orbitOf(q.SeedBits)
	k := 0 // kept block counter
	for blkIdx := range q.Rows * nbr {
		if q.Mask != nil && !q.Mask[blkIdx] {
			continue
		}
		q.block(o.window(uint32(q.Seeds[k]), c*q.Latent), k, blk)
		k++
		r, c0 := blkIdx/nbr, (blkIdx%nbr)*c
		copy(out[r*q.Cols+c0:r*q.Cols+min(c0+c, q.Cols)], blk)
	}
	return out
}

// block reconstructs kept block k into blk from its basis u = U(seed).
func (q *Quantized) block(u []float32, k int, blk []float32) {
	c, p := q.BlockSize, q.Latent
	scale := float32(math.Ldexp(1, q.ExpBase+int(q.Exps[k])))
	t := q.Coefs[k*p : (k+1)*p]
	for i := range c {
		var s float32
		for j := range p {
			s += u[i*p+j] * float32(t[j])
		}
		blk[i] = s * scale
	}
}

// Load reads the compressed tensor name from a file's metadata and stored tensors
// without decompressing it, checking the layout and every part (sizes, seeds in range,
// the mask's count of kept blocks, zero padding). Errors name the tensor and the part.
func Load(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*Quantized, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("seedlm: tensor %q: %s", name, fmt.Sprintf(format, a...))
	}
	raw, ok := meta[name+LayoutSuffix]
	if !ok {
		return nil, fail("metadata key %q is missing", name+LayoutSuffix)
	}
	var l Layout
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fail("metadata %q=%q: %v", name+LayoutSuffix, raw, err)
	}
	if dec.More() {
		return nil, fail("metadata %q=%q: data after the JSON object", name+LayoutSuffix, raw)
	}
	if !compress.MatrixShapeOK(l.Rows, l.Cols) || l.BlockSize < 2 || l.BlockSize > 32 || l.Latent < 1 || l.Latent >= l.BlockSize ||
		l.SeedBits < 4 || l.SeedBits > 16 || l.CoefBits < 2 || l.CoefBits > 8 || l.ExpBase < minExpBase || l.ExpBase > maxExpBase ||
		l.Kept < 0 || l.Kept > l.Rows*l.blocksPerRow() || (!l.Pruned && l.Kept != l.Rows*l.blocksPerRow()) {
		return nil, fail("metadata %q=%q: sizes out of range", name+LayoutSuffix, raw)
	}
	q := &Quantized{Layout: l}
	if !l.Pruned {
		if err := compress.Unused(get, name+MaskSuffix); err != nil {
			return nil, fail("%v", err)
		}
	} else {
		m, err := unpacked(get, name+MaskSuffix, 1, l.Rows*l.blocksPerRow())
		if err != nil {
			return nil, fail("%v", err)
		}
		q.Mask = make([]bool, len(m))
		kept := 0
		for i, v := range m {
			q.Mask[i] = v == 1
			kept += int(v)
		}
		if kept != l.Kept {
			return nil, fail("the mask keeps %d blocks, the layout says %d", kept, l.Kept)
		}
	}
	var err error
	if q.Seeds, err = unpacked(get, name+SeedsSuffix, l.SeedBits, l.Kept); err != nil {
		return nil, fail("%v", err)
	}
	for i, s := range q.Seeds {
		if s == 0 {
			return nil, fail("block %d has seed 0, which no LFSR produces", i)
		}
	}
	if q.Exps, err = unpacked(get, name+ExpsSuffix, 4, l.Kept); err != nil {
		return nil, fail("%v", err)
	}
	raw16, err := unpacked(get, name+CoefsSuffix, l.CoefBits, l.Kept*l.Latent)
	if err != nil {
		return nil, fail("%v", err)
	}
	q.Coefs = make([]int8, len(raw16))
	for i, v := range raw16 {
		q.Coefs[i] = int8(int16(v<<(16-l.CoefBits)) >> (16 - l.CoefBits)) // sign-extend
	}
	return q, nil
}

// unpacked reads n packed values of width bits from a U8 tensor.
func unpacked(get func(string) (*tensor.Tensor, error), name string, width, n int) ([]uint16, error) {
	t, err := get(name)
	if err != nil {
		return nil, err
	}
	want := compress.PackedBytes(n, width)
	if t.DType != tensor.U8 || !slices.Equal(t.Shape, []int{want}) {
		return nil, fmt.Errorf("%q is %s %v, want U8 [%d] (%d values of %d bits)", name, t.DType, t.Shape, want, n, width)
	}
	if !compress.PaddingIsZero(t.Data, width, n) {
		return nil, fmt.Errorf("%q: nonzero bits after the last value", name)
	}
	out := make([]uint16, n)
	compress.UnpackBits(t.Data, width, n, out)
	return out, nil
}
