package tensor

import (
	"fmt"
	"math"
)

// DType is a safetensors element type.
type DType string

// The element types evomerge reads and writes.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I8   DType = "I8"
	U8   DType = "U8"
)

// Size is the number of bytes of one element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	case I8, U8:
		return 1
	}
	return 0
}

// Valid reports whether d is one of the supported element types.
func (d DType) Valid() bool { return d.Size() > 0 }

// Tensor is one named tensor as stored: little-endian elements of DType, row-major in Shape.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements is the product of shape (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// NumElements is the number of elements of t.
func (t *Tensor) NumElements() int { return NumElements(t.Shape) }

// Float32s decodes the elements of t to float32 (I8 and U8 as their integer values).
func (t *Tensor) Float32s() ([]float32, error) {
	n := t.NumElements()
	if want := n * t.DType.Size(); t.DType.Size() == 0 || len(t.Data) != want {
		return nil, fmt.Errorf("tensor %q: %d bytes of data for dtype %s and shape %v (want %d)", t.Name, len(t.Data), t.DType, t.Shape, want)
	}
	out := make([]float32, n)
	decodeInto(out, t.Data, t.DType)
	return out, nil
}

// FromFloat32 encodes values as a tensor of dtype dt (F32, F16 or BF16; BF16 rounds to
// nearest even). It panics if len(values) does not match shape or dt is not a float type.
func FromFloat32(name string, dt DType, shape []int, values []float32) *Tensor {
	if len(values) != NumElements(shape) {
		panic(fmt.Sprintf("tensor.FromFloat32 %q: %d values for shape %v", name, len(values), shape))
	}
	t := &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...), Data: make([]byte, len(values)*dt.Size())}
	switch dt {
	case F32, F16, BF16:
		encodeInto(t.Data, values, dt)
	default:
		panic(fmt.Sprintf("tensor.FromFloat32 %q: %s is not a float dtype", name, dt))
	}
	return t
}

// float32ToBF16 rounds to nearest even, keeping NaN a NaN.
func float32ToBF16(v float32) uint16 {
	u := math.Float32bits(v)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// FirstNonFinite is the index of the first NaN or infinite value of v (all exponent bits
// set), or -1 if every value is finite.
func FirstNonFinite(v []float32) int {
	const exp = 0x7f800000
	for j, x := range v {
		if math.Float32bits(x)&exp == exp {
			return j
		}
	}
	return -1
}
