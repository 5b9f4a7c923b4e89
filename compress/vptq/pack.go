package vptq

import "fmt"

// PackedBytes is the number of bytes PackIndices uses for n indices of width bits.
func PackedBytes(n, bits int) int { return (n*bits + 7) / 8 }

// PackIndices packs each index into bits bits (1 ≤ bits ≤ 16), little-endian: index i
// occupies stream bits [i·bits, (i+1)·bits), the stream's bit j being bit j%8 of byte
// j/8. Unused high bits of the last byte are zero. It panics if bits is out of range or
// an index does not fit.
func PackIndices(idx []uint16, bits int) []byte {
	checkBits(bits)
	out := make([]byte, PackedBytes(len(idx), bits))
	var acc uint32 // bits not yet written, low bits first
	n, o := 0, 0   // bits held in acc, next output byte
	for i, v := range idx {
		if int(v)>>bits != 0 {
			panic(fmt.Sprintf("vptq.PackIndices: index %d is %d, which needs more than %d bits", i, v, bits))
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

// UnpackIndices is the inverse of PackIndices: it decodes n indices of width bits from
// packed into dst[:n]. It panics if packed is shorter than PackedBytes(n, bits) or dst
// shorter than n.
func UnpackIndices(packed []byte, bits, n int, dst []uint16) {
	checkBits(bits)
	if len(packed) < PackedBytes(n, bits) || len(dst) < n {
		panic(fmt.Sprintf("vptq.UnpackIndices: %d bytes and room for %d indices, want %d bytes and %d indices", len(packed), len(dst), PackedBytes(n, bits), n))
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

// paddingIsZero reports whether the bits of packed beyond n indices of width bits are
// all zero, as PackIndices writes them.
func paddingIsZero(packed []byte, bits, n int) bool {
	used := n * bits
	if used%8 == 0 {
		return true
	}
	return packed[used/8]>>(used%8) == 0
}

func checkBits(bits int) {
	if bits < 1 || bits > 16 {
		panic(fmt.Sprintf("vptq: index width %d bits is outside 1..16", bits))
	}
}
