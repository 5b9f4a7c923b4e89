package evomerge

import (
	"strconv"
	"strings"
)

// Layer groups let a recipe merge different depths of a network differently, as
// mergekit-evolve's layer_granularity and Sakana's evolutionary model merge do
// (arcee-ai/mergekit docs/evolve.md). A tensor's layer comes from its name (LayerIndex);
// the layers are split evenly into the recipe's groups (GroupOf); tensors outside the
// layer stack go to the first group (embeddings) or the last (final norm, head, anything
// else). Optionally each layer group is split further by tensor kind (KindOf), as
// mergekit-evolve's filters [self_attn, mlp] split parameters into attention, MLP and
// everything else.

// layerMarkers are the name components after which the layer number follows:
// "model.layers.3" (Llama, Mistral, Qwen, GPT-NeoX), "encoder.layer.3" (BERT),
// "transformer.h.3" (GPT-2, Falcon), "blocks.3" / "block.3" (ViT-style, T5).
var layerMarkers = map[string]bool{"layers": true, "layer": true, "h": true, "blocks": true, "block": true}

// LayerIndex returns the 0-based layer number of a tensor named tensorName, and whether
// it belongs to a layer at all. The name's dot-separated components are scanned left to
// right and the first match wins:
//
//   - a marker component ("layers", "layer", "h", "blocks", "block") followed by a decimal
//     number: "model.layers.12.mlp.up_proj.weight" → 12, "transformer.h.3.attn.c_attn.bias"
//     → 3, "layers.0.weight" → 0;
//   - a component "fcN" with N ≥ 1, the 1-based layer names of nn's MLPs (nn.WeightName):
//     "fc1.weight" → 0, "fc2.bias" → 1.
//
// Embeddings, final norms and heads ("model.embed_tokens.weight", "model.norm.weight",
// "lm_head.weight", "fc.weight") are not in a layer.
func LayerIndex(tensorName string) (int, bool) {
	parts := strings.Split(tensorName, ".")
	for i, p := range parts {
		if layerMarkers[p] && i+1 < len(parts) {
			if n, ok := decimal(parts[i+1]); ok {
				return n, true
			}
		}
		if rest, ok := strings.CutPrefix(p, "fc"); ok {
			if n, ok := decimal(rest); ok && n >= 1 {
				return n - 1, true
			}
		}
	}
	return 0, false
}

// decimal parses s as a non-negative decimal number of ASCII digits only.
func decimal(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// LayerCount returns the number of layers of a model with the given tensor names: one
// more than the largest LayerIndex, or 0 if no tensor is in a layer.
func LayerCount(names []string) int {
	n := 0
	for _, name := range names {
		if l, ok := LayerIndex(name); ok && l+1 > n {
			n = l + 1
		}
	}
	return n
}

// GroupOf returns the group, in [0, granularity), of the tensor called name in a model of
// layers layers split into granularity groups. Layer l goes to group ⌊l·granularity/layers⌋,
// so consecutive layers share a group, groups differ in size by at most one layer, and
// with granularity ≤ layers every group holds at least one layer (when granularity divides
// layers this is mergekit-evolve's split into blocks of layers/granularity layers; note
// that mergekit's layer_granularity counts layers per group, this counts groups). A layer
// number ≥ layers goes to the last group.
//
// Tensors in no layer: embeddings (a name component containing "embed", or "wte"/"wpe")
// go to the first group, everything else — the final norm, lm_head, a classifier — to the
// last group, as mergekit gives pre-layer weights the first slice's parameters and
// post-layer weights the last slice's. granularity ≤ 1 puts everything in group 0.
func GroupOf(name string, layers, granularity int) int {
	if granularity <= 1 {
		return 0
	}
	l, ok := LayerIndex(name)
	switch {
	case !ok && isEmbedding(name):
		return 0
	case !ok || l >= layers:
		return granularity - 1
	}
	return l * granularity / layers
}

// isEmbedding reports whether a tensor name denotes an input embedding.
func isEmbedding(name string) bool {
	for _, p := range strings.Split(name, ".") {
		p = strings.ToLower(p)
		if strings.Contains(p, "embed") || p == "wte" || p == "wpe" {
			return true
		}
	}
	return false
}

// TensorKind classifies a tensor for a recipe that splits its layer groups by kind.
type TensorKind int

// The tensor kinds, in the order of a kind-split recipe's groups.
const (
	KindAttention TensorKind = iota
	KindMLP
	KindOther
	// NumKinds is the number of tensor kinds.
	NumKinds = 3
)

// String returns "attention", "mlp" or "other".
func (k TensorKind) String() string {
	switch k {
	case KindAttention:
		return "attention"
	case KindMLP:
		return "mlp"
	case KindOther:
		return "other"
	}
	return "TensorKind(" + strconv.Itoa(int(k)) + ")"
}

var (
	attentionParts = map[string]bool{"q_proj": true, "k_proj": true, "v_proj": true, "o_proj": true, "query": true, "key": true, "value": true, "wq": true, "wk": true, "wv": true, "wo": true}
	mlpParts       = map[string]bool{"feed_forward": true, "ffn": true, "gate_proj": true, "up_proj": true, "down_proj": true, "c_fc": true, "w1": true, "w2": true, "w3": true}
)

// KindOf returns the kind of the tensor called name. The dot-separated components are
// scanned left to right; the first that decides wins:
//
//   - a component naming a norm (containing "norm", or "ln_…") decides nothing, so
//     "post_attention_layernorm" is not attention;
//   - attention: a component containing "attn" or "attention" ("self_attn", "attn",
//     "attention"), or q_proj, k_proj, v_proj, o_proj, query, key, value, wq, wk, wv, wo;
//   - MLP: a component containing "mlp", or feed_forward, ffn, gate_proj, up_proj,
//     down_proj, c_fc, w1, w2, w3, or nn's "fcN" layers (so all of the demo MLP is MLP).
//
// Anything else — embeddings, norms, lm_head — is KindOther.
func KindOf(name string) TensorKind {
	for _, p := range strings.Split(name, ".") {
		p = strings.ToLower(p)
		switch {
		case strings.Contains(p, "norm") || strings.HasPrefix(p, "ln_") || p == "ln":
			continue
		case strings.Contains(p, "attn") || strings.Contains(p, "attention") || attentionParts[p]:
			return KindAttention
		case strings.Contains(p, "mlp") || mlpParts[p]:
			return KindMLP
		}
		if rest, ok := strings.CutPrefix(p, "fc"); ok {
			if n, ok := decimal(rest); ok && n >= 1 {
				return KindMLP
			}
		}
	}
	return KindOther
}

// GroupIndex returns the index into r.Groups of the parameters that merge the tensor
// called name in a model of layers layers (LayerCount of its tensor names), or -1 if r
// has no groups (the recipe-wide Weights and Params apply). Without SplitKinds it is
// GroupOf(name, layers, len(r.Groups)); with SplitKinds r.Groups holds NumKinds entries
// per layer group, attention then MLP then other, and the index is
// GroupOf(name, layers, len(r.Groups)/NumKinds)·NumKinds + KindOf(name).
func (r Recipe) GroupIndex(name string, layers int) int {
	if len(r.Groups) == 0 {
		return -1
	}
	if !r.SplitKinds {
		return GroupOf(name, layers, len(r.Groups))
	}
	return GroupOf(name, layers, len(r.Groups)/NumKinds)*NumKinds + int(KindOf(name))
}
