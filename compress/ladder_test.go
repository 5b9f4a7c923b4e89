package compress_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/evomerge/evomerge/compress"
	_ "github.com/evomerge/evomerge/compress/all"
	"github.com/evomerge/evomerge/tensor"
)

// Every rung of every ladder encodes a real matrix, and the measured stored bits per
// weight never increase along the ladder; the nominal figure is within the side data of
// the measured one.
func TestLaddersGetSmallerAlongTheRungs(t *testing.T) {
	rows, cols := 256, 256 // the demo MLP's hidden layer
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.safetensors")
	if err := tensor.WriteFile(src, nil, []*tensor.Tensor{tensor.FromFloat32("fc1.weight", tensor.F32, []int{rows, cols}, w)}); err != nil {
		t.Fatal(err)
	}
	for _, codec := range []string{"bitnet", "vptq", "seedlm"} {
		ladder, err := compress.Ladder(codec)
		if err != nil {
			t.Fatal(err)
		}
		prev, prevErr := math.Inf(1), -1.0
		for i, r := range ladder {
			st, err := compress.CompressFilePlan(context.Background(), compress.Plan{"fc1.weight": {Codec: codec, Options: r.Options}}, src, filepath.Join(dir, "out.safetensors"), nil)
			if err != nil {
				t.Fatalf("%s rung %d %v: %v", codec, i, r.Options, err)
			}
			if st.BitsPerWeight > prev+1e-9 {
				t.Errorf("%s rung %d %v stores %.3f bits per weight, more than the milder rung's %.3f", codec, i, r.Options, st.BitsPerWeight, prev)
			}
			if st.BitsPerWeight < r.BitsPerWeight-1e-9 || st.BitsPerWeight > r.BitsPerWeight+1.5 {
				t.Errorf("%s rung %d: measured %.3f bits per weight, nominal %.3f", codec, i, st.BitsPerWeight, r.BitsPerWeight)
			}
			m, err := compress.Measure(codec, r.Options, w, rows, cols, nil)
			if err != nil {
				t.Fatal(err)
			}
			e := m.Error
			if math.Abs(m.BitsPerWeight-st.BitsPerWeight) > 1e-9 {
				t.Errorf("%s rung %d: Measure says %.4f bits per weight, the file %.4f", codec, i, m.BitsPerWeight, st.BitsPerWeight)
			}
			if e <= 0 || e > 1.5 {
				t.Errorf("%s rung %d: relative error %g", codec, i, e)
			}
			if codec != "bitnet" && e < prevErr*0.9 {
				t.Errorf("%s rung %d: error %.4f well below the milder rung's %.4f", codec, i, e, prevErr)
			}
			t.Logf("%s rung %d %v: %.3f bits per weight (nominal %.3f), relative error %.4f", codec, i, r.Options, st.BitsPerWeight, r.BitsPerWeight, e)
			prev, prevErr = st.BitsPerWeight, e
		}
	}
	if _, err := compress.Ladder("zip"); err == nil {
		t.Error("unknown codec: want an error")
	}
}

func TestRungAt(t *testing.T) {
	l, _ := compress.Ladder("vptq")
	for _, tc := range []struct {
		s    float64
		want int
	}{{0, 0}, {0.16, 0}, {0.17, 1}, {0.5, 3}, {0.99, 5}, {1, 5}} {
		r, err := compress.RungAt("vptq", tc.s)
		if err != nil || r.BitsPerWeight != l[tc.want].BitsPerWeight {
			t.Errorf("RungAt(%g) = %+v, %v; want rung %d", tc.s, r, err, tc.want)
		}
	}
	if _, err := compress.RungAt("vptq", 1.5); err == nil {
		t.Error("strength 1.5: want an error")
	}
}

// shrinkCodec stores every weight halved and decodes it as stored: a lossy codec whose
// error is known exactly.
type shrinkCodec struct{}

func (shrinkCodec) Name() string    { return "test-shrink" }
func (shrinkCodec) Version() string { return "test-shrink/1" }
func (shrinkCodec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	v, err := t.Float32s()
	if err != nil {
		return nil, nil, err
	}
	for i := range v {
		v[i] /= 2
	}
	return []*tensor.Tensor{tensor.FromFloat32(t.Name+".s", tensor.F32, t.Shape, v)}, map[string]string{t.Name + ".shrunk": "1"}, nil
}
func (shrinkCodec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	s, err := get(name + ".s")
	if err != nil {
		return nil, err
	}
	v, err := s.Float32s()
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(name, tensor.F32, s.Shape, v), nil
}

func init() {
	compress.Register("test-shrink", func(compress.Options) (compress.Codec, error) { return shrinkCodec{}, nil })
}

// Sensitivity by hand: the test codec halves every weight, so each weighted squared
// error is a quarter of the weighted squared weight whatever the weights: 0.25. With a
// zero activation on one column that column does not count at all.
func TestSensitivityByHand(t *testing.T) {
	w := []float32{1, 2, 3, 4} // 2×2
	for _, act := range [][]float32{nil, {2, 1}, {0, 5}} {
		got, err := compress.Sensitivity("test-shrink", nil, w, 2, 2, act)
		if err != nil || math.Abs(got-0.25) > 1e-12 {
			t.Errorf("act %v: %g, %v; want 0.25", act, got, err)
		}
	}
	if got, _ := compress.Sensitivity("test-shrink", nil, []float32{0, 0, 0, 0}, 2, 2, nil); got != 0 {
		t.Errorf("zero matrix: %g", got)
	}
	if _, err := compress.Sensitivity("test-shrink", nil, w, 2, 2, []float32{1}); err == nil {
		t.Error("wrong activation length: want an error")
	}
}
