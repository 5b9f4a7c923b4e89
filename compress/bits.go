package compress

import (
	"fmt"
	"slices"

	"github.com/evomerge/evomerge/tensor"
)

// PackedBytes is the number of bytes PackBits uses for n values of width bits.
func PackedBytes(n, bits int) int { return (n*bits + 7) / 8 }

// PackBits packs each value into bits bits (1 ≤ bits ≤ 16), little-endian: value i
// occupies stream bits [i·bits, (i+1)·bits), the stream's bit j being bit j%8 of byte
// j/8. Unused high bits of the last byte are zero. It panics if bits is out of range or
// a value does not fit.
func PackBits(vals []uint16, bits int) []byte {
	checkBits(bits)
	out := make([]byte, PackedBytes(len(vals), bits))
	var acc uint32 // bits not yet written, low bits first
	n, o := 0, 0   // bits held in acc, next output byte
	for i, v := range vals {
		if int(v)>>bits != 0 {
			panic(fmt.Sprintf("compress.PackBits: value %d is %d, which needs more than %d bits", i, v, bits))
		}
		acc |= uint32(v) << n
		n += bits
		for n >= 8 {
			out[o] = byte(acc)
			acc >>= 8
			n -= 8
			o++
		}
	}
	if n > 0 {
		out[o] = byte(acc)
	}
	return out
}

// UnpackBits is the inverse of PackBits: it decodes n values of width bits from
// packed into dst[:n]. It panics if packed is shorter than PackedBytes(n, bits) or dst
// shorter than n.
func UnpackBits(packed []byte, bits, n int, dst []uint16) {
	checkBits(bits)
	if len(packed) < PackedBytes(n, bits) || len(dst) < n {
		panic(fmt.Sprintf("compress.UnpackBits: %d bytes and room for %d values, want %d bytes and %d values", len(packed), len(dst), PackedBytes(n, bits), n))
	}
	if bits == 8 {
		for i := range n {
			dst[i] = uint16(packed[i])
		}
		return
	}
	mask := uint32(1)<<bits - 1
	var acc uint32
	have, p := 0, 0
	for i := range n {
		for have < bits {
			acc |= uint32(packed[p]) << have
			have += 8
			p++
		}
		dst[i] = uint16(acc & mask)
		acc >>= bits
		have -= bits
	}
}

// PaddingIsZero reports whether the bits of packed beyond n indices of width bits are
// all zero, as PackBits writes them.
func PaddingIsZero(packed []byte, bits, n int) bool {
	used := n * bits
	if used%8 == 0 {
		return true
	}
	return packed[used/8]>>(used%8) == 0
}

func checkBits(bits int) {
	if bits < 1 || bits > 16 {
		panic(fmt.Sprintf("compress: bit width %d is outside 1..16", bits))
	}
}

// MatrixShapeOK reports whether a rows×cols shape read from a file is one a decoder can
// do arithmetic on without overflow: both sizes in [1, 2^31], at most 2^48 elements (so
// element counts times bit widths still fit an int). Decoders check it before sizing
// anything from the shape; the stored parts' lengths then bound the allocations.
func MatrixShapeOK(rows, cols int) bool {
	return rows >= 1 && cols >= 1 && rows <= 1<<31 && cols <= 1<<31 && rows*cols <= 1<<48
}

// Unused checks, for a decoder, that the stored parts its layout does not use are not
// in the file either (get looks a stored tensor up): a leftover part would otherwise be
// read back as an ordinary tensor of the model.
func Unused(get func(string) (*tensor.Tensor, error), names ...string) error {
	for _, n := range names {
		if _, err := get(n); err == nil {
			return fmt.Errorf("stored tensor %q is present but the layout does not use it", n)
		}
	}
	return nil
}

// ReadPacked reads n values of width bits, packed by PackBits, from the U8 tensor called
// name (get looks a stored tensor up), checking its length and that its padding is zero.
func ReadPacked(get func(string) (*tensor.Tensor, error), name string, width, n int) ([]uint16, error) {
	t, err := get(name)
	if err != nil {
		return nil, err
	}
	want := PackedBytes(n, width)
	if t.DType != tensor.U8 || !slices.Equal(t.Shape, []int{want}) {
		return nil, fmt.Errorf("%q is %s %v, want U8 [%d] (%d values of %d bits)", name, t.DType, t.Shape, want, n, width)
	}
	if !PaddingIsZero(t.Data, width, n) {
		return nil, fmt.Errorf("%q: nonzero bits after the last value", name)
	}
	out := make([]uint16, n)
	UnpackBits(t.Data, width, n, out)
	return out, nil
}
