package tensor

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
)

// SynthConfig shapes a synthetic Llama-style checkpoint family: a base model and
// fine-tunes of it, for merge tests and benchmarks that need realistic tensor names and
// shapes without a download.
type SynthConfig struct {
	Hidden       int   // hidden size
	Intermediate int   // MLP intermediate size
	Layers       int   // decoder layers
	Vocab        int   // vocabulary size
	Heads        int   // attention heads (0: Hidden/64, at least 1); must divide Hidden
	KVHeads      int   // key/value heads (0: Heads); must divide Heads
	DType        DType // F32, F16 or BF16
	ShardBytes   int64 // maximum tensor bytes per shard
	Seed         uint64
	// Rank is the rank of each fine-tune's task vector on every matrix (0: 4).
	Rank int
	// Delta is the standard deviation of a task vector's entries relative to the base
	// weights' (0: 0.1); Noise adds dense noise of that relative size on top (may be 0).
	Delta, Noise float64
}

// baseStd is the standard deviation of the base model's matrices (a common init scale).
const baseStd = 0.02

func (c SynthConfig) withDefaults() (SynthConfig, error) {
	if c.Heads == 0 {
		c.Heads = max(1, c.Hidden/64)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Rank == 0 {
		c.Rank = 4
	}
	if c.Delta == 0 {
		c.Delta = 0.1
	}
	switch {
	case c.Hidden < 1 || c.Intermediate < 1 || c.Layers < 1 || c.Vocab < 1:
		return c, fmt.Errorf("synth: hidden %d, intermediate %d, layers %d and vocab %d must all be at least 1", c.Hidden, c.Intermediate, c.Layers, c.Vocab)
	case c.Heads < 1 || c.Hidden%c.Heads != 0:
		return c, fmt.Errorf("synth: %d heads do not divide hidden size %d", c.Heads, c.Hidden)
	case c.KVHeads < 1 || c.Heads%c.KVHeads != 0:
		return c, fmt.Errorf("synth: %d key/value heads do not divide %d heads", c.KVHeads, c.Heads)
	case c.DType != F32 && c.DType != F16 && c.DType != BF16:
		return c, fmt.Errorf("synth: dtype %q is not F32, F16 or BF16", c.DType)
	case c.ShardBytes <= 0:
		return c, fmt.Errorf("synth: shard size %d bytes is not positive", c.ShardBytes)
	case c.Rank < 0 || c.Delta < 0 || c.Noise < 0 || math.IsNaN(c.Delta) || math.IsNaN(c.Noise) || math.IsInf(c.Delta, 0) || math.IsInf(c.Noise, 0):
		return c, fmt.Errorf("synth: rank %d, delta %g and noise %g must be finite and not negative", c.Rank, c.Delta, c.Noise)
	}
	return c, nil
}

// SynthTensors lists the tensors of the checkpoint c describes, in model order
// (embeddings, then per layer the attention projections, MLP projections and norms, then
// the final norm and the head), with c's dtype.
func SynthTensors(c SynthConfig) ([]Info, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	h, kv := c.Hidden, c.Hidden/c.Heads*c.KVHeads
	infos := []Info{{Name: "model.embed_tokens.weight", Shape: []int{c.Vocab, h}}}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		infos = append(infos,
			Info{Name: p + "self_attn.q_proj.weight", Shape: []int{h, h}},
			Info{Name: p + "self_attn.k_proj.weight", Shape: []int{kv, h}},
			Info{Name: p + "self_attn.v_proj.weight", Shape: []int{kv, h}},
			Info{Name: p + "self_attn.o_proj.weight", Shape: []int{h, h}},
			Info{Name: p + "mlp.gate_proj.weight", Shape: []int{c.Intermediate, h}},
			Info{Name: p + "mlp.up_proj.weight", Shape: []int{c.Intermediate, h}},
			Info{Name: p + "mlp.down_proj.weight", Shape: []int{h, c.Intermediate}},
			Info{Name: p + "input_layernorm.weight", Shape: []int{h}},
			Info{Name: p + "post_attention_layernorm.weight", Shape: []int{h}},
		)
	}
	infos = append(infos, Info{Name: "model.norm.weight", Shape: []int{h}}, Info{Name: "lm_head.weight", Shape: []int{c.Vocab, h}})
	for i := range infos {
		infos[i].DType = c.DType
	}
	return infos, nil
}

// SynthValues returns the values of tensor info of model (0: the base, i ≥ 1: fine-tune
// i), deterministic in c.Seed, the tensor name and model. Base matrices are N(0, 0.02²),
// norms 1 + N(0, 0.02²). Fine-tune i adds a task vector of its own: on a matrix a rank-r
// product U·Vᵀ scaled to entries of standard deviation Delta·0.02, plus dense noise of
// Noise·0.02; on a norm dense noise of Delta·0.02. Values do not depend on the shard size
// or on which other tensors are generated.
func SynthValues(c SynthConfig, info Info, model int) ([]float32, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	io.WriteString(h, info.Name)
	key := h.Sum64()
	out := make([]float32, NumElements(info.Shape))
	base := rand.New(rand.NewPCG(c.Seed, key))
	matrix := len(info.Shape) == 2
	offset := float32(0)
	if !matrix {
		offset = 1
	}
	for i := range out {
		out[i] = offset + float32(baseStd*base.NormFloat64())
	}
	if model == 0 {
		return out, nil
	}
	rng := rand.New(rand.NewPCG(c.Seed^(0x9e3779b97f4a7c15*uint64(model)), key))
	if !matrix {
		for i := range out {
			out[i] += float32(c.Delta * baseStd * rng.NormFloat64())
		}
		return out, nil
	}
	rows, cols, r := info.Shape[0], info.Shape[1], c.Rank
	if r > 0 {
		// Entries of U·Vᵀ with U, V ~ N(0, 1) have variance r; scale to Delta·baseStd.
		u := make([]float32, rows*r)
		v := make([]float32, cols*r)
		s := float32(c.Delta * baseStd / math.Sqrt(float64(r)))
		for i := range u {
			u[i] = float32(rng.NormFloat64()) * s
		}
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		for i := 0; i < rows; i++ {
			ui := u[i*r : i*r+r]
			row := out[i*cols : i*cols+cols]
			for j := range row {
				vj := v[j*r : j*r+r]
				var d float32
				for k, x := range ui {
					d += x * vj[k]
				}
				row[j] += d
			}
		}
	}
	if c.Noise > 0 {
		for i := range out {
			out[i] += float32(c.Noise * baseStd * rng.NormFloat64())
		}
	}
	return out, nil
}

// WriteSynth writes model (0: base, i ≥ 1: fine-tune i) of the family c describes as a
// checkpoint directory dir: shards of at most c.ShardBytes (model.safetensors when one
// suffices), config.json (LlamaForCausalLM), tokenizer.json and tokenizer_config.json (a
// word-level vocabulary of c.Vocab placeholder tokens). One tensor at a time is in memory.
// dir appears atomically (see CreateDirAtomic) and must not exist or be empty. It returns
// the bytes of tensor data written.
func WriteSynth(dir string, c SynthConfig, model int) (int64, error) {
	c, err := c.withDefaults()
	if err != nil {
		return 0, err
	}
	infos, err := SynthTensors(c)
	if err != nil {
		return 0, err
	}
	var total int64
	err = CreateDirAtomic(dir, func(tmp string) error {
		meta := map[string]string{"format": "pt", "synth.seed": fmt.Sprint(c.Seed), "synth.model": fmt.Sprint(model)}
		w, err := NewShardedWriter(tmp, meta, infos, c.ShardBytes)
		if err != nil {
			return err
		}
		for _, info := range infos {
			v, err := SynthValues(c, info, model)
			if err != nil {
				return err
			}
			if err := w.WriteFloat32(info.Name, v); err != nil {
				return err
			}
			total += int64(len(v) * c.DType.Size())
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := writeJSONFile(filepath.Join(tmp, "config.json"), synthModelConfig(c)); err != nil {
			return err
		}
		return writeSynthTokenizer(tmp, c.Vocab)
	})
	return total, err
}

// synthModelConfig is a Hugging Face LlamaForCausalLM config.json for c (fields in the
// order transformers writes the common ones).
func synthModelConfig(c SynthConfig) any {
	dtype := map[DType]string{F32: "float32", F16: "float16", BF16: "bfloat16"}[c.DType]
	return struct {
		Architectures         []string `json:"architectures"`
		ModelType             string   `json:"model_type"`
		HiddenSize            int      `json:"hidden_size"`
		IntermediateSize      int      `json:"intermediate_size"`
		NumHiddenLayers       int      `json:"num_hidden_layers"`
		NumAttentionHeads     int      `json:"num_attention_heads"`
		NumKeyValueHeads      int      `json:"num_key_value_heads"`
		VocabSize             int      `json:"vocab_size"`
		HiddenAct             string   `json:"hidden_act"`
		MaxPositionEmbeddings int      `json:"max_position_embeddings"`
		RMSNormEps            float64  `json:"rms_norm_eps"`
		TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
		TorchDType            string   `json:"torch_dtype"`
	}{[]string{"LlamaForCausalLM"}, "llama", c.Hidden, c.Intermediate, c.Layers, c.Heads, c.KVHeads, c.Vocab, "silu", 2048, 1e-5, false, dtype}
}

// writeSynthTokenizer writes a word-level tokenizer.json whose tokens are <unk>, <s>, </s>
// and placeholders tok3, tok4, ... up to vocab entries, and its tokenizer_config.json.
func writeSynthTokenizer(dir string, vocab int) error {
	var b strings.Builder
	b.WriteString(`{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,"model":{"type":"WordLevel","unk_token":"<unk>","vocab":{`)
	special := []string{"<unk>", "<s>", "</s>"}
	for i := 0; i < vocab; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		tok := fmt.Sprintf("tok%d", i)
		if i < len(special) {
			tok = special[i]
		}
		fmt.Fprintf(&b, "%q:%d", tok, i)
	}
	b.WriteString("}}}\n")
	tok := []byte(b.String())
	err := WriteAtomic(filepath.Join(dir, "tokenizer.json"), func(w io.Writer) error {
		_, err := w.Write(tok)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSONFile(filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "model_max_length": 2048,
	})
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	b = append(b, '\n')
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
