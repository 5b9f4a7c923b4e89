package activities

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/tensor"
)

// ReportOutput says where the report landed.
type ReportOutput struct {
	Dir      string          `json:"dir"`
	JSONPath string          `json:"json_path"`
	MDPath   string          `json:"md_path"`
	Report   evomerge.Report `json:"report"`
}

// Report writes report.json and report.md into the run's output folder and exports
// every front member (and the best uncompressed merge) as a safetensors file a user can
// load: <out>/front/<id>/model.safetensors and <out>/best-merge/model.safetensors.
func (a *Activities) Report(ctx context.Context, in evomerge.ReportInput) (ReportOutput, error) {
	dir := in.Config.OutputDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ReportOutput{}, err
	}
	r := evomerge.BuildReport(in)
	if err := heartbeat(ctx, func() error { return a.exportModels(in, &r) }); err != nil {
		return ReportOutput{}, classify(err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return ReportOutput{}, err
	}
	out := ReportOutput{Dir: dir, JSONPath: filepath.Join(dir, "report.json"), MDPath: filepath.Join(dir, "report.md"), Report: r}
	if err := writeAtomic(out.JSONPath, append(js, '\n')); err != nil {
		return ReportOutput{}, err
	}
	if err := evomerge.WritePlots(dir, in, r); err != nil {
		return ReportOutput{}, err
	}
	if err := writeAtomic(out.MDPath, []byte(evomerge.Markdown(r))); err != nil {
		return ReportOutput{}, err
	}
	return out, nil
}

// exportModels copies the front's models and the best merge out of the store, replacing
// what an earlier run of the same config exported there.
func (a *Activities) exportModels(in evomerge.ReportInput, r *evomerge.Report) error {
	dir := in.Config.OutputDir
	for _, sub := range []string{"front", "best-merge"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return err
		}
	}
	for i := range r.Front {
		p := filepath.Join(dir, "front", r.Front[i].ID, "model.safetensors")
		if err := a.export(in.Front[i].Artifact, p); err != nil {
			return err
		}
		if err := writeRecipe(filepath.Dir(p), r.Front[i]); err != nil {
			return err
		}
		r.Front[i].Path = p
	}
	if r.BestMerge != nil {
		p := filepath.Join(dir, "best-merge", "model.safetensors")
		if err := a.export(in.BestMerge.Merged, p); err != nil {
			return err
		}
		if err := writeRecipe(filepath.Dir(p), *r.BestMerge); err != nil {
			return err
		}
		r.BestMerge.Path = p
	}
	return nil
}

// writeRecipe records, next to an exported model, how it was made.
func writeRecipe(dir string, m evomerge.ReportModel) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "model.json"), append(b, '\n'))
}

// export copies a verified artifact to path atomically.
func (a *Activities) export(ref store.Ref, path string) error {
	src, err := a.Store.Path(ref)
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return tensor.WriteAtomic(path, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func writeAtomic(path string, b []byte) error {
	return tensor.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
