package evomerge

import (
	"strconv"
	"testing"

	"github.com/evomerge/evomerge/nn"
)

func TestLayerIndex(t *testing.T) {
	for _, c := range []struct {
		name  string
		layer int
		ok    bool
	}{
		// Llama / Mistral / Qwen.
		{"model.embed_tokens.weight", 0, false},
		{"model.layers.0.self_attn.q_proj.weight", 0, true},
		{"model.layers.12.mlp.up_proj.weight", 12, true},
		{"model.layers.31.post_attention_layernorm.weight", 31, true},
		{"model.norm.weight", 0, false},
		{"lm_head.weight", 0, false},
		{"layers.3.weight", 3, true},
		// Phi: the layer marker wins over an fcN inside the layer.
		{"model.layers.5.mlp.fc2.weight", 5, true},
		// GPT-2, BERT, ViT-style.
		{"transformer.h.7.attn.c_attn.bias", 7, true},
		{"transformer.wte.weight", 0, false},
		{"bert.encoder.layer.11.attention.self.query.weight", 11, true},
		{"blocks.2.norm1.weight", 2, true},
		// The demo MLP (nn): fcN is layer N-1.
		{"fc1.weight", 0, true},
		{"fc1.bias", 0, true},
		{"fc2.weight", 1, true},
		{"fc3.bias", 2, true},
		{"fc12.weight", 11, true},
		// Not layers.
		{"fc.weight", 0, false},
		{"fc0.weight", 0, false},
		{"fcx.weight", 0, false},
		{"layers.weight", 0, false},
		{"layers.-1.weight", 0, false},
		{"layers", 0, false},
		{"scalar", 0, false},
		{"", 0, false},
	} {
		l, ok := LayerIndex(c.name)
		if l != c.layer || ok != c.ok {
			t.Errorf("LayerIndex(%q) = %d, %v; want %d, %v", c.name, l, ok, c.layer, c.ok)
		}
	}
}

func TestLayerCount(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  int
	}{
		{nil, 0},
		{[]string{"model.embed_tokens.weight", "lm_head.weight"}, 0},
		{[]string{"model.layers.0.mlp.up_proj.weight", "model.layers.31.mlp.up_proj.weight", "model.norm.weight"}, 32},
		{[]string{"fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight"}, 3},
	} {
		if got := LayerCount(c.names); got != c.want {
			t.Errorf("LayerCount(%v) = %d, want %d", c.names, got, c.want)
		}
	}
}

func TestGroupOf(t *testing.T) {
	for _, c := range []struct {
		name                string
		layers, granularity int
		want                int
	}{
		// 32 Llama layers in 4 groups of 8 (mergekit-evolve's layer_granularity 8).
		{"model.layers.0.self_attn.q_proj.weight", 32, 4, 0},
		{"model.layers.7.mlp.down_proj.weight", 32, 4, 0},
		{"model.layers.8.mlp.down_proj.weight", 32, 4, 1},
		{"model.layers.23.input_layernorm.weight", 32, 4, 2},
		{"model.layers.24.input_layernorm.weight", 32, 4, 3},
		{"model.layers.31.self_attn.o_proj.weight", 32, 4, 3},
		{"model.embed_tokens.weight", 32, 4, 0},
		{"model.norm.weight", 32, 4, 3},
		{"lm_head.weight", 32, 4, 3},
		{"transformer.wte.weight", 12, 3, 0},
		{"transformer.wpe.weight", 12, 3, 0},
		{"transformer.ln_f.weight", 12, 3, 2},
		// Uneven: 3 layers in 2 groups → {0, 1}, {2}.
		{"layers.0.weight", 3, 2, 0},
		{"layers.1.weight", 3, 2, 0},
		{"layers.2.weight", 3, 2, 1},
		// 10 layers in 4 groups: sizes 3, 2, 3, 2 (⌊l·4/10⌋).
		{"layers.2.weight", 10, 4, 0},
		{"layers.3.weight", 10, 4, 1},
		{"layers.5.weight", 10, 4, 2},
		{"layers.8.weight", 10, 4, 3},
		// A layer beyond the count goes to the last group; one group takes everything.
		{"layers.9.weight", 3, 2, 1},
		{"model.layers.5.mlp.up_proj.weight", 32, 1, 0},
		{"lm_head.weight", 32, 0, 0},
		// The demo MLP, 3 layers: one group per layer, or fc1+fc2 | fc3.
		{"fc1.weight", 3, 3, 0},
		{"fc2.bias", 3, 3, 1},
		{"fc3.weight", 3, 3, 2},
		{"fc2.weight", 3, 2, 0},
		{"fc3.bias", 3, 2, 1},
		// More groups than layers: the higher groups hold fewer layers or none.
		{"fc1.weight", 3, 6, 0},
		{"fc2.weight", 3, 6, 2},
		{"fc3.weight", 3, 6, 4},
	} {
		if got := GroupOf(c.name, c.layers, c.granularity); got != c.want {
			t.Errorf("GroupOf(%q, %d, %d) = %d, want %d", c.name, c.layers, c.granularity, got, c.want)
		}
	}
	// Every group of 2..layers groups gets a layer, and groups are contiguous.
	for layers := 1; layers <= 40; layers++ {
		for g := 1; g <= layers; g++ {
			prev, seen := 0, map[int]bool{}
			for l := 0; l < layers; l++ {
				k := GroupOf("layers."+strconv.Itoa(l)+".weight", layers, g)
				if k < prev || k > prev+1 || k >= g {
					t.Fatalf("%d layers, %d groups: layer %d in group %d after group %d", layers, g, l, k, prev)
				}
				prev, seen[k] = k, true
			}
			if len(seen) != g {
				t.Fatalf("%d layers, %d groups: only %d groups used", layers, g, len(seen))
			}
		}
	}
}

func TestKindOf(t *testing.T) {
	for name, want := range map[string]TensorKind{
		"model.layers.0.self_attn.q_proj.weight":           KindAttention,
		"model.layers.0.self_attn.o_proj.weight":           KindAttention,
		"model.layers.0.mlp.gate_proj.weight":              KindMLP,
		"model.layers.0.mlp.down_proj.weight":              KindMLP,
		"model.layers.0.input_layernorm.weight":            KindOther,
		"model.layers.0.post_attention_layernorm.weight":   KindOther,
		"model.embed_tokens.weight":                        KindOther,
		"model.norm.weight":                                KindOther,
		"lm_head.weight":                                   KindOther,
		"transformer.h.0.attn.c_proj.weight":               KindAttention,
		"transformer.h.0.mlp.c_proj.weight":                KindMLP,
		"transformer.h.0.ln_1.weight":                      KindOther,
		"bert.encoder.layer.0.attention.self.query.weight": KindAttention,
		"layers.0.feed_forward.w1.weight":                  KindMLP,
		"layers.0.attention.wq.weight":                     KindAttention,
		"fc1.weight":                                       KindMLP,
		"fc3.bias":                                         KindMLP,
		"fc.weight":                                        KindOther,
		"scalar":                                           KindOther,
	} {
		if got := KindOf(name); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", name, got, want)
		}
	}
	if KindAttention.String() != "attention" || KindMLP.String() != "mlp" || KindOther.String() != "other" || TensorKind(7).String() != "TensorKind(7)" {
		t.Error("TensorKind.String")
	}
}

func TestRecipeGroupIndex(t *testing.T) {
	two := make([]GroupParams, 2)
	six := make([]GroupParams, 6)
	for _, c := range []struct {
		r    Recipe
		name string
		want int
	}{
		{Recipe{}, "model.layers.0.mlp.up_proj.weight", -1},
		{Recipe{Groups: two}, "model.layers.0.mlp.up_proj.weight", 0},
		{Recipe{Groups: two}, "model.layers.31.mlp.up_proj.weight", 1},
		// Two layer groups × (attention, mlp, other).
		{Recipe{Groups: six, SplitKinds: true}, "model.layers.0.self_attn.q_proj.weight", 0},
		{Recipe{Groups: six, SplitKinds: true}, "model.layers.0.mlp.up_proj.weight", 1},
		{Recipe{Groups: six, SplitKinds: true}, "model.embed_tokens.weight", 2},
		{Recipe{Groups: six, SplitKinds: true}, "model.layers.16.self_attn.k_proj.weight", 3},
		{Recipe{Groups: six, SplitKinds: true}, "model.layers.31.mlp.down_proj.weight", 4},
		{Recipe{Groups: six, SplitKinds: true}, "lm_head.weight", 5},
	} {
		if got := c.r.GroupIndex(c.name, 32); got != c.want {
			t.Errorf("groups %d split %v: GroupIndex(%q, 32) = %d, want %d", len(c.r.Groups), c.r.SplitKinds, c.name, got, c.want)
		}
	}
}

// The demo's models (nn) are layers by these rules: fc1, fc2, fc3 are layers 0, 1, 2 of
// a 3-layer model, MLP tensors, and with granularity 3 each has its own group.
func TestDemoModelLayers(t *testing.T) {
	cfg := nn.DefaultConfig()
	m, err := nn.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range m.Tensors() {
		names = append(names, tt.Name)
	}
	L := cfg.NumLayers()
	if got := LayerCount(names); got != L {
		t.Fatalf("LayerCount(%v) = %d, want %d", names, got, L)
	}
	for l := 0; l < L; l++ {
		for _, name := range []string{nn.WeightName(l), nn.BiasName(l)} {
			if got, ok := LayerIndex(name); !ok || got != l {
				t.Errorf("LayerIndex(%q) = %d, %v; want %d", name, got, ok, l)
			}
			if got := GroupOf(name, L, L); got != l {
				t.Errorf("GroupOf(%q, %d, %d) = %d, want %d", name, L, L, got, l)
			}
			if KindOf(name) != KindMLP {
				t.Errorf("KindOf(%q) = %s, want mlp", name, KindOf(name))
			}
		}
	}
}
