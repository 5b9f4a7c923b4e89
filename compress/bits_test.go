package compress

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPackBitsHandExample(t *testing.T) {
	// 5 = 101, 2 = 010, 7 = 111 at stream bits 0–2, 3–5, 6–8:
	// byte 0 = bits 0..7 = 1,0,1,0,1,0,1,1 (LSB first) = 0xD5, byte 1 = bit 8 = 0x01.
	got := PackBits([]uint16{5, 2, 7}, 3)
	if want := []byte{0xD5, 0x01}; !slices.Equal(got, want) {
		t.Errorf("PackBits = %#v, want %#v", got, want)
	}
	dst := make([]uint16, 3)
	UnpackBits(got, 3, 3, dst)
	if !slices.Equal(dst, []uint16{5, 2, 7}) {
		t.Errorf("UnpackBits = %v", dst)
	}
}

// packNaive writes the stream one bit at a time.
func packNaive(idx []uint16, bits int) []byte {
	out := make([]byte, PackedBytes(len(idx), bits))
	for i, v := range idx {
		for b := range bits {
			if v>>b&1 == 1 {
				pos := i*bits + b
				out[pos/8] |= 1 << (pos % 8)
			}
		}
	}
	return out
}

func TestPackUnpackEveryWidthAgainstBitByBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for bits := 1; bits <= 16; bits++ {
		for _, n := range []int{0, 1, 7, 8, 9, 100, 1001} {
			idx := make([]uint16, n)
			for i := range idx {
				idx[i] = uint16(rng.IntN(1 << bits))
			}
			got := PackBits(idx, bits)
			if want := packNaive(idx, bits); !slices.Equal(got, want) {
				t.Fatalf("bits %d, n %d: PackBits differs from the bit-by-bit packing", bits, n)
			}
			if !PaddingIsZero(got, bits, n) {
				t.Fatalf("bits %d, n %d: padding not zero", bits, n)
			}
			back := make([]uint16, n)
			UnpackBits(got, bits, n, back)
			if !slices.Equal(back, idx) {
				t.Fatalf("bits %d, n %d: round trip changed the indices", bits, n)
			}
		}
	}
}

func TestPaddingIsZeroSpotsStrayBits(t *testing.T) {
	b := PackBits([]uint16{1, 1, 1}, 3) // 9 bits: byte 1 holds one used bit
	b[1] |= 0x80
	if PaddingIsZero(b, 3, 3) {
		t.Error("a set bit after the last index went unnoticed")
	}
}

func TestPackBitsPanicsOnIndexTooWide(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for index 8 at 3 bits")
		}
	}()
	PackBits([]uint16{8}, 3)
}

func BenchmarkUnpackBits(b *testing.B) {
	for _, bits := range []int{8, 12} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			n := 1 << 20
			idx := make([]uint16, n)
			for i := range idx {
				idx[i] = uint16(i % (1 << bits))
			}
			p := PackBits(idx, bits)
			dst := make([]uint16, n)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				UnpackBits(p, bits, n, dst)
			}
		})
	}
}
