package tensor

import (
	"encoding/binary"
	"math"
	"testing"
)

// bits16 returns the little-endian 16-bit words of t's data.
func bits16(t *Tensor) []uint16 {
	out := make([]uint16, len(t.Data)/2)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(t.Data[2*i:])
	}
	return out
}

// The expected bit patterns are worked out by hand from IEEE 754 binary16 (1 sign, 5
// exponent bits with bias 15, 10 fraction bits) and bfloat16 (the top half of a binary32).
func TestF16BitPatterns(t *testing.T) {
	cases := []struct {
		v    float32
		bits uint16
	}{
		{1.0, 0x3C00},                         // exponent 15, fraction 0
		{-2.5, 0xC100},                        // -1.25 × 2^1: sign, exponent 16, fraction 0x100
		{65504, 0x7BFF},                       // largest finite: (2 − 2^-10) × 2^15
		{float32(math.Ldexp(1, -24)), 0x0001}, // smallest subnormal
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Ldexp(1023, -24)), 0x03FF},
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
	}
	values := make([]float32, len(cases))
	for i, c := range cases {
		values[i] = c.v
	}
	x := FromFloat32("x", F16, []int{len(cases)}, values)
	got := bits16(x)
	back, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i] != c.bits {
			t.Errorf("F16(%g) = %#04x, want %#04x", c.v, got[i], c.bits)
		}
		if math.Float32bits(back[i]) != math.Float32bits(c.v) {
			t.Errorf("F16 %#04x decodes to %g, want %g", c.bits, back[i], c.v)
		}
	}
}

func TestBF16BitPatterns(t *testing.T) {
	cases := []struct {
		name string
		f32  uint32 // input float32 bits
		bits uint16
	}{
		{"1.0", 0x3F800000, 0x3F80},
		{"-2.5", 0xC0200000, 0xC020},
		{"tie rounds down to even", 0x3F808000, 0x3F80},
		{"tie rounds up to even", 0x3F818000, 0x3F82},
		{"above tie rounds up", 0x3F808001, 0x3F81},
		{"below tie rounds down", 0x3F807FFF, 0x3F80},
		{"max float32 overflows to +Inf", 0x7F7FFFFF, 0x7F80},
		{"subnormal 1e-40", 0x000116C2, 0x0001},
		{"+Inf", 0x7F800000, 0x7F80},
	}
	values := make([]float32, len(cases))
	for i, c := range cases {
		values[i] = math.Float32frombits(c.f32)
	}
	got := bits16(FromFloat32("x", BF16, []int{len(cases)}, values))
	for i, c := range cases {
		if got[i] != c.bits {
			t.Errorf("%s: BF16(%#08x) = %#04x, want %#04x", c.name, c.f32, got[i], c.bits)
		}
	}

	// NaN with a payload only in the low half must stay a NaN, not become Inf.
	nan := bits16(FromFloat32("nan", BF16, []int{1}, []float32{math.Float32frombits(0x7F800001)}))[0]
	if nan&0x7F80 != 0x7F80 || nan&0x007F == 0 {
		t.Errorf("BF16(NaN) = %#04x, not a NaN", nan)
	}

	// Decoding is exact: the 16 bits become the top half of a float32.
	dec := &Tensor{Name: "d", DType: BF16, Shape: []int{3}, Data: []byte{0x80, 0x3F, 0x20, 0xC0, 0x01, 0x00}}
	vals, err := dec.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, -2.5, math.Float32frombits(0x00010000)}
	for i := range want {
		if vals[i] != want[i] {
			t.Errorf("BF16 decode [%d] = %g, want %g", i, vals[i], want[i])
		}
	}
}

func TestIntegerDecode(t *testing.T) {
	raw := []byte{0x00, 0x01, 0x7F, 0x80, 0xFF}
	i8, err := (&Tensor{Name: "i", DType: I8, Shape: []int{5}, Data: raw}).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	u8, err := (&Tensor{Name: "u", DType: U8, Shape: []int{5}, Data: raw}).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	wantI8 := []float32{0, 1, 127, -128, -1}
	wantU8 := []float32{0, 1, 127, 128, 255}
	for i := range raw {
		if i8[i] != wantI8[i] || u8[i] != wantU8[i] {
			t.Errorf("byte %#02x: I8 %g (want %g), U8 %g (want %g)", raw[i], i8[i], wantI8[i], u8[i], wantU8[i])
		}
	}
}

func TestFirstNonFinite(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, c := range []struct {
		v    []float32
		want int
	}{{nil, -1}, {[]float32{0, 1, -3e38, math.SmallestNonzeroFloat32}, -1}, {[]float32{1, float32(math.NaN()), inf}, 1}, {[]float32{0, 0, inf}, 2}} {
		if got := FirstNonFinite(c.v); got != c.want {
			t.Errorf("FirstNonFinite(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}
