package seedlm

import (
	"fmt"
	"math"
	"slices"

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
	BlockSize int     // block_size: C, weights per block (default 13)
	Latent    int     // latent: P, coefficients per block (default 4)
	SeedBits  int     // seed_bits: K, the LFSR width (default 11)
	CoefBits  int     // coef_bits: bits per coefficient (default 4)
	Prune     float64 // prune: fraction of blocks dropped, smallest norm first (default 0)
}

// DefaultSettings: blocks of 13 weights, 4 coefficients of 4 bits, an 11-bit seed and a
// 4-bit exponent per block — (11 + 4 + 4·4)/13 ≈ 2.38 bits per weight, plus the
// zero padding of a row's last block — and no pruning. The package doc gives the
// measurements behind the choice: MNIST retention per layout, and kernel speed (# Kernel).
func DefaultSettings() Settings {
	return Settings{BlockSize: 13, Latent: 4, SeedBits: 11, CoefBits: 4}
}

var options = []compress.Option[Settings]{
	{Name: "block_size", Min: 2, Max: 32, Integer: true,
		Set: func(s *Settings, v float64) { s.BlockSize = int(v) }, Get: func(s Settings) float64 { return float64(s.BlockSize) }},
	{Name: "latent", Min: 1, Max: 8, Integer: true,
		Set: func(s *Settings, v float64) { s.Latent = int(v) }, Get: func(s Settings) float64 { return float64(s.Latent) }},
	{Name: "seed_bits", Min: 4, Max: 16, Integer: true,
		Set: func(s *Settings, v float64) { s.SeedBits = int(v) }, Get: func(s Settings) float64 { return float64(s.SeedBits) }},
	{Name: "coef_bits", Min: 2, Max: 8, Integer: true,
		Set: func(s *Settings, v float64) { s.CoefBits = int(v) }, Get: func(s Settings) float64 { return float64(s.CoefBits) }},
	{Name: "prune", Min: 0, Max: 0.9,
		Set: func(s *Settings, v float64) { s.Prune = v }, Get: func(s Settings) float64 { return s.Prune }},
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
	if err := compress.ApplyOptions(Name, opts, options, &s); err != nil {
		return nil, err
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
	if err := compress.CheckRanges(Name, options, s); err != nil {
		return err
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
func (*Codec) Version() string { return "seedlm/3" } // 3: the default block_size 12 → 13

// Settings returns the codec's settings.
func (c *Codec) Settings() Settings { return c.s }

// Encode compresses a 2-D F32/F16/BF16 tensor; any other tensor comes back as itself.
// It fails on a matrix holding NaN or ±Inf.
func (c *Codec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	w, ok, err := compress.WeightMatrix(Name, t)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return []*tensor.Tensor{t}, nil, nil // not a weight matrix: stored as it is
	}
	for i, v := range w {
		if math.Abs(float64(v)) > maxWeight {
			return nil, nil, fmt.Errorf("seedlm: tensor %q: element %d (row %d, column %d) is %v, beyond the ±%g that 4-bit exponents can represent",
				t.Name, i, i/t.Shape[1], i%t.Shape[1], v, maxWeight)
		}
	}
	q := Quantize(w, t.Shape[0], t.Shape[1], c.s)
	meta, err := compress.EncodeLayout(t.Name+LayoutSuffix, q.Layout)
	if err != nil {
		return nil, nil, err
	}
	return q.Tensors(t.Name), meta, nil
}

// Decode rebuilds the dense F32 tensor name from its stored parts, checking each (see Load).
func (*Codec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	q, err := Load(name, meta, get)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(name, tensor.F32, []int{q.Rows, q.Cols}, q.Dense()), nil
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
	var l Layout
	if err := compress.DecodeLayout(meta, name+LayoutSuffix, &l); err != nil {
		return nil, fail("%v", err)
	}
	if !compress.MatrixShapeOK(l.Rows, l.Cols) || l.BlockSize < 2 || l.BlockSize > 32 || l.Latent < 1 || l.Latent > 8 || l.Latent >= l.BlockSize ||
		l.SeedBits < 4 || l.SeedBits > 16 || l.CoefBits < 2 || l.CoefBits > 8 || l.ExpBase < minExpBase || l.ExpBase > maxExpBase ||
		l.Kept < 0 || l.Kept > l.Rows*l.blocksPerRow() || (!l.Pruned && l.Kept != l.Rows*l.blocksPerRow()) {
		return nil, fail("metadata %q=%q: sizes out of range", name+LayoutSuffix, meta[name+LayoutSuffix])
	}
	q := &Quantized{Layout: l}
	if !l.Pruned {
		if err := compress.Unused(get, name+MaskSuffix); err != nil {
			return nil, fail("%v", err)
		}
	} else {
		m, err := compress.ReadPacked(get, name+MaskSuffix, 1, l.Rows*l.blocksPerRow())
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
	if q.Seeds, err = compress.ReadPacked(get, name+SeedsSuffix, l.SeedBits, l.Kept); err != nil {
		return nil, fail("%v", err)
	}
	for i, s := range q.Seeds {
		if s == 0 {
			return nil, fail("block %d has seed 0, which no LFSR produces", i)
		}
	}
	if q.Exps, err = compress.ReadPacked(get, name+ExpsSuffix, 4, l.Kept); err != nil {
		return nil, fail("%v", err)
	}
	raw16, err := compress.ReadPacked(get, name+CoefsSuffix, l.CoefBits, l.Kept*l.Latent)
	if err != nil {
		return nil, fail("%v", err)
	}
	q.Coefs = make([]int8, len(raw16))
	for i, v := range raw16 {
		q.Coefs[i] = int8(int16(v<<(16-l.CoefBits)) >> (16 - l.CoefBits)) // sign-extend
	}
	return q, nil
}
