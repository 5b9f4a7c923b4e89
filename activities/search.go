package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/tensor"
)

// AskInput asks the run's search strategy for one generation's children, after telling
// it the scores of the previous generation's.
type AskInput struct {
	Config     evomerge.Config `json:"config"`
	Generation int             `json:"generation"`
	// Children is how many to ask for (the generation's share of the budget).
	Children int `json:"children"`
	// Floor is the progressive schedule's strength floor for this generation.
	Floor float64 `json:"floor"`
	// State is the strategy's state after the previous Ask (nil at the start).
	State json.RawMessage `json:"state,omitempty"`
	// Told are the previous generation's children, scored; Seeds normalize their objectives.
	Told  []evomerge.Model `json:"told,omitempty"`
	Seeds []evomerge.Model `json:"seeds"`
}

// Child is one asked-for child: its genome, what it decodes to, or why it does not.
type Child struct {
	X      []float64            `json:"x"`
	Recipe evomerge.Recipe      `json:"recipe"`
	Genes  []evomerge.CodecGene `json:"genes,omitempty"`
	// Invalid, when set, is why the genome does not decode to a usable child.
	Invalid string `json:"invalid,omitempty"`
}

// AskOutput is the generation's children and the strategy's new state.
type AskOutput struct {
	Children []Child         `json:"children"`
	State    json.RawMessage `json:"state"`
}

// Ask runs one step of the search strategy: tell it in.Told, ask for in.Children points,
// and decode them through the run's genome. It is deterministic in its input: the
// strategy's randomness comes from the run seed and the state it carries.
func (a *Activities) Ask(ctx context.Context, in AskInput) (AskOutput, error) {
	cfg := in.Config
	if err := cfg.Normalize(); err != nil {
		return AskOutput{}, badInput(err)
	}
	g, err := evomerge.NewGenome(&cfg)
	if err != nil {
		return AskOutput{}, badInput(err)
	}
	// NSGA-II keeps evolution.population survivors; CMA-ES samples one generation's
	// children per step. Both start from the genome's known-good corners.
	opts := evomerge.StrategyOptions{Initial: g.InitialPoints(cfg.Evolution.Children), Population: cfg.Evolution.Population}
	if cfg.Evolution.Strategy == evomerge.StrategyCMAES {
		opts.Population = max(4, cfg.Evolution.Children)
		// Scalarized: accuracy (negated, as strategies minimize) plus the other
		// objectives, each normalized against the seeds, with equal weights.
		opts.Scalar = make([]float64, len(cfg.Objectives))
		for i := range opts.Scalar {
			opts.Scalar[i] = 1
		}
	}
	s, err := evomerge.NewStrategy(cfg.Evolution.Strategy, g.Dim(), int64(cfg.Seed), opts, in.State)
	if err != nil {
		return AskOutput{}, badInput(err)
	}
	if len(in.Told) > 0 {
		norm, err := evomerge.NewNormalizer(in.Seeds, cfg.Objectives)
		if err != nil {
			return AskOutput{}, badInput(err)
		}
		var told []evomerge.Individual
		for _, m := range in.Told {
			if len(m.Genome) != g.Dim() {
				continue // not a point of this genome (a seed, or a run resumed across a genome change)
			}
			ind := evomerge.Individual{X: m.Genome, Violation: evomerge.Violation(m)}
			if norm != nil {
				if ind.F, err = norm.Minimized(m); err != nil {
					return AskOutput{}, badInput(err)
				}
			}
			if ind.F == nil {
				ind.F = make([]float64, len(cfg.Objectives))
			}
			told = append(told, ind)
		}
		if err := s.Tell(told); err != nil {
			return AskOutput{}, badInput(err)
		}
	}
	xs, err := s.Ask(in.Children)
	if err != nil {
		return AskOutput{}, badInput(err)
	}
	out := AskOutput{Children: make([]Child, len(xs))}
	for i, x := range xs {
		c := Child{X: x}
		r, genes, err := g.Decode(x, in.Floor)
		if err == nil {
			err = evomerge.ValidateRecipe(r, len(cfg.Models))
		}
		if err != nil {
			c.Invalid = err.Error()
		}
		c.Recipe, c.Genes = r, genes
		out.Children[i] = c
	}
	if out.State, err = s.State(); err != nil {
		return AskOutput{}, err
	}
	return out, nil
}

// CompressPlanInput compresses one stored model layer group by layer group.
type CompressPlanInput struct {
	Model store.Ref `json:"model"`
	// Genes are the compression genes per layer group (evomerge.Genome).
	Genes []evomerge.CodecGene `json:"genes"`
	// Sensitivity, under algorithm auto, is every layer's measured options (the
	// Sensitivity activity): Genes is then one budget gene, which Allocate spreads.
	Sensitivity []evomerge.LayerSensitivity `json:"sensitivity,omitempty"`
}

// CompressPlanResult is the compressed model, its plan and how it compares to its input.
type CompressPlanResult struct {
	Artifact store.Ref      `json:"artifact"`
	Stats    compress.Stats `json:"stats"`
	// Plan is the codec and options chosen for every compressed tensor.
	Plan compress.Plan `json:"plan"`
}

const compressPlanVersion = "compress-plan/1"

// CompressPlan compresses a stored model with a codec and setting per layer group: each
// weight matrix goes to its layer group (evomerge.GroupOf over the genes) and gets the
// group's codec at the ladder rung its strength selects (compress.RungAt); under
// algorithm auto the one budget gene is allocated over the layers by their sensitivity. Encodings of
// single tensors are memoized in the store's tensor cache, so children that share a
// layer and a setting encode it once.
func (a *Activities) CompressPlan(ctx context.Context, in CompressPlanInput) (CompressPlanResult, error) {
	if len(in.Genes) == 0 {
		return CompressPlanResult{}, badInput(fmt.Errorf("compress plan: no compression genes"))
	}
	var out CompressPlanResult
	err := heartbeat(ctx, func() error {
		src, err := a.Store.Path(in.Model)
		if err != nil {
			return err
		}
		var plan compress.Plan
		if len(in.Sensitivity) > 0 {
			plan, err = autoPlan(in.Sensitivity, in.Genes[0].Strength)
		} else {
			plan, err = planFor(src, in.Genes)
		}
		if err != nil {
			return badInput(err)
		}
		key := store.Key(compressPlanVersion, in.Model.Digest, plan, codecVersions(plan))
		valid := func(r CompressPlanResult) bool { return a.Store.Has(r.Artifact) }
		out, err = memo(a, WorkCompress, key, valid, func() (CompressPlanResult, error) {
			f, err := a.Store.TempFile("compress-*.safetensors")
			if err != nil {
				return CompressPlanResult{}, err
			}
			dst := f.Name()
			f.Close()
			defer os.Remove(dst)
			stats, err := compress.CompressFilePlan(ctx, plan, src, dst, a.tensorCache())
			if err != nil {
				return CompressPlanResult{}, err
			}
			res := CompressPlanResult{Stats: stats, Plan: plan}
			res.Artifact, err = a.Store.PutFile("", dst)
			return res, err
		})
		return err
	})
	return out, classify(err)
}

// tensorCache is where single-tensor encodings are memoized: beside the store's blobs
// for a local store, in the local cache of an S3 store, nowhere for other stores.
func (a *Activities) tensorCache() compress.TensorCache {
	if dir := store.LocalDir(a.Store); dir != "" {
		return compress.DirCache(filepath.Join(dir, "tensor-cache"))
	}
	return nil
}

// planFor maps every weight matrix of the model at path to its layer group's gene.
func planFor(path string, genes []evomerge.CodecGene) (compress.Plan, error) {
	f, err := tensor.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	for _, info := range f.Infos() {
		names = append(names, info.Name)
	}
	layers := evomerge.LayerCount(names)
	plan := compress.Plan{}
	for _, info := range f.Infos() {
		if len(info.Shape) != 2 {
			continue
		}
		g := genes[evomerge.GroupOf(info.Name, layers, len(genes))]
		if g.Codec == "" || g.Codec == evomerge.CodecNone {
			continue
		}
		rung, err := compress.RungAt(g.Codec, g.Strength)
		if err != nil {
			return nil, err
		}
		plan[info.Name] = compress.Choice{Codec: g.Codec, Options: rung.Options}
	}
	return plan, nil
}

// codecVersions are the encoder versions a plan uses, in codec order: part of the memo
// key, so a changed encoder is not served old outputs.
func codecVersions(plan compress.Plan) []string {
	seen := map[string]bool{}
	for _, c := range plan {
		seen[c.Codec] = true
	}
	var out []string
	for _, name := range compress.Names() {
		if !seen[name] {
			continue
		}
		if c, err := compress.New(name, nil); err == nil {
			out = append(out, c.Version())
		}
	}
	return out
}

// SensitivityInput asks for every weight matrix's sensitivity to every codec setting
// algorithm auto can choose.
type SensitivityInput struct {
	Model  store.Ref `json:"model"`
	Codecs []string  `json:"codecs"`
	// DataDir is where the calibration images (MNIST training images) are read from.
	DataDir string `json:"data_dir,omitempty"`
}

const sensitivityVersion = "sensitivity/1"

// calibrationImages is how many training images give the input statistics.
const calibrationImages = 512

// Sensitivity measures, for every weight matrix of a stored model, each allowed codec's
// error and stored bits at every rung of its ladder (compress.Measure), the error weighted by the layer's input
// statistics on calibration images from the training set (nn.InputStats; uniform when the
// model is not one nn can run), plus "none" at the matrix's own bits when allowed. The
// result is memoized per model and codec versions.
func (a *Activities) Sensitivity(ctx context.Context, in SensitivityInput) ([]evomerge.LayerSensitivity, error) {
	var versions []string
	for _, c := range in.Codecs {
		if c == evomerge.CodecNone {
			continue
		}
		codec, err := compress.New(c, nil)
		if err != nil {
			return nil, badInput(err)
		}
		versions = append(versions, codec.Version())
	}
	key := store.Key(sensitivityVersion, in.Model.Digest, in.Codecs, versions, calibrationImages)
	var out []evomerge.LayerSensitivity
	err := heartbeat(ctx, func() error {
		var err error
		out, err = memo(a, WorkSensitivity, key, func([]evomerge.LayerSensitivity) bool { return true }, func() ([]evomerge.LayerSensitivity, error) {
			return a.sensitivity(ctx, in)
		})
		return err
	})
	return out, classify(err)
}

func (a *Activities) sensitivity(ctx context.Context, in SensitivityInput) ([]evomerge.LayerSensitivity, error) {
	path, err := a.Store.Path(in.Model)
	if err != nil {
		return nil, err
	}
	var stats map[string][]float32
	if m, err := nn.LoadFile(path); err == nil {
		splits, err := nn.LoadMNISTSplits(in.DataDir)
		if err != nil {
			return nil, err
		}
		if stats, err = nn.InputStats(m, splits.Train, calibrationImages); err != nil {
			return nil, err
		}
	}
	f, err := tensor.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []evomerge.LayerSensitivity
	for _, info := range f.Infos() {
		if len(info.Shape) != 2 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := f.Read(info.Name)
		if err != nil {
			return nil, err
		}
		w, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		rows, cols := info.Shape[0], info.Shape[1]
		ls := evomerge.LayerSensitivity{Tensor: info.Name, Weights: int64(rows) * int64(cols)}
		for _, codec := range in.Codecs {
			if codec == evomerge.CodecNone {
				ls.Options = append(ls.Options, evomerge.LayerOption{Codec: codec, BitsPerWeight: float64(8 * info.DType.Size())})
				continue
			}
			ladder, err := compress.Ladder(codec)
			if err != nil {
				return nil, badInput(err)
			}
			for _, rung := range ladder {
				m, err := compress.Measure(codec, rung.Options, w, rows, cols, stats[info.Name])
				if err != nil {
					return nil, fmt.Errorf("sensitivity of %s to %s %v: %w", info.Name, codec, rung.Options, err)
				}
				ls.Options = append(ls.Options, evomerge.LayerOption{Codec: codec, Options: rung.Options, BitsPerWeight: m.BitsPerWeight, Error: m.Error})
			}
		}
		out = append(out, ls)
	}
	return out, nil
}

// autoPlan allocates a bit budget over the layers by their sensitivities: strength 0
// is the largest budget the options allow, 1 the smallest.
func autoPlan(layers []evomerge.LayerSensitivity, strength float64) (compress.Plan, error) {
	lo, hi := evomerge.BudgetRange(layers)
	choice, err := evomerge.Allocate(layers, hi-strength*(hi-lo))
	if err != nil {
		return nil, err
	}
	plan := compress.Plan{}
	for l, i := range choice {
		o := layers[l].Options[i]
		if o.Codec == evomerge.CodecNone {
			continue
		}
		plan[layers[l].Tensor] = compress.Choice{Codec: o.Codec, Options: o.Options}
	}
	return plan, nil
}
