package compress

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/evomerge/evomerge/compress/internal/f32"
	"github.com/evomerge/evomerge/tensor"
)

// Operator is a weight matrix W (Rows×Cols) ready for inference in the form it is
// stored in: a codec's operator computes from its packed bytes (codes, seeds,
// codebooks), never from a float32 copy of W. Operators are safe for concurrent use.
type Operator interface {
	// Rows and Cols are W's shape: Mul reads Cols inputs and writes Rows outputs.
	Rows() int
	Cols() int
	// Mul sets y[b·Rows : (b+1)·Rows] = W·x[b·Cols : (b+1)·Cols] for b = 0…n−1 (x and y
	// row-major, one input or output per row); n = 1 is the matrix–vector product. An
	// operator may transform its input as its format prescribes (BitNet b1.58 quantizes
	// each input to int8); it never modifies x. It panics if len(x) ≠ n·Cols or
	// len(y) ≠ n·Rows.
	Mul(n int, x, y []float32)
	// WeightBytes is the memory the operator holds for W: packed codes, scales,
	// codebooks and any table built at load time, excluding per-call scratch.
	WeightBytes() int64
}

// OperatorLoader is implemented by codecs whose compressed tensors run packed. Given
// the stored parts of the compressed tensor name (through get) and the file's
// metadata, it validates every part — a corrupt file fails here, with an error naming
// the tensor and what is wrong, never later inside a kernel — and returns the operator.
type OperatorLoader interface {
	LoadOperator(name string, meta map[string]string, get func(name string) (*tensor.Tensor, error)) (Operator, error)
}

// CheckMul panics unless x and y hold n inputs and outputs of op: the shared argument
// check of Operator.Mul implementations. kernel names the caller in the message.
func CheckMul(kernel string, op Operator, n int, x, y []float32) {
	if n < 0 || len(x) != n*op.Cols() || len(y) != n*op.Rows() {
		panic(fmt.Sprintf("%s: %d inputs and %d outputs for %d products with a %d×%d matrix (want %d and %d)",
			kernel, len(x), len(y), n, op.Rows(), op.Cols(), n*op.Cols(), n*op.Rows()))
	}
}

// Dense is the float32 operator: W stored row-major, multiplied by the fastest kernel
// this CPU has (AVX-512 or AVX2 with FMA on amd64, a pure-Go loop elsewhere). It is the
// uncompressed baseline every codec's speed-up is measured against.
type Dense struct {
	rows, cols int
	w          []float32
}

// NewDense wraps the row-major rows×cols matrix w (not copied). It panics if
// len(w) ≠ rows·cols.
func NewDense(rows, cols int, w []float32) *Dense {
	if rows < 0 || cols < 0 || len(w) != rows*cols {
		panic(fmt.Sprintf("compress.NewDense: %d weights for a %d×%d matrix", len(w), rows, cols))
	}
	return &Dense{rows: rows, cols: cols, w: w}
}

func (d *Dense) Rows() int { return d.rows }
func (d *Dense) Cols() int { return d.cols }

// Weights returns the row-major matrix (not a copy).
func (d *Dense) Weights() []float32 { return d.w }

// WeightBytes is 4·Rows·Cols.
func (d *Dense) WeightBytes() int64 { return 4 * int64(len(d.w)) }

// Mul sets y = W·x for n inputs; see Operator. Large products split their rows across
// cores (SplitRows).
func (d *Dense) Mul(n int, x, y []float32) {
	CheckMul("compress.Dense.Mul", d, n, x, y)
	if n == 0 || d.rows == 0 {
		return
	}
	work := int64(n) * int64(d.rows) * int64(d.cols)
	if Serial(d.rows, work) {
		// No closure: it would escape to SplitRows' goroutines and cost an allocation
		// per call, which small products (an MNIST layer) feel.
		f32.Gemm(d.w, d.rows, d.cols, n, x, y, d.rows, 0)
		return
	}
	SplitRows(d.rows, work, func(lo, hi int) {
		f32.Gemm(d.w[lo*d.cols:hi*d.cols], hi-lo, d.cols, n, x, y, d.rows, lo)
	})
}

// MulBias sets y = W·x + bias for each of the n inputs, then y = max(y, 0) when relu: a
// layer of an MLP in one call (nn.Network's dense layers), as bitnet.Ternary.MulBias is
// for BitNet ones. The bias and ReLU run as a vectorised pass (BiasReLU) over each
// input's outputs right after its product, on the same goroutine while they are in
// cache. The result is bit for bit that of Mul followed by y[i] += bias[i] and
// y[i] = max(y[i], 0) in Go. It panics if len(bias) ≠ Rows() or x, y have the wrong
// lengths.
func (d *Dense) MulBias(n int, x, y, bias []float32, relu bool) {
	CheckMul("compress.Dense.MulBias", d, n, x, y)
	if len(bias) != d.rows {
		panic(fmt.Sprintf("compress.Dense.MulBias: %d biases for %d rows", len(bias), d.rows))
	}
	if n == 0 || d.rows == 0 {
		return
	}
	work := int64(n) * int64(d.rows) * int64(d.cols)
	if Serial(d.rows, work) {
		f32.Gemm(d.w, d.rows, d.cols, n, x, y, d.rows, 0)
		BiasReLU(n, y, bias, relu)
		return
	}
	SplitRows(d.rows, work, func(lo, hi int) {
		f32.Gemm(d.w[lo*d.cols:hi*d.cols], hi-lo, d.cols, n, x, y, d.rows, lo)
		for b := range n {
			f32.BiasReLU(y[b*d.rows+lo:b*d.rows+hi], bias[lo:hi], relu)
		}
	})
}

// BiasReLU sets y[b·m + i] += bias[i] for the n outputs of m = len(bias) values each in y,
// then y = max(y, 0) when relu: an MLP layer's epilogue after an operator's Mul, in
// AVX-512 or AVX2 where the CPU has it. It is bit for bit the Go loops
// y[i] += bias[i] and y[i] = max(y[i]+bias[i], 0) (Go's max as the compiler inlines it
// on amd64: −0 and negative values become +0, a NaN stays NaN, with its sign bit
// cleared). It panics if len(y) ≠ n·len(bias).
func BiasReLU(n int, y, bias []float32, relu bool) {
	m := len(bias)
	if n < 0 || len(y) != n*m {
		panic(fmt.Sprintf("compress.BiasReLU: %d values for %d outputs of %d biases", len(y), n, m))
	}
	for b := range n {
		f32.BiasReLU(y[b*m:(b+1)*m], bias, relu)
	}
}

// Serial reports whether SplitRows(rows, work, fn) would make one call on the calling
// goroutine: kernels check it first to call their row function directly, without a
// closure that escapes (an allocation per product).
func Serial(rows int, work int64) bool {
	return work < ParallelWork || runtime.GOMAXPROCS(0) < 2 || rows < 32
}

// ParallelWork is the number of multiply–adds (or weights touched) above which a
// product is split across cores: below it, starting goroutines costs more than it saves.
const ParallelWork = 1 << 20

// SplitRows calls fn on consecutive row ranges [lo, hi) covering [0, rows): one call on
// the calling goroutine when work (the product's multiply–adds) is below ParallelWork or
// only one CPU is usable, otherwise one range per CPU (GOMAXPROCS, at most rows/16),
// run concurrently, of near-equal sizes with boundaries on multiples of 16 rows so that
// kernels working on row blocks see whole blocks. It returns when every call has.
func SplitRows(rows int, work int64, fn func(lo, hi int)) {
	if Serial(rows, work) {
		fn(0, rows)
		return
	}
	p := runtime.GOMAXPROCS(0)
	p = min(p, rows/16)
	// bound(i) is i·rows/p rounded to a multiple of 16: p non-empty ranges, as
	// rows ≥ 16·p.
	bound := func(i int) int {
		if i == p {
			return rows
		}
		return (i*rows/p + 8) &^ 15
	}
	var wg sync.WaitGroup
	for i := 1; i < p; i++ {
		lo, hi := bound(i), bound(i+1)
		wg.Go(func() { fn(lo, hi) })
	}
	fn(0, bound(1))
	wg.Wait()
}

// Model is a safetensors model loaded for inference: every weight matrix as an
// Operator (the codec's own for compressed tensors, Dense for the rest) and every
// other tensor (biases, norms) as F32.
type Model struct {
	// Path is the file it was loaded from; Algorithm its MetaAlgorithm: the codec, Mixed
	// (each tensor's codec is in Meta[MetaCodecs]), or "" if uncompressed.
	Path, Algorithm string
	Meta            map[string]string
	// Operators by tensor name: the 2-D tensors.
	Operators map[string]Operator
	// Tensors by name: every tensor that is not a weight matrix, as F32.
	Tensors map[string]*tensor.Tensor
}

// LoadModel reads the safetensors model at path for inference. Each tensor listed as
// compressed is loaded by its codec's OperatorLoader (in a Mixed file, the codec
// MetaCodecs names for it) from its stored parts — no dense
// copy is made — and fails, naming the file and the tensor, if a part is missing or
// corrupt. A codec without an OperatorLoader is an error (it cannot run packed). Dense
// 2-D float tensors become Dense operators; other tensors are converted to F32. A
// binary must import compress/all (or the codec's package) for the codec lookup.
func LoadModel(path string) (*Model, error) {
	f, err := tensor.Open(path)
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	defer f.Close()
	m := &Model{Path: path, Meta: f.Metadata(), Operators: map[string]Operator{}, Tensors: map[string]*tensor.Tensor{}}
	consumed := map[string]bool{}
	m.Algorithm = m.Meta[MetaAlgorithm]
	names, codecs, err := fileCodecs(path, m.Meta)
	if err != nil {
		return nil, err
	}
	get := func(name string) (*tensor.Tensor, error) {
		consumed[name] = true
		return f.Read(name)
	}
	for _, name := range names {
		c := codecs[name]
		loader, ok := c.(OperatorLoader)
		if !ok {
			return nil, fmt.Errorf("compress: %s: codec %s has no packed operator: it cannot be loaded for inference (tensor %q)", path, c.Name(), name)
		}
		op, err := loader.LoadOperator(name, m.Meta, get)
		if err != nil {
			return nil, fmt.Errorf("compress: %s: load %s tensor %q: %w", path, c.Name(), name, err)
		}
		m.Operators[name] = op
	}
	for _, info := range f.Infos() {
		if consumed[info.Name] {
			continue
		}
		if _, dup := m.Operators[info.Name]; dup {
			return nil, fmt.Errorf("compress: %s: tensor %q is both stored dense and listed in %s", path, info.Name, MetaTensors)
		}
		t, err := f.Read(info.Name)
		if err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		if t, err = toF32(t); err != nil {
			return nil, fmt.Errorf("compress: %s: %w", path, err)
		}
		if len(t.Shape) == 2 && t.Shape[0] > 0 && t.Shape[1] > 0 {
			w, _ := t.Float32s()
			m.Operators[info.Name] = NewDense(t.Shape[0], t.Shape[1], w)
			continue
		}
		m.Tensors[info.Name] = t
	}
	return m, nil
}

// EncodeOperator compresses the row-major rows×cols matrix w called name with c and
// loads the result as c's operator, in memory: what a file written by CompressFile
// would load to, without the file. It fails if c leaves the matrix dense or has no
// OperatorLoader.
func EncodeOperator(c Codec, name string, rows, cols int, w []float32) (Operator, error) {
	loader, ok := c.(OperatorLoader)
	if !ok {
		return nil, fmt.Errorf("compress: codec %s has no packed operator", c.Name())
	}
	meta, get, err := encodeMatrix(c, name, rows, cols, w)
	if err != nil {
		return nil, err
	}
	return loader.LoadOperator(name, meta, get)
}

// encodeMatrix encodes one matrix with c and returns its metadata and a lookup of its
// stored parts by name.
func encodeMatrix(c Codec, name string, rows, cols int, w []float32) (map[string]string, func(string) (*tensor.Tensor, error), error) {
	meta, get, _, err := encodeMatrixStored(c, name, rows, cols, w)
	return meta, get, err
}

// encodeMatrixStored is encodeMatrix that also returns the bytes of the stored parts.
func encodeMatrixStored(c Codec, name string, rows, cols int, w []float32) (map[string]string, func(string) (*tensor.Tensor, error), int64, error) {
	t := tensor.FromFloat32(name, tensor.F32, []int{rows, cols}, w)
	stored, meta, err := c.Encode(t)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(stored) == 1 && stored[0] == t && len(meta) == 0 {
		return nil, nil, 0, fmt.Errorf("compress: %s left tensor %q dense", c.Name(), name)
	}
	byName := map[string]*tensor.Tensor{}
	var bytes int64
	for _, s := range stored {
		byName[s.Name] = s
		bytes += int64(len(s.Data))
	}
	get := func(n string) (*tensor.Tensor, error) {
		s, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("tensor %q not found (stored: %s)", n, strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
		}
		return s, nil
	}
	return meta, get, bytes, nil
}

// InputQuantizer is implemented by codecs whose operators quantize their inputs before
// multiplying (BitNet b1.58's 8-bit activations). FakeQuantizeInput replaces one input
// vector x by the values the kernel actually multiplies, dequantized to float32: what a
// float reference of the packed arithmetic, or quantization-aware training, must use.
type InputQuantizer interface {
	FakeQuantizeInput(x []float32)
}

// RoundTrip encodes the row-major rows×cols matrix w called name with c and decodes it
// again: the float32 weights c's operator represents. It fails if c leaves the matrix
// dense.
func RoundTrip(c Codec, name string, rows, cols int, w []float32) ([]float32, error) {
	meta, get, err := encodeMatrix(c, name, rows, cols, w)
	if err != nil {
		return nil, err
	}
	d, err := c.Decode(name, meta, get)
	if err != nil {
		return nil, err
	}
	return d.Float32s()
}
