package workflows

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
)

// newGenerationEnv is a test environment with the activities registered (to be mocked)
// and a valid config with two models and the given number of children.
func newGenerationEnv(t *testing.T, children int, compression evomerge.CompressionSpec) (*testsuite.TestWorkflowEnvironment, *activities.Activities, evomerge.Config) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	acts := &activities.Activities{}
	env.RegisterActivity(acts)
	cfg := evomerge.Config{
		Name: "unit", Seed: 1, BaseModel: "base",
		Models:      []evomerge.ModelSpec{{Name: "base", Path: "/b"}, {Name: "a", Path: "/a"}},
		Evolution:   evomerge.EvolutionSpec{Generations: 1, Population: 2, Children: children, Parallelism: 2},
		Compression: compression,
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	return env, acts, cfg
}

// Workflow logic with mocked activities: which steps run for each child, in what order
// the children come back, and how many run at once.
func TestGenerationWorkflowPipeline(t *testing.T) {
	for _, postMerge := range []bool{false, true} {
		t.Run(fmt.Sprintf("post_merge=%v", postMerge), func(t *testing.T) {
			var comp evomerge.CompressionSpec
			if postMerge {
				comp = evomerge.CompressionSpec{Enabled: true, Algorithm: "bitnet", ApplyAt: []string{"post_merge"}, TargetRatio: 8, AccuracyThreshold: 0.5}
			}
			env, acts, cfg := newGenerationEnv(t, 5, comp)

			var mu sync.Mutex
			calls := map[string]int{}
			count := func(name string) {
				mu.Lock()
				calls[name]++
				mu.Unlock()
			}
			env.OnActivity(acts.Ask, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AskInput) (activities.AskOutput, error) {
				count("breed")
				rs := make([]activities.Child, in.Children)
				for i := range rs {
					rs[i] = activities.Child{Recipe: evomerge.Recipe{Method: "linear", Weights: []float64{1, float64(i)}}}
				}
				return activities.AskOutput{Children: rs, State: []byte(`{"asked":1}`)}, nil
			})
			env.OnActivity(acts.Merge, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MergeInput) (store.Ref, error) {
				count("merge")
				return store.Ref{Digest: "merged-" + in.ChildID, Bytes: 1000}, nil
			})
			env.OnActivity(acts.Compress, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CompressInput) (activities.CompressResult, error) {
				count("compress")
				return activities.CompressResult{Artifact: store.Ref{Digest: "small-" + in.Model.Digest, Bytes: 100}}, nil
			})
			env.OnActivity(acts.Benchmark, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BenchmarkInput) (bench.Result, error) {
				count("benchmark")
				// Later children score higher; compressed ones a little lower.
				var i int
				fmt.Sscanf(in.Model.Digest[len(in.Model.Digest)-2:], "%d", &i)
				acc := 0.5 + 0.1*float64(i)
				if in.Model.Bytes == 100 {
					acc -= 0.05
				}
				return bench.Result{Accuracy: acc, SizeBytes: in.Model.Bytes, LatencyMs: 1, Finite: true, Examples: 10}, nil
			})
			env.OnActivity(acts.Gate, mock.Anything, mock.Anything).Return(func(ctx context.Context, in evomerge.GateInput) (evomerge.GateOutput, error) {
				count("gate")
				return evomerge.Gates(in), nil
			})
			env.OnActivity(acts.Select, mock.Anything, mock.Anything).Return(func(ctx context.Context, in evomerge.SelectInput) (evomerge.SelectOutput, error) {
				count("select")
				return evomerge.Select(in)
			})

			env.ExecuteWorkflow(GenerationWorkflow, GenerationInput{Config: cfg, Generation: 1, MergeInputs: []store.Ref{{}, {}}})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var out GenerationResult
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
			wantCompress := 0
			if postMerge {
				wantCompress = 5
			}
			want := map[string]int{"breed": 1, "merge": 5, "compress": wantCompress, "benchmark": 5 + wantCompress, "gate": 5, "select": 1}
			for k, v := range want {
				if calls[k] != v {
					t.Errorf("%s ran %d times, want %d", k, calls[k], v)
				}
			}
			for i, c := range out.Children {
				if c.ID != fmt.Sprintf("g1-c%02d", i) {
					t.Errorf("child %d is %s", i, c.ID)
				}
				if (c.Compression != nil) != postMerge || !c.Accepted {
					t.Errorf("child %s: compression %+v accepted %v", c.ID, c.Compression, c.Accepted)
				}
			}
			// Survivors: the two most accurate; the front: the single best.
			if len(out.Population) != 2 || len(out.Front) != 1 || out.Front[0].ID != "g1-c04" {
				t.Errorf("population %d, front %+v", len(out.Population), out.Front)
			}
			if string(out.Strategy) != `{"asked":1}` {
				t.Errorf("strategy state %s, want the Ask activity's", out.Strategy)
			}
		})
	}
}

// A child whose merge fails on bad input is rejected, not the run; if every child
// fails, the generation fails.
func TestGenerationRejectsBadChildren(t *testing.T) {
	for _, allBad := range []bool{false, true} {
		t.Run(fmt.Sprintf("all_bad=%v", allBad), func(t *testing.T) {
			env, acts, cfg := newGenerationEnv(t, 3, evomerge.CompressionSpec{})
			env.OnActivity(acts.Ask, mock.Anything, mock.Anything).Return(activities.AskOutput{Children: []activities.Child{
				{Recipe: evomerge.Recipe{Method: "linear", Weights: []float64{1, 1}}}, {Recipe: evomerge.Recipe{Method: "linear", Weights: []float64{0, 0}}},
				{Recipe: evomerge.Recipe{Method: "linear", Weights: []float64{1, 2}}},
			}}, nil)
			env.OnActivity(acts.Merge, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MergeInput) (store.Ref, error) {
				if allBad || in.ChildID == "g1-c01" {
					return store.Ref{}, temporal.NewNonRetryableApplicationError("linear: weights sum to 0", activities.ErrBadRecipe, nil)
				}
				return store.Ref{Digest: in.ChildID, Bytes: 10}, nil
			})
			env.OnActivity(acts.Benchmark, mock.Anything, mock.Anything).Return(bench.Result{Accuracy: 0.9, SizeBytes: 10, Finite: true, Examples: 10}, nil)
			env.OnActivity(acts.Gate, mock.Anything, mock.Anything).Return(func(ctx context.Context, in evomerge.GateInput) (evomerge.GateOutput, error) {
				return evomerge.Gates(in), nil
			})
			env.OnActivity(acts.Select, mock.Anything, mock.Anything).Return(func(ctx context.Context, in evomerge.SelectInput) (evomerge.SelectOutput, error) {
				return evomerge.Select(in)
			})
			env.ExecuteWorkflow(GenerationWorkflow, GenerationInput{Config: cfg, Generation: 1, MergeInputs: []store.Ref{{}, {}}})
			err := env.GetWorkflowError()
			if allBad {
				if err == nil || !strings.Contains(err.Error(), "every child's recipe failed") || !strings.Contains(err.Error(), "weights sum to 0") {
					t.Fatalf("want the generation to fail naming the cause, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out GenerationResult
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
			bad := out.Children[1]
			if bad.Accepted || len(bad.Gates) != 1 || !strings.Contains(bad.Gates[0].Detail, "weights sum to 0") {
				t.Errorf("bad child: accepted %v gates %+v", bad.Accepted, bad.Gates)
			}
			for _, m := range out.Front {
				if m.ID == "g1-c01" {
					t.Errorf("rejected child in the front")
				}
			}
		})
	}
}

// Breeding that finds no new child fails the generation with the reason, not a panic.
func TestGenerationWithNoChildren(t *testing.T) {
	env, acts, cfg := newGenerationEnv(t, 3, evomerge.CompressionSpec{})
	env.OnActivity(acts.Ask, mock.Anything, mock.Anything).Return(activities.AskOutput{}, nil)
	env.ExecuteWorkflow(GenerationWorkflow, GenerationInput{Config: cfg, Generation: 2, MergeInputs: []store.Ref{{}, {}}})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "the search strategy asked for no child") {
		t.Fatalf("want a clear failure, got %v", err)
	}
}

// With searched compression each child is compressed by its own genes (CompressPlan, not
// Compress); a child whose genes keep every group dense is not compressed at all, and a
// child whose genome does not decode is rejected without being merged.
func TestGenerationSearchedCompression(t *testing.T) {
	comp := evomerge.CompressionSpec{Enabled: true, Algorithm: evomerge.AlgorithmSearch, ApplyAt: []string{"post_merge"}, AccuracyThreshold: 0.5}
	env, acts, cfg := newGenerationEnv(t, 3, comp)
	lin := evomerge.Recipe{Method: "linear", Weights: []float64{1, 1}}
	env.OnActivity(acts.Ask, mock.Anything, mock.Anything).Return(activities.AskOutput{Children: []activities.Child{
		{X: []float64{0.1}, Recipe: lin, Genes: []evomerge.CodecGene{{Codec: "bitnet", Strength: 0.5}}},
		{X: []float64{0.2}, Recipe: lin, Genes: []evomerge.CodecGene{{Codec: evomerge.CodecNone}}},
		{X: []float64{0.3}, Recipe: lin, Invalid: "weights sum to 0"},
	}}, nil)
	var mu sync.Mutex
	var planned []string
	env.OnActivity(acts.Merge, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.MergeInput) (store.Ref, error) {
		return store.Ref{Digest: "m-" + in.ChildID, Bytes: 1000}, nil
	})
	env.OnActivity(acts.CompressPlan, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CompressPlanInput) (activities.CompressPlanResult, error) {
		mu.Lock()
		planned = append(planned, in.Model.Digest+":"+evomerge.GenesString(in.Genes))
		mu.Unlock()
		return activities.CompressPlanResult{Artifact: store.Ref{Digest: "c-" + in.Model.Digest, Bytes: 100},
			Plan: compress.Plan{"fc1.weight": {Codec: "bitnet"}}, Stats: compress.Stats{Algorithm: "bitnet"}}, nil
	})
	env.OnActivity(acts.Benchmark, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BenchmarkInput) (bench.Result, error) {
		return bench.Result{Accuracy: 0.9, SizeBytes: in.Model.Bytes, Finite: true, Examples: 10, Speedup: 2}, nil
	})
	env.OnActivity(acts.Gate, mock.Anything, mock.Anything).Return(func(ctx context.Context, in evomerge.GateInput) (evomerge.GateOutput, error) {
		return evomerge.Gates(in), nil
	})
	env.OnActivity(acts.Select, mock.Anything, mock.Anything).Return(func(ctx context.Context, in evomerge.SelectInput) (evomerge.SelectOutput, error) {
		return evomerge.Select(in)
	})
	env.ExecuteWorkflow(GenerationWorkflow, GenerationInput{Config: cfg, Generation: 1, MergeInputs: []store.Ref{{}, {}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out GenerationResult
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Join(planned, ",") != "m-g1-c00:bitnet@0.50" {
		t.Errorf("compressed %v, want only g1-c00 with its genes", planned)
	}
	c0, c1, c2 := out.Children[0], out.Children[1], out.Children[2]
	if c0.Compression == nil || c0.Score.SizeBytes != 100 || len(c0.Genome) != 1 || c0.Genome[0] != 0.1 {
		t.Errorf("compressed child: %+v", c0)
	}
	if c1.Compression != nil || c1.Score.SizeBytes != 1000 || !c1.Accepted {
		t.Errorf("all-dense child: compression %+v size %d accepted %v", c1.Compression, c1.Score.SizeBytes, c1.Accepted)
	}
	if c2.Accepted || c2.Merged.Digest != "" || !strings.Contains(c2.Gates[0].Detail, "weights sum to 0") {
		t.Errorf("invalid child: %+v", c2)
	}
	// The two accepted children are equally accurate; only the smaller is non-dominated.
	if len(out.Front) != 1 || out.Front[0].ID != "g1-c00" {
		t.Errorf("front %+v", out.Front)
	}
}
