package nn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/evomerge/evomerge/compress"
)

// Layer is one dense layer for inference: h = W·x + B, with W an operator — the codec's
// packed kernel for a compressed model, compress.Dense otherwise.
type Layer struct {
	W compress.Operator
	B []float32
}

// Network is an MLP loaded for inference the way it would be deployed: every weight
// matrix stays in its stored form (packed codes, seeds, codebooks) and is multiplied by
// its own kernel. It is what the evaluator scores and times. A Network is safe for
// concurrent use.
type Network struct {
	Config Config
	Layers []Layer
	// Algorithm is the codec of a compressed model, "" for a dense one.
	Algorithm string
	// Packed is set for a compressed model: its matrices run in their codec's packed
	// kernels (compress.LoadModel never decodes them to float32).
	Packed bool
}

// Network returns m as a dense Network sharing m's weights (not copied): the
// uncompressed model run through compress.Dense.
func (m *MLP) Network() *Network {
	n := &Network{Config: m.Config}
	for l := range m.Weights {
		in, out := m.Config.LayerSizes[l], m.Config.LayerSizes[l+1]
		n.Layers = append(n.Layers, Layer{W: compress.NewDense(out, in, m.Weights[l]), B: m.Biases[l]})
	}
	return n
}

// LoadNetwork reads a model for inference from a safetensors file or a model directory
// (as Load). A compressed model's weight matrices are loaded by their codec as packed
// operators (compress.LoadModel), never dequantized; a corrupt packed tensor fails here,
// naming the file and tensor. The layout comes from the nn.config metadata, else from
// dir/config.json, else from the fcN.weight shapes. The codec's package must be linked
// in (import _ "github.com/evomerge/evomerge/compress/all").
func LoadNetwork(path string) (*Network, error) {
	file, cfgPath := path, ""
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file, cfgPath = filepath.Join(path, ModelFile), filepath.Join(path, ConfigFile)
	}
	pm, err := compress.LoadModel(file)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	cfg, err := networkConfig(pm, cfgPath)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", file, err)
	}
	n := &Network{Config: cfg, Algorithm: pm.Algorithm, Packed: pm.Algorithm != ""}
	used := 0
	for l := 0; l < cfg.NumLayers(); l++ {
		in, out := cfg.LayerSizes[l], cfg.LayerSizes[l+1]
		op, ok := pm.Operators[WeightName(l)]
		if !ok {
			return nil, fmt.Errorf("loading model %s: tensor %q is missing (want shape [%d %d])", file, WeightName(l), out, in)
		}
		if op.Rows() != out || op.Cols() != in {
			return nil, fmt.Errorf("loading model %s: tensor %q has shape [%d %d], want [%d %d]", file, WeightName(l), op.Rows(), op.Cols(), out, in)
		}
		b, ok := pm.Tensors[BiasName(l)]
		if !ok {
			return nil, fmt.Errorf("loading model %s: tensor %q is missing (want shape [%d])", file, BiasName(l), out)
		}
		if len(b.Shape) != 1 || b.Shape[0] != out {
			return nil, fmt.Errorf("loading model %s: tensor %q has shape %v, want [%d]", file, BiasName(l), b.Shape, out)
		}
		bv, err := b.Float32s()
		if err != nil {
			return nil, fmt.Errorf("loading model %s: %w", file, err)
		}
		n.Layers = append(n.Layers, Layer{W: op, B: bv})
		used += 2
	}
	if extra := len(pm.Operators) + len(pm.Tensors) - used; extra > 0 {
		return nil, fmt.Errorf("loading model %s: %d unexpected tensors for a %d-layer MLP %v", file, extra, cfg.NumLayers(), cfg.LayerSizes)
	}
	return n, nil
}

// networkConfig is the layout of a loaded model: its nn.config metadata, else the
// config.json at cfgPath (if given and present), else inferred from the weight shapes.
func networkConfig(pm *compress.Model, cfgPath string) (Config, error) {
	if s, ok := pm.Meta[MetaConfig]; ok {
		return parseConfig("nn: metadata "+MetaConfig, s)
	}
	if cfgPath != "" {
		raw, err := os.ReadFile(cfgPath)
		switch {
		case err == nil:
			return parseConfig(cfgPath, string(raw))
		case !errors.Is(err, os.ErrNotExist):
			return Config{}, err
		}
	}
	cfg := Config{Architecture: "mlp", Activation: "relu"}
	for l := 0; ; l++ {
		op, ok := pm.Operators[WeightName(l)]
		if !ok {
			break
		}
		if l == 0 {
			cfg.LayerSizes = append(cfg.LayerSizes, op.Cols())
		} else if prev := cfg.LayerSizes[l]; op.Cols() != prev {
			return Config{}, fmt.Errorf("nn: tensor %q has %d columns, want %d to follow %s", WeightName(l), op.Cols(), prev, WeightName(l-1))
		}
		cfg.LayerSizes = append(cfg.LayerSizes, op.Rows())
	}
	if len(cfg.LayerSizes) == 0 {
		return Config{}, fmt.Errorf("nn: no %s metadata and no %q tensor to infer the layout from", MetaConfig, WeightName(0))
	}
	return cfg, cfg.Validate()
}

// WeightBytes is the memory the network holds for its parameters: every operator's
// WeightBytes plus 4 bytes per bias.
func (n *Network) WeightBytes() int64 {
	var b int64
	for _, l := range n.Layers {
		b += l.W.WeightBytes() + 4*int64(len(l.B))
	}
	return b
}

// NumParams is the number of weights and biases the network represents.
func (n *Network) NumParams() int64 {
	var p int64
	for _, l := range n.Layers {
		p += int64(l.W.Rows())*int64(l.W.Cols()) + int64(len(l.B))
	}
	return p
}

// netScratch holds one forward pass's activations for up to a block of inputs.
type netScratch struct{ acts [][]float32 }

func (s *netScratch) ensure(cfg Config, batch int) {
	if len(s.acts) != cfg.NumLayers() {
		s.acts = make([][]float32, cfg.NumLayers())
	}
	for l := range s.acts {
		if k := batch * cfg.LayerSizes[l+1]; cap(s.acts[l]) < k {
			s.acts[l] = make([]float32, k)
		} else {
			s.acts[l] = s.acts[l][:k]
		}
	}
}

var netScratchPool = sync.Pool{New: func() any { return new(netScratch) }}

// biasMuler is an operator that applies a layer's bias and ReLU in its own output pass
// (bitnet.Ternary.MulBias, compress.Dense.MulBias), bit for bit as Mul followed by
// compress.BiasReLU.
type biasMuler interface {
	MulBias(n int, x, y, bias []float32, relu bool)
}

// forward runs batch inputs x (row-major) through n into s.acts and returns the logits.
func (n *Network) forward(s *netScratch, batch int, x []float32) []float32 {
	s.ensure(n.Config, batch)
	last := len(n.Layers) - 1
	in := x
	for l, layer := range n.Layers {
		h := s.acts[l]
		if f, ok := layer.W.(biasMuler); ok {
			f.MulBias(batch, in, h, layer.B, l != last)
			in = h
			continue
		}
		layer.W.Mul(batch, in, h)
		// The vectorised pass the dense layers run too: the same float32 results as Go's
		// y += bias and max(y, 0) loops (max keeps a NaN, so non-finite outputs still show).
		compress.BiasReLU(batch, h, layer.B, l != last)
		in = h
	}
	return in
}

// Forward computes the logits of one input x (LayerSizes[0] values) into out
// (LayerSizes[last] values), through each layer's operator. It does not allocate in
// steady state and is safe for concurrent use. It panics if x or out has the wrong length.
func (n *Network) Forward(x, out []float32) {
	sizes := n.Config.LayerSizes
	if len(x) != sizes[0] || len(out) != sizes[len(sizes)-1] {
		panic(fmt.Sprintf("nn.Network.Forward: input %d and output %d values for layer sizes %v", len(x), len(out), sizes))
	}
	s := netScratchPool.Get().(*netScratch)
	copy(out, n.forward(s, 1, x))
	netScratchPool.Put(s)
}

// Evaluate classifies every example of ds through the network's operators, in blocks of
// 64 examples spread over GOMAXPROCS goroutines, checking ctx between blocks. The tally
// does not depend on the number of goroutines. It fails if ds does not fit the network.
func (n *Network) Evaluate(ctx context.Context, ds *Dataset) (Tally, error) {
	if err := ds.check(n.Config); err != nil {
		return Tally{}, err
	}
	in := n.Config.LayerSizes[0]
	return evaluateBlocks(ctx, ds, n.Config, func() func(lo, B int) []float32 {
		var s netScratch
		return func(lo, B int) []float32 { return n.forward(&s, B, ds.Images[lo*in:(lo+B)*in]) }
	})
}

// Predictions returns the predicted class of every example of ds (for comparing two
// networks example by example).
func (n *Network) Predictions(ds *Dataset) ([]int, error) {
	if err := ds.check(n.Config); err != nil {
		return nil, err
	}
	in, classes := n.Config.LayerSizes[0], n.Config.LayerSizes[len(n.Config.LayerSizes)-1]
	pred := make([]int, ds.N)
	var s netScratch
	for lo := 0; lo < ds.N; lo += evalBlock {
		B := min(evalBlock, ds.N-lo)
		logits := n.forward(&s, B, ds.Images[lo*in:(lo+B)*in])
		for b := range B {
			pred[lo+b] = argmax(logits[b*classes : (b+1)*classes])
		}
	}
	return pred, nil
}
