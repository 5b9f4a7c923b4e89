package bitnet

import (
	"errors"
	"fmt"
)

// The 1.6-bit packing (values_per_byte 5): five ternary codes per byte as base-3 digits
// d = w̃+1 ∈ {0, 1, 2}, the first weight of a group the least significant digit:
//
//	byte = d₀ + 3·d₁ + 9·d₂ + 27·d₃ + 81·d₄     (0…242)
//
// 3⁵ = 243 ≤ 256, so 5 weights fit in 8 bits: 1.6 bits per weight against 2, the
// densest whole-byte packing of ternary values (log₂3 = 1.585 is the limit). Every row
// starts on a byte boundary; the digits after the last weight of a row are 1 (zero
// weights). Bytes 243…255 are invalid.

// PackedRowBytes5 is the number of bytes a row of cols weights takes in the 1.6-bit
// packing: ceil(cols/5).
func PackedRowBytes5(cols int) int { return (cols + 4) / 5 }

// Pack5 stores a rows×cols row-major matrix of ternary codes five per byte. It panics
// if len(codes) != rows·cols or a code is not −1, 0 or +1.
func Pack5(codes []int8, rows, cols int) []byte {
	if rows < 0 || cols < 0 || len(codes) != rows*cols {
		panic(fmt.Sprintf("bitnet.Pack5: %d codes for a %d×%d matrix", len(codes), rows, cols))
	}
	stride := PackedRowBytes5(cols)
	out := make([]byte, rows*stride)
	for r := range rows {
		row := codes[r*cols : (r+1)*cols]
		for g := range stride {
			b, p := 0, 1
			for k := range 5 {
				d := 1 // padding: a zero weight
				if c := 5*g + k; c < cols {
					if !ternary(row[c]) {
						panic(fmt.Sprintf("bitnet.Pack5: code %d at (%d,%d) is not ternary", row[c], r, c))
					}
					d = int(row[c]) + 1
				}
				b += d * p
				p *= 3
			}
			out[r*stride+g] = byte(b)
		}
	}
	return out
}

// digits5[b] holds the five codes of byte b (b < 243).
var digits5 = func() (t [243][5]int8) {
	for b := range 243 {
		v := b
		for k := range 5 {
			t[b][k] = int8(v%3) - 1
			v /= 3
		}
	}
	return t
}()

// Unpack5 is the inverse of Pack5: it writes the rows×cols codes of packed into out.
// Use Check5 first on data that may be corrupt (an invalid byte panics).
func Unpack5(packed []byte, rows, cols int, out []int8) {
	stride := PackedRowBytes5(cols)
	if rows < 0 || cols < 0 || len(packed) != rows*stride || len(out) != rows*cols {
		panic(fmt.Sprintf("bitnet.Unpack5: %d packed bytes and %d outputs for a %d×%d matrix", len(packed), len(out), rows, cols))
	}
	for r := range rows {
		in, row := packed[r*stride:(r+1)*stride], out[r*cols:(r+1)*cols]
		full := cols / 5
		for g := range full {
			copy(row[5*g:5*g+5], digits5[in[g]][:])
		}
		if t := cols - 5*full; t > 0 {
			copy(row[5*full:], digits5[in[full]][:t])
		}
	}
}

// ErrInvalidByte5 is wrapped by Check5 when packed data holds a byte above 242.
var ErrInvalidByte5 = errors.New("byte above 242 is not five base-3 digits")

// Check5 validates 1.6-bit packed data from an untrusted source for a rows×cols matrix:
// its length, that every byte is below 243, and that the padding digits at the end of
// each row are 1 (zero weights). The error names the first offending row and byte.
func Check5(packed []byte, rows, cols int) error {
	if rows < 0 || cols < 0 {
		return fmt.Errorf("negative shape %d×%d", rows, cols)
	}
	stride := PackedRowBytes5(cols)
	if len(packed) != rows*stride {
		return fmt.Errorf("%d packed bytes for a %d×%d matrix (want %d = %d rows × %d bytes)",
			len(packed), rows, cols, rows*stride, rows, stride)
	}
	for i, b := range packed {
		if b >= 243 {
			return fmt.Errorf("row %d byte %d (%d): %w", i/stride, i%stride, b, ErrInvalidByte5)
		}
	}
	if t := cols % 5; t != 0 {
		for r := range rows {
			d := digits5[packed[r*stride+stride-1]]
			for k := t; k < 5; k++ {
				if d[k] != 0 {
					return fmt.Errorf("row %d: padding codes after column %d are not zero (last byte %d)", r, cols, packed[r*stride+stride-1])
				}
			}
		}
	}
	return nil
}
