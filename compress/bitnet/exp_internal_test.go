package bitnet

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func gemvBlock(B int, packed []byte, rows, cols int, scale float32, x, y []float32) {
	stride := PackedRowBytes(cols)
	clear(y)
	luts := make([][256]float32, B)
	for g0 := 0; g0 < stride; g0 += B {
		g1 := min(g0+B, stride)
		lut := luts[:g1-g0]
		for i := range lut {
			buildLUT(&lut[i], x, 4*(g0+i))
		}
		for r := range rows {
			row := packed[r*stride+g0 : r*stride+g1]
			lut := lut[:len(row)]
			var a0, a1, a2, a3 float32
			k := 0
			for ; k+4 <= len(row); k += 4 {
				a0 += lut[k][row[k]]
				a1 += lut[k+1][row[k+1]]
				a2 += lut[k+2][row[k+2]]
				a3 += lut[k+3][row[k+3]]
			}
			for ; k < len(row); k++ {
				a0 += lut[k][row[k]]
			}
			y[r] += (a0 + a1) + (a2 + a3)
		}
	}
	for r := range y {
		y[r] *= scale
	}
}

func gemvNibble(packed []byte, rows, cols int, scale float32, x, y []float32) {
	stride := PackedRowBytes(cols)
	// two tables per byte: low nibble (cols 4g,4g+1), high nibble (4g+2,4g+3)
	lut := make([][2][16]float32, stride)
	var xs [4]float32
	for g := range lut {
		xs = [4]float32{}
		copy(xs[:], x[4*g:min(4*g+4, cols)])
		for n := range 16 {
			t := func(c int, v float32) float32 { return [4]float32{0, v, -2 * v, -v}[c] }
			lut[g][0][n] = t(n&3, xs[0]) + t(n>>2, xs[1])
			lut[g][1][n] = t(n&3, xs[2]) + t(n>>2, xs[3])
		}
	}
	for r := range rows {
		row := packed[r*stride : (r+1)*stride]
		lut := lut[:len(row)]
		var a0, a1, a2, a3 float32
		k := 0
		for ; k+2 <= len(row); k += 2 {
			b0, b1 := row[k], row[k+1]
			a0 += lut[k][0][b0&15]
			a1 += lut[k][1][b0>>4]
			a2 += lut[k+1][0][b1&15]
			a3 += lut[k+1][1][b1>>4]
		}
		for ; k < len(row); k++ {
			a0 += lut[k][0][row[k]&15] + lut[k][1][row[k]>>4]
		}
		y[r] = scale * ((a0 + a1) + (a2 + a3))
	}
}

func gemvTiled(tileBytes, B int, packed []byte, rows, cols int, scale float32, x, y []float32) {
	stride := PackedRowBytes(cols)
	lut := make([][256]float32, stride)
	for g := range lut {
		buildLUT(&lut[g], x, 4*g)
	}
	tileRows := max(1, tileBytes/max(stride, 1))
	clear(y)
	for r0 := 0; r0 < rows; r0 += tileRows {
		r1 := min(r0+tileRows, rows)
		for g0 := 0; g0 < stride; g0 += B {
			g1 := min(g0+B, stride)
			lb := lut[g0:g1]
			for r := r0; r < r1; r++ {
				row := packed[r*stride+g0 : r*stride+g1]
				lb := lb[:len(row)]
				var a0, a1, a2, a3 float32
				k := 0
				for ; k+4 <= len(row); k += 4 {
					a0 += lb[k][row[k]]
					a1 += lb[k+1][row[k+1]]
					a2 += lb[k+2][row[k+2]]
					a3 += lb[k+3][row[k+3]]
				}
				for ; k < len(row); k++ {
					a0 += lb[k][row[k]]
				}
				y[r] += (a0 + a1) + (a2 + a3)
			}
		}
	}
	for r := range y {
		y[r] *= scale
	}
}

func BenchmarkExp(b *testing.B) {
	for _, s := range [][2]int{{256, 784}, {1024, 1024}, {4096, 4096}} {
		rows, cols := s[0], s[1]
		rng := rand.New(rand.NewPCG(1, 2))
		codes := make([]int8, rows*cols)
		for i := range codes {
			codes[i] = int8(rng.IntN(3)) - 1
		}
		packed := Pack(codes, rows, cols)
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, rows)
		b.Run(fmt.Sprintf("current/%dx%d", rows, cols), func(b *testing.B) {
			for b.Loop() {
				GEMV(packed, rows, cols, 1, x, y)
			}
		})
		for _, tb := range []int{128 << 10} {
			for _, B := range []int{32, 64} {
				b.Run(fmt.Sprintf("tiled%dk-%d/%dx%d", tb>>10, B, rows, cols), func(b *testing.B) {
					for b.Loop() {
						gemvTiled(tb, B, packed, rows, cols, 1, x, y)
					}
				})
			}
		}
		for _, B := range []int{24} {
			b.Run(fmt.Sprintf("block%d/%dx%d", B, rows, cols), func(b *testing.B) {
				for b.Loop() {
					gemvBlock(B, packed, rows, cols, 1, x, y)
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gw/s")
			})
		}
		b.Run(fmt.Sprintf("nibble/%dx%d", rows, cols), func(b *testing.B) {
			for b.Loop() {
				gemvNibble(packed, rows, cols, 1, x, y)
			}
			b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gw/s")
		})
	}
}
