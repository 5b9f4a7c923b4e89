package compress

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/evomerge/evomerge/tensor"
)

// WeightMatrix returns the values of t (as float32) if t is a tensor the codecs compress:
// a 2-D F32, F16 or BF16 tensor with both sizes positive. For any other tensor ok is
// false: the codec stores it unchanged. It fails, naming the codec, the tensor and the
// element, if a value is NaN or ±Inf.
func WeightMatrix(codec string, t *tensor.Tensor) (w []float32, ok bool, err error) {
	switch t.DType {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return nil, false, nil
	}
	if len(t.Shape) != 2 || t.Shape[0] <= 0 || t.Shape[1] <= 0 {
		return nil, false, nil
	}
	if w, err = t.Float32s(); err != nil {
		return nil, false, fmt.Errorf("%s: %w", codec, err)
	}
	for i, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, false, fmt.Errorf("%s: tensor %q: element %d (row %d, column %d) is %v; cannot compress a non-finite weight",
				codec, t.Name, i, i/t.Shape[1], i%t.Shape[1], v)
		}
	}
	return w, true, nil
}

// Option describes one numeric option of a codec whose settings are an S: its name, its
// range, whether it must be an integer, and how it is set and read back.
type Option[S any] struct {
	Name     string
	Min, Max float64
	Integer  bool
	Set      func(*S, float64)
	Get      func(S) float64
}

// ApplyOptions sets s from opts according to table, in name order. An unknown key, a
// value outside its range or a fraction for an integer option is an error that names
// the codec, the key and what is accepted.
func ApplyOptions[S any](codec string, opts Options, table []Option[S], s *S) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		i := slices.IndexFunc(table, func(o Option[S]) bool { return o.Name == k })
		if i < 0 {
			names := make([]string, len(table))
			for j, o := range table {
				names[j] = o.Name
			}
			return fmt.Errorf("%s: unknown option %q (known: %s)", codec, k, strings.Join(names, ", "))
		}
		o, v := table[i], opts[k]
		kind := "a number"
		if o.Integer {
			kind = "an integer"
		}
		if math.IsNaN(v) || (o.Integer && v != math.Trunc(v)) || v < o.Min || v > o.Max {
			return fmt.Errorf("%s: option %s = %v: want %s in [%v, %v]", codec, k, v, kind, o.Min, o.Max)
		}
		o.Set(s, v)
	}
	return nil
}

// CheckRanges reports the first setting of s outside its option's range: for settings
// built in code rather than from options. Options without a Get are not checked.
func CheckRanges[S any](codec string, table []Option[S], s S) error {
	for _, o := range table {
		if o.Get == nil {
			continue
		}
		if v := o.Get(s); !(v >= o.Min && v <= o.Max) || (o.Integer && v != math.Trunc(v)) {
			return fmt.Errorf("%s: %s = %v is outside [%v, %v]", codec, o.Name, v, o.Min, o.Max)
		}
	}
	return nil
}

// EncodeLayout returns the metadata entry key = v as JSON: a decoder's per-tensor layout,
// read back with DecodeLayout.
func EncodeLayout(key string, v any) (map[string]string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("metadata %q: %w", key, err)
	}
	return map[string]string{key: string(b)}, nil
}

// DecodeLayout decodes the JSON metadata entry key into v strictly (no unknown fields,
// nothing after the object), for a decoder's per-tensor layout.
func DecodeLayout(meta map[string]string, key string, v any) error {
	raw, ok := meta[key]
	if !ok {
		return fmt.Errorf("metadata key %q is missing", key)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("metadata %q=%q: %v", key, raw, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("metadata %q=%q: data after the JSON object", key, raw)
	}
	return nil
}
