package evomerge

import (
	"math"
	"strings"
	"testing"
)

func genomeConfig(t *testing.T, groups int, algorithm string, codecs ...string) *Config {
	t.Helper()
	c := &Config{
		Name: "g", BaseModel: "base",
		Models:    []ModelSpec{{Name: "base", Path: "/b"}, {Name: "a", Path: "/a"}, {Name: "b", Path: "/c"}},
		Evolution: EvolutionSpec{Generations: 2, Population: 4, LayerGranularity: groups, Methods: []string{"linear", "task_arithmetic", "ties"}},
	}
	if algorithm != "" {
		c.Compression = CompressionSpec{Enabled: true, Algorithm: algorithm, Codecs: codecs, ApplyAt: []string{StagePostMerge}}
	}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

// The genome's layout, written out: method gene, then per group 3 weights and the union
// of the three methods' parameters, then per group a codec and a strength gene.
func TestGenomeDecodesTheLayout(t *testing.T) {
	g, err := NewGenome(genomeConfig(t, 2, AlgorithmSearch, "none", "bitnet", "vptq", "seedlm"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range g.params {
		names = append(names, p.Name)
	}
	perGroup := 3 + len(names)
	if g.Dim() != 1+2*perGroup+2*2 {
		t.Fatalf("Dim = %d with params %v, want %d", g.Dim(), names, 1+2*perGroup+4)
	}
	x := make([]float64, g.Dim())
	x[0] = 0.99 // the last method: ties
	for i := range perGroup {
		x[1+i] = 0.0          // group 0: weights at WeightMin, params at their minimum
		x[1+perGroup+i] = 1.0 // group 1: at the maximum
	}
	c := 1 + 2*perGroup
	x[c], x[c+1] = 0.3, 0.25  // group 0: codecs[1] = bitnet, strength 0.25
	x[c+2], x[c+3] = 0.0, 0.9 // group 1: none
	r, genes, err := g.Decode(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "ties" || len(r.Groups) != 2 {
		t.Fatalf("recipe %+v", r)
	}
	for i, w := range r.Groups[0].Weights {
		if w != g.WeightMin || r.Groups[1].Weights[i] != g.WeightMax {
			t.Errorf("weights %v / %v, want the bounds", r.Groups[0].Weights, r.Groups[1].Weights)
		}
	}
	if d := r.Groups[0].Params["density"]; d != 0.1 {
		t.Errorf("group 0 density %g, want the genome's lower bound 0.1", d)
	}
	if d := r.Groups[1].Params["density"]; d != 1 {
		t.Errorf("group 1 density %g, want 1", d)
	}
	// Random genomes decode to recipes that validate: 0/1 switches are rounded.
	for i := range 200 {
		y := make([]float64, g.Dim())
		for k := range y {
			y[k] = float64((i*7919+k*104729)%1000) / 999
		}
		r, _, err := g.Decode(y, 0)
		if err == nil {
			err = ValidateRecipe(r, 3)
		}
		if err != nil && !strings.Contains(err.Error(), "sum to 0") {
			t.Fatalf("genome %d decodes to an invalid recipe: %v", i, err)
		}
	}
	if GenesString(genes) != "bitnet@0.25 none" {
		t.Errorf("genes %s", GenesString(genes))
	}
	if err := ValidateRecipe(r, 3); err != nil {
		t.Errorf("decoded recipe does not validate: %v", err)
	}
	// Progressive floor 0.5: strength 0.25 → 0.5 + 0.25·0.5.
	_, genes, _ = g.Decode(x, 0.5)
	if genes[0].Strength != 0.625 || genes[1].Strength != 0 {
		t.Errorf("with floor 0.5: %+v", genes)
	}
	// Out of bounds and wrong length are errors, not clamped silently.
	x[3] = 1.5
	if _, _, err := g.Decode(x, 0); err == nil || !strings.Contains(err.Error(), "gene 3") {
		t.Errorf("gene outside [0, 1]: %v", err)
	}
	if _, _, err := g.Decode(x[:5], 0); err == nil {
		t.Error("short genome: want an error")
	}
}

// Encode inverts Decode inside the bounds; the initial points decode to the variation's
// canonical recipes (equal-weight soup, mean task vector, TIES) at every codec.
func TestGenomeEncodeRoundTrip(t *testing.T) {
	for _, groups := range []int{1, 3} {
		g, err := NewGenome(genomeConfig(t, groups, AlgorithmSearch, "none", "bitnet", "vptq"))
		if err != nil {
			t.Fatal(err)
		}
		pts := g.InitialPoints(9)
		if len(pts) != 9 {
			t.Fatalf("groups %d: %d initial points, want 3 methods × 3 codecs", groups, len(pts))
		}
		seen := map[string]bool{}
		for _, x := range pts {
			r, genes, err := g.Decode(x, 0)
			if err != nil {
				t.Fatal(err)
			}
			seen[r.Method+"/"+genes[0].Codec] = true
			x2, err := g.Encode(r, genes)
			if err != nil {
				t.Fatal(err)
			}
			r2, genes2, _ := g.Decode(x2, 0)
			if RecipeString(&r) != RecipeString(&r2) || GenesString(genes) != GenesString(genes2) {
				t.Errorf("round trip: %s %s → %s %s", RecipeString(&r), GenesString(genes), RecipeString(&r2), GenesString(genes2))
			}
			if r.Method == "linear" {
				w := r.Weights
				if groups > 1 {
					w = r.Groups[1].Weights
				}
				for _, v := range w {
					if math.Abs(v-1.0/3) > 1e-6 {
						t.Errorf("linear soup weights %v, want 1/3 each", w)
					}
				}
			}
		}
		if len(seen) != 9 {
			t.Errorf("initial points cover %v", seen)
		}
	}
}

// Without searched compression there are no compression genes; under auto one budget
// gene for the whole model.
func TestGenomeCompressionGenes(t *testing.T) {
	plain, _ := NewGenome(genomeConfig(t, 3, ""))
	search, _ := NewGenome(genomeConfig(t, 3, AlgorithmSearch, "none", "bitnet"))
	auto, _ := NewGenome(genomeConfig(t, 3, AlgorithmAuto, "vptq"))
	one, _ := NewGenome(genomeConfig(t, 3, AlgorithmSearch, "bitnet"))
	if search.Dim()-plain.Dim() != 6 || auto.Dim()-plain.Dim() != 1 || one.Dim()-plain.Dim() != 3 {
		t.Errorf("dims: plain %d search %d auto %d single-codec %d", plain.Dim(), search.Dim(), auto.Dim(), one.Dim())
	}
	x := make([]float64, auto.Dim())
	for i := range x {
		x[i] = 0.5
	}
	_, genes, err := auto.Decode(x, 0)
	if err != nil || len(genes) != 1 || genes[0].Codec != "" || genes[0].Strength != 0.5 {
		t.Errorf("auto genes %+v, %v", genes, err)
	}
	_, genes, _ = plain.Decode(make([]float64, plain.Dim()), 0)
	if genes != nil {
		t.Errorf("uncompressed run has genes %+v", genes)
	}
}
