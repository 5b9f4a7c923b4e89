package bitnet

import (
	"errors"
	"fmt"
)

// PackedRowBytes is the number of bytes one packed row of cols weights occupies:
// ceil(cols/4).
func PackedRowBytes(cols int) int { return (cols + 3) / 4 }

// Pack stores a rows×cols row-major matrix of ternary codes in the 2-bit format described
// in the package documentation: rows·PackedRowBytes(cols) bytes, each row starting on a
// byte boundary, trailing codes of a short last group 00.
//
// It panics if len(codes) != rows·cols or a code is not −1, 0 or +1.
func Pack(codes []int8, rows, cols int) []byte {
	if rows < 0 || cols < 0 || len(codes) != rows*cols {
		panic(fmt.Sprintf("bitnet.Pack: %d codes for a %d×%d matrix", len(codes), rows, cols))
	}
	stride := PackedRowBytes(cols)
	packed := make([]byte, rows*stride)
	full := cols / 4
	for r := range rows {
		row := codes[r*cols : (r+1)*cols]
		out := packed[r*stride : (r+1)*stride]
		for g := range full {
			c := (*[4]int8)(row[4*g : 4*g+4])
			if !ternary(c[0]) || !ternary(c[1]) || !ternary(c[2]) || !ternary(c[3]) {
				panicNotTernary(row, r, 4*g)
			}
			// uint8(v)&3 is the 2-bit two's complement: 0→00, +1→01, −1→11.
			out[g] = uint8(c[0])&3 | (uint8(c[1])&3)<<2 | (uint8(c[2])&3)<<4 | (uint8(c[3])&3)<<6
		}
		if full < stride {
			var b byte
			for k, v := range row[4*full:] {
				if !ternary(v) {
					panicNotTernary(row, r, 4*full)
				}
				b |= (uint8(v) & 3) << (2 * k)
			}
			out[full] = b
		}
	}
	return packed
}

// ternary reports whether v is −1, 0 or +1.
func ternary(v int8) bool { return uint8(v+1) <= 2 }

// panicNotTernary panics naming the first non-ternary code of row at or after column c0.
func panicNotTernary(row []int8, r, c0 int) {
	for c := c0; c < len(row); c++ {
		if !ternary(row[c]) {
			panic(fmt.Sprintf("bitnet.Pack: code %d at (%d,%d) is not ternary", row[c], r, c))
		}
	}
}

// Unpack is the inverse of Pack: it writes the rows×cols codes of packed into out
// (row-major). A code 10, which Pack never writes, comes out as −2; use Check first on
// data that may be corrupt.
//
// It panics if len(packed) != rows·PackedRowBytes(cols) or len(out) != rows·cols.
func Unpack(packed []byte, rows, cols int, out []int8) {
	stride := checkSizes("Unpack", packed, rows, cols, len(out))
	for r := range rows {
		in := packed[r*stride : (r+1)*stride]
		row := out[r*cols : (r+1)*cols]
		full := cols / 4
		for g, b := range in[:full] {
			o := row[4*g : 4*g+4 : 4*g+4]
			o[0] = int8(b<<6) >> 6
			o[1] = int8(b<<4) >> 6
			o[2] = int8(b<<2) >> 6
			o[3] = int8(b) >> 6
		}
		for c := 4 * full; c < cols; c++ {
			row[c] = int8(in[full]<<(6-2*(c&3))) >> 6
		}
	}
}

// Dequantize writes the rows×cols matrix scale·W̃ decoded from packed into out
// (row-major float32). Every element is exactly 0, +scale or −scale.
//
// It panics if len(packed) != rows·PackedRowBytes(cols) or len(out) != rows·cols.
func Dequantize(packed []byte, rows, cols int, scale float32, out []float32) {
	stride := checkSizes("Dequantize", packed, rows, cols, len(out))
	// Indexed by the 2-bit code: 00, 01, 10 (invalid, −2 as in Unpack), 11.
	vals := [4]float32{0, scale, -2 * scale, -scale}
	for r := range rows {
		in := packed[r*stride : (r+1)*stride]
		row := out[r*cols : (r+1)*cols]
		full := cols / 4
		for g, b := range in[:full] {
			o := row[4*g : 4*g+4 : 4*g+4]
			o[0] = vals[b&3]
			o[1] = vals[(b>>2)&3]
			o[2] = vals[(b>>4)&3]
			o[3] = vals[b>>6]
		}
		for c := 4 * full; c < cols; c++ {
			row[c] = vals[(in[full]>>(2*(c&3)))&3]
		}
	}
}

// ErrInvalidCode is wrapped by Check when packed data holds the unused code 10.
var ErrInvalidCode = errors.New("invalid ternary code 10")

// Check validates packed data from an untrusted source for a rows×cols matrix: its
// length, that no code is the unused 10, and that the padding codes at the end of each
// row are 00. The error names the first offending row and byte.
func Check(packed []byte, rows, cols int) error {
	if rows < 0 || cols < 0 {
		return fmt.Errorf("negative shape %d×%d", rows, cols)
	}
	stride := PackedRowBytes(cols)
	if len(packed) != rows*stride {
		return fmt.Errorf("%d packed bytes for a %d×%d matrix (want %d = %d rows × %d bytes)",
			len(packed), rows, cols, rows*stride, rows, stride)
	}
	for i, b := range packed {
		// A pair is 10 when its high bit is set and its low bit is not.
		if b&0xAA&^(b<<1) != 0 {
			return fmt.Errorf("row %d byte %d (0x%02x): %w", i/stride, i%stride, b, ErrInvalidCode)
		}
	}
	if tail := cols & 3; tail != 0 {
		padMask := byte(0xFF) << (2 * tail)
		for r := range rows {
			if b := packed[r*stride+stride-1]; b&padMask != 0 {
				return fmt.Errorf("row %d: padding codes after column %d are not zero (last byte 0x%02x)", r, cols, b)
			}
		}
	}
	return nil
}

// checkSizes panics unless packed and an output of outLen elements fit a rows×cols
// matrix, and returns the packed row stride.
func checkSizes(kernel string, packed []byte, rows, cols, outLen int) int {
	stride := PackedRowBytes(cols)
	if rows < 0 || cols < 0 || len(packed) != rows*stride || outLen != rows*cols {
		panic(fmt.Sprintf("bitnet.%s: %d packed bytes and %d outputs for a %d×%d matrix (want %d and %d)",
			kernel, len(packed), outLen, rows, cols, rows*stride, rows*cols))
	}
	return stride
}
