package evomerge

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "run.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validConfig = `
name: test-run
seed: 7
models:
  - {name: base, path: /nonexistent/base}
  - {name: a, path: /nonexistent/a}
evolution:
  generations: 2
  population: 4
compression:
  enabled: true
  algorithm: "bitnet"
  apply_at: ["post_merge", "final"]
  target_ratio: 8.0
  accuracy_threshold: 0.85
`

func TestDemoConfigLoads(t *testing.T) {
	c, err := LoadConfig("../configs/mnist-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "mnist-demo" || len(c.Models) != 4 || c.BaseIndex() != 0 {
		t.Errorf("demo config: name %q, %d models, base index %d", c.Name, len(c.Models), c.BaseIndex())
	}
	if !c.Compression.At(StagePostMerge) || c.Compression.At(StageFinal) || c.Compression.At(StagePreMerge) {
		t.Errorf("demo compression stages: %v", c.Compression.ApplyAt)
	}
	if !c.Compression.Searched() || strings.Join(c.Compression.Codecs, ",") != "none,bitnet,vptq,seedlm" || c.Evolution.LayerGranularity != 3 {
		t.Errorf("demo searches compression per layer: %+v, granularity %d", c.Compression, c.Evolution.LayerGranularity)
	}
	if c.Evolution.Strategy != StrategyNSGA2 || c.Evolution.Budget != 60 || ObjectivesString(c.Objectives) != "accuracy ↑, size_bytes ↓" {
		t.Errorf("demo search: %+v objectives %v", c.Evolution, c.Objectives)
	}
	if !filepath.IsAbs(c.Models[1].Path) || !filepath.IsAbs(c.OutputDir) {
		t.Errorf("paths not made absolute: %q, %q", c.Models[1].Path, c.OutputDir)
	}
}

func TestCodecConfigsLoad(t *testing.T) {
	for _, tc := range []struct {
		file, algorithm, option string
		ratio, value            float64
	}{
		{"../configs/mnist-bitnet.yaml", "bitnet", "", 8, 0},
		{"../configs/mnist-vptq.yaml", "vptq", "codebook_bits", 4, 7},
		{"../configs/mnist-seedlm.yaml", "seedlm", "prune", 6, 0.25},
	} {
		c, err := LoadConfig(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if cs := c.Compression; cs.Algorithm != tc.algorithm || cs.TargetRatio != tc.ratio || (tc.option != "" && cs.Options[tc.option] != tc.value) {
			t.Errorf("%s compression block: %+v", tc.file, cs)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, validConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseModel != "base" || c.Evolution.Children != 4 || c.Evolution.Parallelism != 2 {
		t.Errorf("defaults: base %q children %d parallelism %d", c.BaseModel, c.Evolution.Children, c.Evolution.Parallelism)
	}
	if ObjectivesString(c.Objectives) != "accuracy ↑, size_bytes ↓" || c.Evaluator.Kind != "mnist" || c.Evaluator.LatencyRuns != 200 {
		t.Errorf("defaults: objectives %v evaluator %+v", c.Objectives, c.Evaluator)
	}
	if filepath.Base(c.OutputDir) != "test-run" {
		t.Errorf("default output dir %q", c.OutputDir)
	}
	if !c.Gates.Latency.Enforced() || c.Gates.Latency.MinSpeedup != 1 || c.Compression.Recovery != nil {
		t.Errorf("defaults: latency gate %+v (want enforced at 1×), recovery %+v (want none)", c.Gates.Latency, c.Compression.Recovery)
	}
	r, err := LoadConfig(writeConfig(t, validConfig+"  recovery: {kind: distill}\ngates:\n  latency: {enforce: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rc := r.Compression.Recovery; rc == nil || rc.Steps != DefaultRecoverySteps || rc.LR != DefaultRecoveryLR || rc.BatchSize != DefaultRecoveryBatchSize || rc.Temperature != DefaultRecoveryTemperature {
		t.Errorf("recovery defaults: %+v", rc)
	}
	if r.Gates.Latency.Enforced() {
		t.Error("enforce: false did not switch the latency gate off")
	}
	if err := c.CheckModelPaths(); err == nil || !strings.Contains(err.Error(), "models[0].path") || !strings.Contains(err.Error(), "/nonexistent/base") {
		t.Errorf("missing model path: got %v", err)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, edit, want string
	}{
		{"unknown top-level key", "name: test-run\nfoo: 1", `unknown key "foo"`},
		{"unknown nested key", "population: 4" + "\x00" + "population: 4\n  popsize: 3", `unknown key "popsize"`},
		{"unknown algorithm", `algorithm: "bitnet"` + "\x00" + `algorithm: "zipit"`, `compression.algorithm: unknown compression algorithm "zipit"`},
		{"unknown stage", `apply_at: ["post_merge", "final"]` + "\x00" + `apply_at: ["later"]`, `compression.apply_at[0]: unknown stage "later"`},
		{"unknown method", "population: 4" + "\x00" + "population: 4\n  methods: [slurp]", `evolution.methods[0]: unknown merge method "slurp"`},
		{"bad threshold", "accuracy_threshold: 0.85" + "\x00" + "accuracy_threshold: 1.5", "compression.accuracy_threshold"},
		{"bad base", "seed: 7" + "\x00" + "seed: 7\nbase_model: nope", `base_model: "nope"`},
		{"one model", "  - {name: a, path: /nonexistent/a}\n" + "\x00", "models: need at least 2"},
		{"infinite target ratio", "target_ratio: 8.0" + "\x00" + "target_ratio: .inf", "compression.target_ratio: must be a finite number"},
		{"zero generations", "generations: 2" + "\x00" + "generations: 0", "evolution.generations"},
		{"unknown recovery", "accuracy_threshold: 0.85" + "\x00" + "accuracy_threshold: 0.85\n  recovery: {kind: prune}", `compression.recovery.kind: unknown recovery "prune"`},
		{"recovery for vptq", `algorithm: "bitnet"` + "\x00" + `algorithm: "vptq"` + "\n  recovery: {kind: distill}", "compression.recovery: distill supports algorithm bitnet"},
		{"bad recovery lr", "accuracy_threshold: 0.85" + "\x00" + "accuracy_threshold: 0.85\n  recovery: {kind: distill, lr: -1}", "compression.recovery.lr"},
		{"unknown recovery key", "accuracy_threshold: 0.85" + "\x00" + "accuracy_threshold: 0.85\n  recovery: {kind: distill, epochs: 3}", `unknown key "epochs"`},
		{"unknown strategy", "population: 4" + "\x00" + "population: 4\n  strategy: hillclimb", `evolution.strategy: unknown strategy "hillclimb" (known: nsga2, cmaes, random)`},
		{"bad budget", "population: 4" + "\x00" + "population: 4\n  budget: -3", "evolution.budget: must be ≥ 1"},
		{"bad granularity", "population: 4" + "\x00" + "population: 4\n  layer_granularity: 1000", "evolution.layer_granularity: 1000 is outside"},
		{"bad early stop", "population: 4" + "\x00" + "population: 4\n  early_stop: {generations: 0}", "evolution.early_stop.generations"},
		{"unknown metric", "seed: 7" + "\x00" + "seed: 7\nobjectives: [accuracy, perplexity]", `objectives[1].metric: unknown metric "perplexity" (known: accuracy, size_bytes, latency_ms, weight_bytes, speedup)`},
		{"bad direction", "seed: 7" + "\x00" + "seed: 7\nobjectives: [{metric: accuracy, direction: up}]", `objectives[0].direction: "up" must be maximize or minimize`},
		{"unknown objective key", "seed: 7" + "\x00" + "seed: 7\nobjectives: [{metric: accuracy, sense: max}]", `unknown key "sense"`},
		{"test set objective", "seed: 7" + "\x00" + "seed: 7\nobjectives: [test_accuracy]", "objectives[0].metric: test_accuracy cannot steer the search"},
		{"unknown profile", `algorithm: "bitnet"` + "\x00" + `algorithm: ""` + "\n  profile: turbo", `compression.profile: unknown profile "turbo" (known: low_memory, battery_saving, balanced)`},
		{"unknown gene codec", `algorithm: "bitnet"` + "\x00" + `algorithm: search` + "\n  codecs: [none, zip]", `compression.codecs[1]: unknown codec "zip"`},
		{"codecs without search", `algorithm: "bitnet"` + "\x00" + `algorithm: bitnet` + "\n  codecs: [bitnet]", "compression.codecs: only used with algorithm search or auto"},
		{"searched pre_merge", `algorithm: "bitnet"` + "\n  apply_at: [\"post_merge\", \"final\"]" + "\x00" + `algorithm: search` + "\n  apply_at: [pre_merge]", "compression.apply_at: searched compression runs post_merge"},
		{"unknown evaluator", "seed: 7" + "\x00" + "seed: 7\nevaluator: {kind: glue}", `evaluator.kind: unknown evaluator "glue" (known: mnist, command)`},
		{"command without program", "seed: 7" + "\x00" + "seed: 7\nevaluator: {kind: command}", "evaluator.command: required"},
		{"mnist option on command", "seed: 7" + "\x00" + "seed: 7\nevaluator: {kind: command, command: [ev, \"{model}\", \"{result}\"], latency_runs: 5}", "evaluator.latency_runs: not an option of the command evaluator"},
		{"unknown evaluator key", "seed: 7" + "\x00" + "seed: 7\nevaluator: {kind: command, comand: [ev]}", `unknown key "comand"`},
		{"custom metric without direction", "seed: 7" + "\x00" + "seed: 7\nevaluator: {kind: command, command: [ev, \"{model}\", \"{result}\"]}\nobjectives: [accuracy, perplexity]", `objectives[1].direction: required for metric "perplexity"`},
		{"two benchmark queues", "seed: 7" + "\x00" + "seed: 7\nevaluator: {task_queue: gpu, hardware: {name: phone, task_queue: arm}}", `evaluator.task_queue: "gpu" differs from evaluator.hardware's task queue "arm"`},
		{"bad progressive", `algorithm: "bitnet"` + "\x00" + `algorithm: search` + "\n  progressive: {start: 0, end: 2}", "compression.progressive.end: 2 is outside [0, 1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := validConfig
			if old, repl, ok := strings.Cut(tc.edit, "\x00"); ok {
				if !strings.Contains(body, old) {
					t.Fatalf("test edit %q does not apply", old)
				}
				body = strings.Replace(body, old, repl, 1)
			} else {
				body = strings.Replace(body, "name: test-run", tc.edit, 1)
			}
			p := writeConfig(t, body)
			_, err := LoadConfig(p)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a ConfigError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q should name %q and the file", err, tc.want)
			}
		})
	}
}

func TestCommandEvaluatorConfig(t *testing.T) {
	body := strings.Replace(validConfig, "seed: 7", `seed: 7
evaluator:
  kind: command
  command: [python3, eval.py, --model, "{model}", --out, "{result}"]
  timeout: 2h
  task_queue: gpu-box
objectives:
  - {metric: accuracy, direction: maximize}
  - {metric: perplexity, direction: minimize}`, 1)
	c, err := LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Evaluator
	if e.Kind != "command" || e.TimeoutDuration().Hours() != 2 || e.BenchmarkQueue() != "gpu-box" || e.ModelFiles != "/nonexistent/base" || e.AccuracyMetric != "accuracy" {
		t.Errorf("evaluator %+v: want command, 2h, queue gpu-box, the base model's files, accuracy metric", e)
	}
	if got := c.ObjectiveNames(); strings.Join(got, ",") != "accuracy,perplexity" {
		t.Errorf("objectives %v", got)
	}
}

func TestMissingSeeds(t *testing.T) {
	dir := t.TempDir()
	seeds := filepath.Join(dir, "seeds")
	present := filepath.Join(dir, "present.safetensors")
	if err := os.WriteFile(present, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Config{
		SeedModels: &SeedModelsSpec{Generate: "mnist-demo", Dir: seeds},
		Models:     []ModelSpec{{Name: "base", Path: filepath.Join(seeds, "base")}, {Name: "mine", Path: present}},
	}
	if !c.MissingSeeds() {
		t.Error("a missing seed under seed_models.dir should be trained")
	}
	c.Models[1].Path = filepath.Join(dir, "typo.safetensors")
	if c.MissingSeeds() {
		t.Error("a missing path outside seed_models.dir must be reported, not hidden by training seeds")
	}
	c.Models = c.Models[1:2]
	c.Models[0].Path = present
	if c.MissingSeeds() {
		t.Error("nothing is missing")
	}
	c.SeedModels = nil
	c.Models[0].Path = filepath.Join(seeds, "base")
	if c.MissingSeeds() {
		t.Error("without seed_models nothing is trained")
	}
}

func TestCommandConfigsLoad(t *testing.T) {
	demo, err := LoadConfig("../configs/mnist-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := LoadConfig("../configs/mnist-command.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Evaluator.Kind != "command" || cmd.Evaluator.Command[0] != "{evomerge}" || cmd.Evaluator.TimeoutDuration().Minutes() != 5 {
		t.Errorf("mnist-command evaluator: %+v", cmd.Evaluator)
	}
	// Everything but the evaluator and the names is the demo's, so the fronts can match.
	cmd.Evaluator, cmd.Name, cmd.OutputDir = demo.Evaluator, demo.Name, demo.OutputDir
	if a, b := mustJSON(t, demo), mustJSON(t, cmd); a != b {
		t.Errorf("mnist-command differs from the demo beyond its evaluator:\n%s\n%s", a, b)
	}
	llama, err := LoadConfig("../configs/llama-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if llama.SeedModels.Generate != "llama-synth" || llama.Evaluator.Kind != "command" || !strings.HasSuffix(llama.Evaluator.ModelFiles, "llama/base") || ObjectivesString(llama.Objectives) != "accuracy ↑, interference ↓" {
		t.Errorf("llama example: seeds %+v, evaluator %+v, objectives %v", llama.SeedModels, llama.Evaluator, llama.Objectives)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
