package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/evomerge/evomerge/tensor"
)

// MLP is a fully connected network: for each layer l, h_{l+1} = act(W_l h_l + b_l), with
// ReLU on hidden layers and no activation on the output logits.
type MLP struct {
	Config Config
	// Weights[l] is layer l's matrix, LayerSizes[l+1] rows × LayerSizes[l] columns,
	// row-major: the layout of PyTorch's nn.Linear.weight.
	Weights [][]float32
	// Biases[l] has LayerSizes[l+1] entries.
	Biases [][]float32
}

// initStream is the second PCG word for weight initialisation, so a seed used for
// training (shuffling) and for initialisation does not give correlated streams.
const initStream = 0x6e6e2e696e6974 // "nn.init"

// New returns an MLP with He/Kaiming-uniform weights, W ~ U(−√(6/fan_in), +√(6/fan_in))
// (He et al. 2015, "Delving Deep into Rectifiers", the ReLU gain), and zero biases, drawn
// from a PCG seeded with seed. It fails if cfg does not validate.
func New(cfg Config, seed uint64) (*MLP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, initStream))
	m := zeroMLP(cfg)
	for l, w := range m.Weights {
		bound := math.Sqrt(6 / float64(cfg.LayerSizes[l]))
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	return m, nil
}

// zeroMLP allocates an all-zero network for a validated config.
func zeroMLP(cfg Config) *MLP {
	cfg.LayerSizes = slices.Clone(cfg.LayerSizes)
	m := &MLP{Config: cfg}
	for l := 0; l < cfg.NumLayers(); l++ {
		in, out := cfg.LayerSizes[l], cfg.LayerSizes[l+1]
		m.Weights = append(m.Weights, make([]float32, out*in))
		m.Biases = append(m.Biases, make([]float32, out))
	}
	return m
}

// Clone returns a deep copy of m.
func (m *MLP) Clone() *MLP {
	c := zeroMLP(m.Config)
	for l := range m.Weights {
		copy(c.Weights[l], m.Weights[l])
		copy(c.Biases[l], m.Biases[l])
	}
	return c
}

// WeightName and BiasName are the tensor names of layer l (0-based): "fc1.weight", "fc1.bias", ….
func WeightName(l int) string { return "fc" + strconv.Itoa(l+1) + ".weight" }

// BiasName is the tensor name of layer l's bias; see WeightName.
func BiasName(l int) string { return "fc" + strconv.Itoa(l+1) + ".bias" }

// Tensors returns the parameters as F32 tensors sorted by name: fc1.bias, fc1.weight
// [out, in], fc2.bias, …. The tensors hold copies of the values.
func (m *MLP) Tensors() []*tensor.Tensor {
	var ts []*tensor.Tensor
	for l := range m.Weights {
		in, out := m.Config.LayerSizes[l], m.Config.LayerSizes[l+1]
		ts = append(ts,
			tensor.FromFloat32(WeightName(l), tensor.F32, []int{out, in}, m.Weights[l]),
			tensor.FromFloat32(BiasName(l), tensor.F32, []int{out}, m.Biases[l]))
	}
	slices.SortFunc(ts, func(a, b *tensor.Tensor) int { return strings.Compare(a.Name, b.Name) })
	return ts
}

// Metadata keys written into every model file.
const (
	MetaConfig = "nn.config" // canonical JSON of Config
	MetaFormat = "format"    // "pt", as Hugging Face writes for PyTorch-layout weights
)

// Metadata is the safetensors header metadata describing m: the canonical JSON of its
// Config under "nn.config", and "format": "pt".
func (m *MLP) Metadata() map[string]string {
	return map[string]string{MetaConfig: m.Config.canonicalJSON(), MetaFormat: "pt"}
}

// FromTensors builds an MLP from named tensors (any float dtype; values are copied) and
// the file's metadata. The layout comes from meta["nn.config"]; when that key is absent
// (a file written by another tool) it is inferred from the fcN.weight shapes, with ReLU.
// Every fc1…fcL weight and bias must be present exactly once with the shape the config
// implies, and no other tensor may be present; errors name the tensor and the wanted and
// actual shapes.
func FromTensors(ts []*tensor.Tensor, meta map[string]string) (*MLP, error) {
	byName := make(map[string]*tensor.Tensor, len(ts))
	for _, t := range ts {
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("nn: tensor %q appears twice", t.Name)
		}
		byName[t.Name] = t
	}
	var cfg Config
	if s, ok := meta[MetaConfig]; ok {
		var err error
		if cfg, err = parseConfig("nn: metadata "+MetaConfig, s); err != nil {
			return nil, err
		}
	} else {
		var err error
		if cfg, err = inferConfig(byName); err != nil {
			return nil, err
		}
	}
	m := zeroMLP(cfg)
	for l := 0; l < cfg.NumLayers(); l++ {
		in, out := cfg.LayerSizes[l], cfg.LayerSizes[l+1]
		if err := fill(byName, WeightName(l), []int{out, in}, m.Weights[l]); err != nil {
			return nil, err
		}
		if err := fill(byName, BiasName(l), []int{out}, m.Biases[l]); err != nil {
			return nil, err
		}
		delete(byName, WeightName(l))
		delete(byName, BiasName(l))
	}
	if len(byName) > 0 {
		extra := make([]string, 0, len(byName))
		for n := range byName {
			extra = append(extra, n)
		}
		slices.Sort(extra)
		return nil, fmt.Errorf("nn: unexpected tensors %q for a %d-layer MLP %v", extra, cfg.NumLayers(), cfg.LayerSizes)
	}
	return m, nil
}

// fill decodes tensor name into dst after checking its shape.
func fill(byName map[string]*tensor.Tensor, name string, shape []int, dst []float32) error {
	t, ok := byName[name]
	if !ok {
		return fmt.Errorf("nn: tensor %q is missing (want shape %v)", name, shape)
	}
	if !slices.Equal(t.Shape, shape) {
		return fmt.Errorf("nn: tensor %q has shape %v, want %v", name, t.Shape, shape)
	}
	v, err := t.Float32s()
	if err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	copy(dst, v)
	return nil
}

// inferConfig reads the layer sizes off fc1.weight, fc2.weight, … when a file carries no
// nn.config: consecutive layers must chain (rows of one = columns of the next).
func inferConfig(byName map[string]*tensor.Tensor) (Config, error) {
	cfg := Config{Architecture: "mlp", Activation: "relu"}
	for l := 0; ; l++ {
		t, ok := byName[WeightName(l)]
		if !ok {
			break
		}
		if len(t.Shape) != 2 {
			return Config{}, fmt.Errorf("nn: tensor %q has shape %v, want a matrix [out, in]", t.Name, t.Shape)
		}
		if l == 0 {
			cfg.LayerSizes = append(cfg.LayerSizes, t.Shape[1])
		} else if prev := cfg.LayerSizes[l]; t.Shape[1] != prev {
			return Config{}, fmt.Errorf("nn: tensor %q has shape %v, want [_, %d] to follow %s", t.Name, t.Shape, prev, WeightName(l-1))
		}
		cfg.LayerSizes = append(cfg.LayerSizes, t.Shape[0])
	}
	if len(cfg.LayerSizes) == 0 {
		return Config{}, fmt.Errorf("nn: no %s metadata and no %q tensor to infer the layout from", MetaConfig, WeightName(0))
	}
	return cfg, cfg.Validate()
}

// AllFinite reports whether every weight and bias is a finite number (no NaN or ±Inf).
func (m *MLP) AllFinite() bool {
	for l := range m.Weights {
		for _, p := range [][]float32{m.Weights[l], m.Biases[l]} {
			for _, v := range p {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return false
				}
			}
		}
	}
	return true
}

// check verifies that the parameter slices match the config, so kernels can index
// without surprises; exported entry points call it on user-built MLPs.
func (m *MLP) check() error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if len(m.Weights) != m.Config.NumLayers() || len(m.Biases) != m.Config.NumLayers() {
		return fmt.Errorf("nn: MLP has %d weight and %d bias slices for %d layers", len(m.Weights), len(m.Biases), m.Config.NumLayers())
	}
	for l := range m.Weights {
		in, out := m.Config.LayerSizes[l], m.Config.LayerSizes[l+1]
		if len(m.Weights[l]) != out*in {
			return fmt.Errorf("nn: %s has %d values, want %d×%d", WeightName(l), len(m.Weights[l]), out, in)
		}
		if len(m.Biases[l]) != out {
			return fmt.Errorf("nn: %s has %d values, want %d", BiasName(l), len(m.Biases[l]), out)
		}
	}
	return nil
}
