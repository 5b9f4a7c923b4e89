package compress

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Rung is one setting of a codec on its ladder: the options and the nominal bits per
// weight they store (codes plus the per-block or per-vector side data the setting implies;
// codebooks, per-row scales and row padding come on top and weigh most on small matrices).
type Rung struct {
	Options       Options `json:"options"`
	BitsPerWeight float64 `json:"bits_per_weight"`
}

// ladders order each codec's settings from mildest (most bits, least error) to strongest.
// A compression gene's strength in [0, 1] picks a rung (RungAt), so a search moves along
// the trade-off one setting at a time.
//
//   - bitnet: a per-row or per-matrix scale, 2-bit or 1.6-bit (base-3) packing; the
//     ternary weights are the same on every rung.
//   - vptq: vector length v, codebook bits k and residual bits r: (k + r)/v bits of index
//     per weight, from 4 down to 0.75; codebooks (2^k·v floats) and column statistics add to it, the more the smaller the matrix.
//   - seedlm: blocks of C weights with an 11-bit seed, a 4-bit exponent and P 4-bit
//     coefficients, (15 + 4P)/C bits per weight, then structured pruning of the
//     smallest-norm blocks (a quarter, then half): the "battery saving" rungs.
var ladders = map[string][]Rung{
	"bitnet": {
		{Options{"per_channel": 1, "values_per_byte": 4}, 2},
		{Options{"per_channel": 0, "values_per_byte": 4}, 2},
		{Options{"per_channel": 1, "values_per_byte": 5}, 1.6},
		{Options{"per_channel": 0, "values_per_byte": 5}, 1.6},
	},
	"vptq": {
		{Options{"vector_length": 2, "codebook_bits": 8, "residual_bits": 0}, 4},
		{Options{"vector_length": 4, "codebook_bits": 8, "residual_bits": 4}, 3},
		{Options{"vector_length": 4, "codebook_bits": 7, "residual_bits": 1}, 2},
		{Options{"vector_length": 4, "codebook_bits": 6, "residual_bits": 0}, 1.5},
		{Options{"vector_length": 8, "codebook_bits": 7, "residual_bits": 0}, 0.875},
		{Options{"vector_length": 8, "codebook_bits": 6, "residual_bits": 0}, 0.75},
	},
	"seedlm": {
		{Options{"block_size": 8, "latent": 4, "seed_bits": 11, "coef_bits": 4}, 31.0 / 8},
		{Options{"block_size": 12, "latent": 4, "seed_bits": 11, "coef_bits": 4}, 31.0 / 12},
		{Options{"block_size": 16, "latent": 4, "seed_bits": 11, "coef_bits": 4}, 31.0 / 16},
		{Options{"block_size": 16, "latent": 3, "seed_bits": 11, "coef_bits": 4}, 27.0 / 16},
		{Options{"block_size": 16, "latent": 4, "seed_bits": 11, "coef_bits": 4, "prune": 0.25}, 0.75*31/16 + 1.0/16},
		{Options{"block_size": 16, "latent": 4, "seed_bits": 11, "coef_bits": 4, "prune": 0.5}, 0.5*31/16 + 1.0/16},
	},
}

// Ladder returns codec's settings from mildest to strongest (a copy).
func Ladder(codec string) ([]Rung, error) {
	l, ok := ladders[codec]
	if !ok {
		names := make([]string, 0, len(ladders))
		for n := range ladders {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("codec %q has no settings ladder (codecs with one: %s)", codec, strings.Join(names, ", "))
	}
	out := make([]Rung, len(l))
	for i, r := range l {
		out[i] = Rung{Options: cloneOptions(r.Options), BitsPerWeight: r.BitsPerWeight}
	}
	return out, nil
}

// RungAt is the rung a strength in [0, 1] selects: the ladder split into equal
// intervals, 0 the mildest rung, 1 the strongest.
func RungAt(codec string, strength float64) (Rung, error) {
	l, err := Ladder(codec)
	if err != nil {
		return Rung{}, err
	}
	if !(strength >= 0 && strength <= 1) {
		return Rung{}, fmt.Errorf("compression strength %g is outside [0, 1]", strength)
	}
	i := min(len(l)-1, int(math.Floor(strength*float64(len(l)))))
	return l[i], nil
}

func cloneOptions(o Options) Options {
	c := make(Options, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}

// Sensitivity is how much a layer loses to a codec setting: the relative reconstruction
// error of the row-major rows×cols weight matrix w after an encode–decode round trip,
// each input column j weighted by act[j], the mean squared activation that column sees
// on calibration data:
//
//	Σ_j act_j Σ_i (W_ij − Ŵ_ij)² / Σ_j act_j Σ_i W_ij²
//
// (the expected squared output error per unit of expected squared output, for
// uncorrelated inputs). act nil weighs every column 1. An all-zero matrix, or one whose
// weighted norm is 0, has sensitivity 0.
func Sensitivity(codec string, opts Options, w []float32, rows, cols int, act []float32) (float64, error) {
	m, err := Measure(codec, opts, w, rows, cols, act)
	return m.Error, err
}

// Measurement is a codec setting's effect on one matrix.
type Measurement struct {
	// Error is the activation-weighted relative error (Sensitivity).
	Error float64 `json:"error"`
	// BitsPerWeight is what the setting stores for this matrix, measured: codes,
	// codebooks, scales and padding, 8 × stored bytes ÷ weights.
	BitsPerWeight float64 `json:"bits_per_weight"`
}

// Measure encodes w with codec and opts once and returns both its Sensitivity and the
// bits per weight it stored.
func Measure(codec string, opts Options, w []float32, rows, cols int, act []float32) (Measurement, error) {
	if len(w) != rows*cols || rows <= 0 || cols <= 0 {
		return Measurement{}, fmt.Errorf("sensitivity: %d weights for a %d×%d matrix", len(w), rows, cols)
	}
	if act != nil && len(act) != cols {
		return Measurement{}, fmt.Errorf("sensitivity: %d activation statistics for %d columns", len(act), cols)
	}
	c, err := New(codec, opts)
	if err != nil {
		return Measurement{}, err
	}
	const name = "sensitivity"
	meta, get, stored, err := encodeMatrixStored(c, name, rows, cols, w)
	if err != nil {
		return Measurement{}, err
	}
	d, err := c.Decode(name, meta, get)
	if err != nil {
		return Measurement{}, err
	}
	r, err := d.Float32s()
	if err != nil {
		return Measurement{}, err
	}
	var num, den float64
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			a := 1.0
			if act != nil {
				a = float64(act[j])
			}
			x, y := float64(w[i*cols+j]), float64(r[i*cols+j])
			num += a * (x - y) * (x - y)
			den += a * x * x
		}
	}
	m := Measurement{BitsPerWeight: 8 * float64(stored) / float64(rows*cols)}
	if den > 0 {
		m.Error = num / den
	}
	return m, nil
}
