package bitnet_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress/bitnet"
)

func TestPackHandExample(t *testing.T) {
	if got := bitnet.Pack(exampleCodes, 2, 4); !slices.Equal(got, examplePacked) {
		t.Errorf("Pack = % x, want % x", got, examplePacked)
	}
	// 2×5: each row takes two bytes, the last holding one code and three 00 pads.
	//	row 0: [1 -1 0 1 | -1] → 0x4D, 0x03
	//	row 1: [0 0 1 0 | 1]   → 01<<4 = 0x10, 0x01
	codes := []int8{1, -1, 0, 1, -1, 0, 0, 1, 0, 1}
	want := []byte{0x4D, 0x03, 0x10, 0x01}
	if got := bitnet.Pack(codes, 2, 5); !slices.Equal(got, want) {
		t.Errorf("Pack 2×5 = % x, want % x", got, want)
	}
}

func TestPackUnpackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][2]int{{1, 1}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}, {7, 13}, {16, 64}, {9, 1001}} {
		rows, cols := shape[0], shape[1]
		codes := make([]int8, rows*cols)
		for i := range codes {
			codes[i] = int8(rng.IntN(3)) - 1
		}
		packed := bitnet.Pack(codes, rows, cols)
		if want := rows * ((cols + 3) / 4); len(packed) != want {
			t.Fatalf("%d×%d: %d packed bytes, want %d", rows, cols, len(packed), want)
		}
		if err := bitnet.Check(packed, rows, cols); err != nil {
			t.Errorf("%d×%d: Check of Pack output: %v", rows, cols, err)
		}
		got := make([]int8, rows*cols)
		bitnet.Unpack(packed, rows, cols, got)
		if !slices.Equal(got, codes) {
			t.Errorf("%d×%d: Unpack(Pack(codes)) differs from codes", rows, cols)
		}
		const scale = 0.125
		deq := make([]float32, rows*cols)
		bitnet.Dequantize(packed, rows, cols, scale, deq)
		for i, c := range codes {
			if want := scale * float32(c); deq[i] != want {
				t.Fatalf("%d×%d: Dequantize[%d] = %v, want %v", rows, cols, i, deq[i], want)
			}
		}
	}
}

func TestPackPanicsOnNonTernaryCode(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "not ternary") {
			t.Errorf("Pack of code 2: recovered %v, want a panic naming the bad code", r)
		}
	}()
	bitnet.Pack([]int8{0, 2}, 1, 2)
}

func TestCheckRejectsCorruptData(t *testing.T) {
	for _, tc := range []struct {
		name       string
		packed     []byte
		rows, cols int
		want       string
	}{
		{"short", []byte{0x4D}, 2, 4, "1 packed bytes for a 2×4 matrix (want 2"},
		{"long", []byte{0x4D, 0xC4, 0}, 2, 4, "3 packed bytes"},
		{"code 10", []byte{0x4D, 0x08}, 2, 4, "row 1 byte 0"},
		{"nonzero padding", []byte{0x4D, 0x43, 0x10, 0x01}, 2, 5, "row 0: padding"},
	} {
		err := bitnet.Check(tc.packed, tc.rows, tc.cols)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check = %v, want an error containing %q", tc.name, err, tc.want)
		}
		if tc.name == "code 10" && !errors.Is(err, bitnet.ErrInvalidCode) {
			t.Errorf("code 10: Check error %v does not wrap ErrInvalidCode", err)
		}
	}
}

func randomPacked(rng *rand.Rand, rows, cols int) []byte {
	codes := make([]int8, rows*cols)
	for i := range codes {
		codes[i] = int8(rng.IntN(3)) - 1
	}
	return bitnet.Pack(codes, rows, cols)
}

func BenchmarkPack(b *testing.B) {
	const rows, cols = 1024, 1024
	rng := rand.New(rand.NewPCG(7, 8))
	codes := make([]int8, rows*cols)
	for i := range codes {
		codes[i] = int8(rng.IntN(3)) - 1
	}
	b.SetBytes(rows * cols) // one int8 code read per weight
	for b.Loop() {
		bitnet.Pack(codes, rows, cols)
	}
	reportWeightsPerSec(b, rows*cols)
}

func BenchmarkUnpack(b *testing.B) {
	const rows, cols = 1024, 1024
	packed := randomPacked(rand.New(rand.NewPCG(9, 10)), rows, cols)
	out := make([]int8, rows*cols)
	b.SetBytes(int64(len(packed)))
	for b.Loop() {
		bitnet.Unpack(packed, rows, cols, out)
	}
	reportWeightsPerSec(b, rows*cols)
}

func BenchmarkDequantize(b *testing.B) {
	const rows, cols = 1024, 1024
	packed := randomPacked(rand.New(rand.NewPCG(11, 12)), rows, cols)
	out := make([]float32, rows*cols)
	b.SetBytes(int64(len(packed)))
	for b.Loop() {
		bitnet.Dequantize(packed, rows, cols, 0.02, out)
	}
	reportWeightsPerSec(b, rows*cols)
}

func BenchmarkCheck(b *testing.B) {
	const rows, cols = 1024, 1023
	packed := randomPacked(rand.New(rand.NewPCG(13, 14)), rows, cols)
	b.SetBytes(int64(len(packed)))
	for b.Loop() {
		if err := bitnet.Check(packed, rows, cols); err != nil {
			b.Fatal(err)
		}
	}
	reportWeightsPerSec(b, rows*cols)
}
