package evomerge

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
)

// dellaGoldenCases are della merges whose output bytes were recorded (the sha256 of the
// little-endian float32 output) with the bucket-histogram implementation of commit
// 40a73f2, before the packed-rank row kernels: every later path, vector or Go, must
// reproduce them.
var dellaGoldenCases = []struct {
	method    string
	shape     []int
	quantized bool
	params    map[string]float64
	want      string
}{
	{"della", []int{64, 4096}, false, map[string]float64{"density": 0.5}, "99767007804a698b158d0a6cb204a90a83f97d050d7828cb68d46aa553dd4c12"},
	{"della_linear", []int{64, 4096}, false, map[string]float64{"density": 0.5}, "064429c477af99449f65e1d6044c476f8ee7001592a7a6771885f16b791d30af"},
	{"della", []int{64, 4096}, true, map[string]float64{"density": 0.3, "epsilon": 0.2}, "557efe0cd204135ed635399997e84404a24e4b5fdd6c93bbb490c7d509be4ddd"},
	{"della_linear", []int{40, 1024}, true, map[string]float64{"density": 0.7, "epsilon": 0.1, "rescale": 0}, "6d6f07fe77301e7aba4d90ff5fe80478794125013ec7b361c5a865a6171b758a"},
	{"della", []int{33, 4160}, false, map[string]float64{"density": 0.4}, "f2266e5f8e00e1f370b28c8457483a9658a989c96e67d85ed590979224332e49"},
	{"della", []int{9, 1000}, false, map[string]float64{"density": 0.5}, "521feedc0b226bb40295c25080ca550cf57aaa79fbbf070c094067e6a5c0ef2d"},
	{"della_linear", []int{31, 17}, true, map[string]float64{"density": 0.5}, "17a80d2f4d90fccf99959404aac018ac8486babbb543b6549016984de1b71cb2"},
	{"della", []int{20000}, false, map[string]float64{"density": 0.6}, "2d3cf6c17f8b1f3bd427450ec28371166d7005fa861d6ac3b33e0562557988c6"},
	{"della", []int{4, 65536}, false, map[string]float64{"density": 0.5, "epsilon": 0.3}, "05890677bfe6699d7f09e23f7661231767f6d667f0560dcbde7be0dd3e0e55a2"},
	{"della_linear", []int{2, 65600}, true, map[string]float64{"density": 0.5}, "f696dffa281bb4813787285123683b8bbd7c9b01cd7d5ba3e5321fc6893b91c7"},
	{"della", []int{128, 64}, false, map[string]float64{"density": 0.2, "epsilon": 0.15}, "55718d90ec419944075681be3dc0e89deb5b0aa824ffda7a584e2f5df3c0bd96"},
	{"della_linear", []int{16, 128}, true, map[string]float64{"density": 0.5}, "b1e9c8cb4cca88ca5e9427bf194dd9f3bbd55e9dda4caa2cc26e514d3cf1d056"},
}

func dellaGoldenDigest(t *testing.T, i int) string {
	c := dellaGoldenCases[i]
	n := 1
	for _, d := range c.shape {
		n *= d
	}
	rng := rand.New(rand.NewPCG(77, uint64(i)))
	in := randomInput(rng, n, 3, c.quantized)
	if len(c.shape) > 1 {
		in.Shape = c.shape
	}
	in.Params = c.params
	m, _ := LookupMethod(c.method)
	out := make([]float32, n)
	if err := m.Merge(in, out); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4*n)
	for j, v := range out {
		binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestDellaGolden checks della's output bytes against those recorded, with and without
// the vector kernels.
func TestDellaGolden(t *testing.T) {
	defer func(a, b bool) { useAVX2, useAVX512 = a, b }(useAVX2, useAVX512)
	for _, vec := range []bool{true, false} {
		if vec && !useAVX512 {
			continue
		}
		useAVX2, useAVX512 = vec, vec
		for i, c := range dellaGoldenCases {
			if got := dellaGoldenDigest(t, i); got != c.want {
				t.Errorf("vector %v: %s %v: sha256 %s, want %s", vec, c.method, c.shape, got, c.want)
			}
		}
	}
}
