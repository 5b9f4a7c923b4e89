package evomerge

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Genome maps a child, as search strategies see it — a point x in [0, 1]^Dim() — to what
// the run builds: a merge recipe (method, then per layer group one weight per model and
// the methods' parameters) and, when compression is searched, one compression gene per
// layer group (a codec from the allowed set and a strength in [0, 1]).
//
// Layout of x: x[0] picks the method (Methods split [0, 1] into equal intervals); then
// for each merge group, Models weights in [WeightMin, WeightMax] followed by every
// parameter of the union of the methods' parameters (sorted by name) in its bounds; then
// for each compression group a codec gene (Codecs split [0, 1] into equal intervals; absent
// with algorithm auto or a single codec) and a strength gene. Genes a method does not read
// (another method's parameters) ride along unchanged, so that a method switch keeps the
// rest of the child.
type Genome struct {
	Methods   []string `json:"methods"`
	Models    int      `json:"models"`
	BaseIndex int      `json:"base_index"`
	// Groups is the number of merge layer groups (1: one set for the whole model).
	Groups               int     `json:"groups"`
	WeightMin, WeightMax float64 `json:"-"`
	// Codecs are the compression gene's choices; empty when compression is not searched.
	Codecs []string `json:"codecs,omitempty"`
	// Auto: one budget gene for the whole model, no codec gene (codec and setting per
	// layer are chosen by sensitivity, Allocate).
	Auto bool `json:"auto,omitempty"`
	// MinStrength is the lowest strength a gene maps to.
	MinStrength float64 `json:"min_strength,omitempty"`

	params []Param // the union of the methods' parameters, by name
}

// flagParams are method parameters that are 0/1 switches (flagParam), decoded by rounding.
var flagParams = map[string]bool{"normalize": true}

// CodecGene is one layer group's compression: a codec ("none" keeps it dense, "" under
// algorithm auto means "chosen by sensitivity") and its strength in [0, 1]
// (0 mildest, 1 strongest setting of the codec's ladder).
type CodecGene struct {
	Codec    string  `json:"codec"`
	Strength float64 `json:"strength"`
}

// NewGenome builds the genome of a run's config.
func NewGenome(c *Config) (*Genome, error) {
	v := DefaultVariation()
	g := &Genome{
		Methods: append([]string(nil), c.Evolution.Methods...), Models: len(c.Models), BaseIndex: c.BaseIndex(),
		Groups: c.Evolution.LayerGranularity, WeightMin: v.WeightMin, WeightMax: v.WeightMax,
	}
	if c.Compression.Searched() && c.Compression.At(StagePostMerge) {
		g.Codecs = append([]string(nil), c.Compression.Codecs...)
		g.Auto = c.Compression.Algorithm == AlgorithmAuto
		g.MinStrength = c.Compression.MinStrength
	}
	if err := g.init(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Genome) init() error {
	if len(g.Methods) == 0 || g.Models < 1 || g.Groups < 1 {
		return errors.New("genome: needs a method, a model and a layer group")
	}
	byName := map[string]Param{}
	for _, name := range g.Methods {
		m, err := LookupMethod(name)
		if err != nil {
			return err
		}
		for _, p := range m.Params() {
			if q, dup := byName[p.Name]; dup && (q.Min != p.Min || q.Max != p.Max) {
				// Two methods disagree on the bounds: keep the intersection.
				p.Min, p.Max = math.Max(p.Min, q.Min), math.Min(p.Max, q.Max)
			}
			byName[p.Name] = p
		}
	}
	g.params = g.params[:0]
	for _, p := range byName {
		if p.Name == "density" {
			// Densities below 0.1 leave too little of each task vector to be worth a child.
			p.Min = math.Max(p.Min, DefaultVariation().DensityMin)
		}
		g.params = append(g.params, p)
	}
	sort.Slice(g.params, func(i, j int) bool { return g.params[i].Name < g.params[j].Name })
	return nil
}

// perGroup is the number of merge genes of one layer group.
func (g *Genome) perGroup() int { return g.Models + len(g.params) }

// codecGenes is the number of genes of one compression group (codec + strength, or
// strength alone when the codec is not searched).
func (g *Genome) codecGenes() int {
	switch {
	case len(g.Codecs) == 0:
		return 0
	case g.Auto || len(g.Codecs) == 1:
		return 1
	}
	return 2
}

// compressionGroups is the number of compression genes: one per layer group, or one
// for the whole model under algorithm auto (its bit budget, which Allocate spreads over
// the layers by sensitivity).
func (g *Genome) compressionGroups() int {
	if g.Auto {
		return 1
	}
	return g.Groups
}

// Dim is the length of x.
func (g *Genome) Dim() int {
	return 1 + g.Groups*g.perGroup() + g.compressionGroups()*g.codecGenes()
}

// choose maps a gene in [0, 1] to one of n choices.
func choose(x float64, n int) int {
	return min(n-1, max(0, int(math.Floor(x*float64(n)))))
}

// centre is the gene value in the middle of choice i's interval.
func centre(i, n int) float64 { return (float64(i) + 0.5) / float64(n) }

func lerp(lo, hi, x float64) float64 { return lo + (hi-lo)*clamp(x, 0, 1) }

func unlerp(lo, hi, v float64) float64 {
	if hi == lo {
		return 0.5
	}
	return clamp((v-lo)/(hi-lo), 0, 1)
}

// Decode maps x to the child's merge recipe and compression genes (nil when compression
// is not searched). floor is the progressive schedule's strength floor for this
// generation: strengths are floor + s·(1 − floor), with s = MinStrength + x·(1 − MinStrength).
func (g *Genome) Decode(x []float64, floor float64) (Recipe, []CodecGene, error) {
	if len(x) != g.Dim() {
		return Recipe{}, nil, fmt.Errorf("genome: %d genes, want %d", len(x), g.Dim())
	}
	for i, v := range x {
		if !(v >= 0 && v <= 1) {
			return Recipe{}, nil, fmt.Errorf("genome: gene %d = %g is outside [0, 1]", i, v)
		}
	}
	method := g.Methods[choose(x[0], len(g.Methods))]
	m, err := LookupMethod(method)
	if err != nil {
		return Recipe{}, nil, err
	}
	uses := map[string]bool{}
	for _, p := range m.Params() {
		uses[p.Name] = true
	}
	groups := make([]GroupParams, g.Groups)
	k := 1
	for gi := range groups {
		gp := GroupParams{Weights: make([]float64, g.Models)}
		for i := range gp.Weights {
			gp.Weights[i] = round6(lerp(g.WeightMin, g.WeightMax, x[k]))
			k++
		}
		for _, p := range g.params {
			if uses[p.Name] {
				if gp.Params == nil {
					gp.Params = map[string]float64{}
				}
				v := round6(lerp(p.Min, p.Max, x[k]))
				if flagParams[p.Name] {
					v = math.Round(v) // a 0/1 switch: the gene's lower half is 0, the upper half 1
				}
				gp.Params[p.Name] = v
			}
			k++
		}
		groups[gi] = gp
	}
	r := Recipe{Method: method}
	if g.Groups == 1 {
		r.Weights, r.Params = groups[0].Weights, groups[0].Params
	} else {
		r.Groups = groups
		// The recipe-wide weights are the groups' mean: what RecipeString shows and what
		// a reader of the recipe sees at a glance.
		r.Weights = make([]float64, g.Models)
		for _, gp := range groups {
			for i, w := range gp.Weights {
				r.Weights[i] += w / float64(g.Groups)
			}
		}
		for i := range r.Weights {
			r.Weights[i] = round6(r.Weights[i])
		}
	}
	if len(g.Codecs) == 0 {
		return r, nil, nil
	}
	genes := make([]CodecGene, g.compressionGroups())
	for gi := range genes {
		codec := ""
		switch {
		case g.Auto:
		case len(g.Codecs) == 1:
			codec = g.Codecs[0]
		default:
			codec = g.Codecs[choose(x[k], len(g.Codecs))]
			k++
		}
		s := lerp(g.MinStrength, 1, x[k])
		k++
		s = floor + s*(1-floor)
		if codec == CodecNone {
			s = 0
		}
		genes[gi] = CodecGene{Codec: codec, Strength: round6(s)}
	}
	return r, genes, nil
}

// round6 keeps decoded values short in recipes and reports without changing children
// (a merge weight is not sensitive to 1e-6).
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// Encode maps a recipe (and compression genes, if searched) to x: the inverse of Decode
// for values inside the genome's bounds, used to start a search from known recipes.
// Values outside the bounds are clamped; genes a recipe does not set (other methods'
// parameters) take their defaults.
func (g *Genome) Encode(r Recipe, genes []CodecGene) ([]float64, error) {
	mi := slices.Index(g.Methods, r.Method)
	if mi < 0 {
		return nil, fmt.Errorf("genome: method %q is not one of %s", r.Method, strings.Join(g.Methods, ", "))
	}
	x := make([]float64, 0, g.Dim())
	x = append(x, centre(mi, len(g.Methods)))
	for gi := 0; gi < g.Groups; gi++ {
		w, params := r.Weights, r.Params
		if len(r.Groups) > 0 {
			if len(r.Groups) != g.Groups {
				return nil, fmt.Errorf("genome: recipe has %d layer groups, want %d", len(r.Groups), g.Groups)
			}
			w, params = r.Groups[gi].Weights, r.Groups[gi].Params
		}
		if len(w) != g.Models {
			return nil, fmt.Errorf("genome: recipe has %d weights, want %d", len(w), g.Models)
		}
		for _, v := range w {
			x = append(x, unlerp(g.WeightMin, g.WeightMax, v))
		}
		for _, p := range g.params {
			v, ok := params[p.Name]
			if !ok {
				v = p.Default
			}
			x = append(x, unlerp(p.Min, p.Max, v))
		}
	}
	if n := g.codecGenes(); n > 0 {
		if len(genes) != g.compressionGroups() {
			return nil, fmt.Errorf("genome: %d compression genes, want %d", len(genes), g.compressionGroups())
		}
		for _, cg := range genes {
			if n == 2 {
				ci := slices.Index(g.Codecs, cg.Codec)
				if ci < 0 {
					return nil, fmt.Errorf("genome: codec %q is not one of %s", cg.Codec, strings.Join(g.Codecs, ", "))
				}
				x = append(x, centre(ci, len(g.Codecs)))
			}
			x = append(x, unlerp(g.MinStrength, 1, cg.Strength))
		}
	}
	return x, nil
}

// InitialPoints are the search's first children: every method with equal weights (the
// variation's initial recipes), crossed with every allowed codec at the middle strength
// when compression is searched — the known-good corners a random start would miss.
func (g *Genome) InitialPoints(n int) [][]float64 {
	v := DefaultVariation()
	v.Methods = g.Methods
	recipes := InitialRecipes(NewRNG(0, 0), g.Models, g.BaseIndex, len(g.Methods), v)
	var out [][]float64
	codecs := []string{""}
	if g.codecGenes() == 2 {
		codecs = g.Codecs
	}
	for _, codec := range codecs {
		for _, r := range recipes {
			var genes []CodecGene
			if g.codecGenes() > 0 {
				genes = make([]CodecGene, g.compressionGroups())
				for i := range genes {
					genes[i] = CodecGene{Codec: codec, Strength: 0.5}
				}
			}
			if x, err := g.Encode(r, genes); err == nil {
				out = append(out, x)
			}
			if len(out) == n {
				return out
			}
		}
	}
	return out
}

// GenesString renders compression genes for tables: "bitnet@0.50 vptq@0.25 none".
func GenesString(genes []CodecGene) string {
	var parts []string
	for _, g := range genes {
		switch {
		case g.Codec == CodecNone:
			parts = append(parts, CodecNone)
		case g.Codec == "":
			parts = append(parts, fmt.Sprintf("auto@%.2f", g.Strength))
		default:
			parts = append(parts, fmt.Sprintf("%s@%.2f", g.Codec, g.Strength))
		}
	}
	return strings.Join(parts, " ")
}
