package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// File names inside a model directory written by Save.
const (
	ModelFile  = "model.safetensors"
	ConfigFile = "config.json"
)

// SaveFile writes m as one safetensors file at path (F32 tensors, Metadata() in the
// header), atomically. Equal models give byte-identical files.
func (m *MLP) SaveFile(path string) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return tensor.WriteFile(path, m.Metadata(), m.Tensors())
}

// LoadFile reads a model from the safetensors file at path. A compressed file (written
// by compress.CompressFile) loads through its dequantized dense weights; the codec's
// package must be linked in (import _ "github.com/evomerge/evomerge/compress/all").
func LoadFile(path string) (*MLP, error) {
	ts, meta, err := compress.ReadDense(path)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	m, err := FromTensors(ts, meta)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", path, err)
	}
	return m, nil
}

// Save writes m into the directory dir (created if needed) as dir/model.safetensors,
// whose metadata is Metadata() plus extraMeta, and dir/config.json, the Config as
// indented JSON for people and tools that look for it. Each file is written atomically,
// config.json first, so a model.safetensors that exists is complete. extraMeta may not
// redefine the nn.config or format keys.
func Save(dir string, m *MLP, extraMeta map[string]string) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("saving %s: %w", dir, err)
	}
	meta := m.Metadata()
	for k, v := range extraMeta {
		if old, ok := meta[k]; ok && old != v {
			return fmt.Errorf("saving %s: extra metadata key %q would replace the model's own value", dir, k)
		}
	}
	maps.Copy(meta, extraMeta)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("saving %s: %w", dir, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigFile), append(cfg, '\n')); err != nil {
		return err
	}
	return tensor.WriteFile(filepath.Join(dir, ModelFile), meta, m.Tensors())
}

// Load reads a model saved by Save from the directory dir; dir may also name a
// safetensors file, which is read with LoadFile. If model.safetensors carries no nn.config
// metadata, dir/config.json supplies the config when present.
func Load(dir string) (*MLP, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return LoadFile(dir)
	}
	path := filepath.Join(dir, ModelFile)
	ts, meta, err := compress.ReadDense(path)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	if _, ok := meta[MetaConfig]; !ok {
		cfgPath := filepath.Join(dir, ConfigFile)
		raw, err := os.ReadFile(cfgPath)
		switch {
		case err == nil:
			cfg, err := parseConfig(cfgPath, string(raw))
			if err != nil {
				return nil, fmt.Errorf("loading model: %w", err)
			}
			meta = maps.Clone(meta)
			if meta == nil {
				meta = map[string]string{}
			}
			meta[MetaConfig] = cfg.canonicalJSON()
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("loading model: %w", err)
		}
	}
	m, err := FromTensors(ts, meta)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", path, err)
	}
	return m, nil
}

// writeFileAtomic writes data to path so that readers see the old file or the new one,
// never a part.
func writeFileAtomic(path string, data []byte) error {
	return tensor.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
