package nn

import (
	"encoding/json"
	"fmt"
)

// Config describes an MLP: the width of every layer from input to output and the hidden
// activation. It is stored as canonical JSON under the "nn.config" metadata key of every
// model file, so a file says how to rebuild the network around its tensors.
type Config struct {
	// Architecture is the model family; only "mlp" is defined.
	Architecture string `json:"architecture"`
	// LayerSizes are the layer widths, input first: {784, 256, 256, 10} has three dense
	// layers fc1 (784→256), fc2 (256→256) and fc3 (256→10).
	LayerSizes []int `json:"layer_sizes"`
	// Activation is the hidden-layer nonlinearity; only "relu" is defined. The output
	// layer is linear (logits).
	Activation string `json:"activation"`
}

// DefaultConfig is the reference model: a 784-256-256-10 ReLU MLP for 28×28 MNIST digits
// (269,322 parameters, 1.08 MB as F32).
func DefaultConfig() Config {
	return Config{Architecture: "mlp", LayerSizes: []int{784, 256, 256, 10}, Activation: "relu"}
}

// Validate reports the first field of c that cannot describe a network.
func (c Config) Validate() error {
	if c.Architecture != "mlp" {
		return fmt.Errorf("nn config: architecture %q is not supported (want \"mlp\")", c.Architecture)
	}
	if c.Activation != "relu" {
		return fmt.Errorf("nn config: activation %q is not supported (want \"relu\")", c.Activation)
	}
	if len(c.LayerSizes) < 2 {
		return fmt.Errorf("nn config: layer_sizes %v needs at least an input and an output size", c.LayerSizes)
	}
	for i, n := range c.LayerSizes {
		if n <= 0 {
			return fmt.Errorf("nn config: layer_sizes[%d] = %d must be positive", i, n)
		}
	}
	return nil
}

// NumLayers is the number of dense layers (len(LayerSizes) − 1).
func (c Config) NumLayers() int { return len(c.LayerSizes) - 1 }

// NumParams is the number of weights and biases.
func (c Config) NumParams() int {
	n := 0
	for l := 0; l < c.NumLayers(); l++ {
		n += c.LayerSizes[l+1] * (c.LayerSizes[l] + 1)
	}
	return n
}

// canonicalJSON is the compact JSON stored in model metadata; field order is fixed by the
// struct, so equal configs give equal strings.
func (c Config) canonicalJSON() string {
	b, err := json.Marshal(c)
	if err != nil { // a struct of strings and ints always marshals
		panic(err)
	}
	return string(b)
}

// parseConfig decodes a config from JSON and validates it; where names the source in errors.
func parseConfig(where, s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return Config{}, fmt.Errorf("%s: decoding nn config: %w", where, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", where, err)
	}
	return c, nil
}
