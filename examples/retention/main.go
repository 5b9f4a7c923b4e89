// Command retention is an evaluator program for evomerge's command evaluator: it scores
// a merged (or compressed) checkpoint by how much of each fine-tune's task vector it
// keeps, from the weights alone — no data, no GPU — so a run over synthetic checkpoints
// (configs/llama-example.yaml) has a true signal to follow.
//
//	go run ./examples/retention --base DIR --fine-tunes DIR,DIR,... --result FILE MODEL
//
// With base weights B, fine-tunes F_i and task vectors T_i = F_i − B, the model's change
// D = M − B is projected onto the span of the T_i by least squares: D ≈ Σ r_i T_i, where
// the r_i solve the Gram system (T_i·T_j) r = (T_i·D) over every weight of every tensor.
// r_i = 1 keeps fine-tune i at full strength (task arithmetic with weight 1 does, when
// the task vectors do not overlap), 0 drops it. It writes {"metrics": …}:
//
//	accuracy          kept × max(0, 1 − interference), where kept is the mean over
//	                  fine-tunes of max(0, 1 − |r_i − 1|): 1 = every task kept at full
//	                  strength and nothing else changed. (Without the interference
//	                  factor, a merge that overshoots, r_i ≈ 4, and then loses most of
//	                  its weights' scale to ternary quantization would score well.)
//	kept              the mean above, alone
//	retention.<name>  r_i for each fine-tune (its folder's name)
//	worst_retention   min r_i
//	interference      |D − Σ r_i T_i| / √(Σ|T_i|²): the change outside the tasks' span
//	                  (compression error, sparsification of the fine-tunes' noise)
//	params            weights compared
//
// A compressed model is read dequantized: these are the values its packed kernels
// multiply by. Tensors missing from the model, or of another shape, are an error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/evomerge/evomerge/compress"
	_ "github.com/evomerge/evomerge/compress/all"
	"github.com/evomerge/evomerge/tensor"
)

func main() {
	base := flag.String("base", "", "the base model's checkpoint folder")
	fts := flag.String("fine-tunes", "", "comma-separated fine-tune checkpoint folders")
	result := flag.String("result", "", "where to write the JSON result")
	flag.Parse()
	if *base == "" || *fts == "" || *result == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: retention --base DIR --fine-tunes DIR,DIR --result FILE MODEL")
		os.Exit(2)
	}
	metrics, err := score(flag.Arg(0), *base, strings.Split(*fts, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "retention:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(map[string]any{"metrics": metrics})
	tmp := *result + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err == nil {
		err = os.Rename(tmp, *result)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "retention:", err)
		os.Exit(1)
	}
}

func score(modelPath, basePath string, ftPaths []string) (map[string]float64, error) {
	if st, err := os.Stat(modelPath); err == nil && st.IsDir() {
		modelPath = filepath.Join(modelPath, "model.safetensors")
	}
	model, _, err := compress.ReadDense(modelPath)
	if err != nil {
		return nil, err
	}
	byName := map[string]*tensor.Tensor{}
	for _, t := range model {
		byName[t.Name] = t
	}
	base, err := tensor.OpenCheckpoint(basePath)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	fts := make([]*tensor.Checkpoint, len(ftPaths))
	for i, p := range ftPaths {
		if fts[i], err = tensor.OpenCheckpoint(p); err != nil {
			return nil, err
		}
		defer fts[i].Close()
	}
	k := len(fts)
	gram := make([]float64, k*k) // T_i·T_j
	td := make([]float64, k)     // T_i·D
	var dd float64               // D·D
	var params int64
	for _, info := range base.Infos() {
		m, ok := byName[info.Name]
		if !ok {
			return nil, fmt.Errorf("%s: no tensor %q (the base has it)", modelPath, info.Name)
		}
		if !sameShape(m.Shape, info.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the base %v", modelPath, info.Name, m.Shape, info.Shape)
		}
		mv, err := m.Float32s()
		if err != nil {
			return nil, err
		}
		b := make([]float32, len(mv))
		if err := base.ReadFloat32(info.Name, b); err != nil {
			return nil, err
		}
		ts := make([][]float32, k)
		for i, f := range fts {
			ts[i] = make([]float32, len(mv))
			if err := f.ReadFloat32(info.Name, ts[i]); err != nil {
				return nil, err
			}
		}
		for e := range mv {
			d := float64(mv[e]) - float64(b[e])
			if math.IsNaN(d) || math.IsInf(d, 0) {
				return nil, fmt.Errorf("%s: tensor %q has a non-finite weight at %d", modelPath, info.Name, e)
			}
			dd += d * d
			for i := range k {
				ti := float64(ts[i][e]) - float64(b[e])
				td[i] += ti * d
				for j := i; j < k; j++ {
					gram[i*k+j] += ti * (float64(ts[j][e]) - float64(b[e]))
				}
			}
		}
		params += int64(len(mv))
	}
	for i := range k {
		for j := range i {
			gram[i*k+j] = gram[j*k+i]
		}
	}
	r, err := solve(gram, td, k)
	if err != nil {
		return nil, err
	}
	// |D − Σ r_i T_i|² = D·D − 2 r·(T·D) + rᵀ G r = D·D − r·(T·D) at the solution.
	resid := dd
	var tt float64
	for i := range k {
		resid -= r[i] * td[i]
		tt += gram[i*k+i]
	}
	interference := math.Sqrt(max(resid, 0) / tt)
	out := map[string]float64{"params": float64(params), "interference": interference}
	kept, worst := 0.0, math.Inf(1)
	for i, p := range ftPaths {
		out["retention."+filepath.Base(filepath.Clean(p))] = r[i]
		kept += max(0, 1-math.Abs(r[i]-1))
		worst = min(worst, r[i])
	}
	kept /= float64(k)
	out["kept"] = kept
	out["accuracy"] = kept * max(0, 1-interference)
	out["worst_retention"] = worst
	return out, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// solve solves the k×k system a·x = y by Gaussian elimination with partial pivoting.
func solve(a, y []float64, k int) ([]float64, error) {
	a, x := append([]float64(nil), a...), append([]float64(nil), y...)
	for c := range k {
		p := c
		for r := c + 1; r < k; r++ {
			if math.Abs(a[r*k+c]) > math.Abs(a[p*k+c]) {
				p = r
			}
		}
		if math.Abs(a[p*k+c]) < 1e-30 {
			return nil, errors.New("the fine-tunes' task vectors are linearly dependent (or zero)")
		}
		for j := range k {
			a[c*k+j], a[p*k+j] = a[p*k+j], a[c*k+j]
		}
		x[c], x[p] = x[p], x[c]
		for r := c + 1; r < k; r++ {
			f := a[r*k+c] / a[c*k+c]
			for j := c; j < k; j++ {
				a[r*k+j] -= f * a[c*k+j]
			}
			x[r] -= f * x[c]
		}
	}
	for c := k - 1; c >= 0; c-- {
		for j := c + 1; j < k; j++ {
			x[c] -= a[c*k+j] * x[j]
		}
		x[c] /= a[c*k+c]
	}
	return x, nil
}
