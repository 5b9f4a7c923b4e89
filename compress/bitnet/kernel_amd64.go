package bitnet

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// rowsAVX2 is the AVX2 kernel (kernel_amd64.s): blocks blocks of four rows, each row
// groups·32 bytes of 128 columns followed by tail (0 or 1) chunks of 16 bytes; q in
// permuteInput's order for groups of 2 chunks; acc gets 4·blocks sums.
//
//go:noescape
func rowsAVX2(codes *byte, stride, blocks, groups, tail int, q *int8, acc *int32)

var avx2Kernel = kernel{name: "avx2", group: 2, rows: func(codes []byte, stride, chunks int, q []int8, acc []int32) {
	blocks := len(codes) / stride / rowBlock
	if blocks == 0 {
		return
	}
	_ = acc[blocks*rowBlock-1]
	_ = q[chunks*chunkCols-1]
	rowsAVX2(unsafe.SliceData(codes), stride, blocks, chunks/2, chunks%2, unsafe.SliceData(q), unsafe.SliceData(acc))
}}

func init() {
	if cpu.X86.HasAVX2 {
		activeKernel = avx2Kernel
	}
}

// fastKernels are the kernels this CPU can run besides the generic one, for tests.
func fastKernels() []kernel {
	if activeKernel.name == genericKernel.name {
		return nil
	}
	return []kernel{activeKernel}
}
