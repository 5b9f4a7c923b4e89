package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/workflows"
)

// update sends a control update and returns its answer or its rejection.
func update(t *testing.T, c client.Client, id, name string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return "", err
	}
	var msg string
	err = h.Get(ctx, &msg)
	return msg, err
}

// pause holds the run between generations; resume lets it go on; stop ends it after
// the current generation with its final stage and report; validators reject what does
// not apply, on the real server.
func TestPauseResumeStop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	st, err := store.OpenFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	serve("e2e-control", st)
	cfg := e2eConfig("e2e-control", models, filepath.Join(dir, "out"))
	cfg.Evolution.Generations = 5
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: cfg.Name, TaskQueue: "e2e-control",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name)),
	}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := update(t, c, cfg.Name, workflows.UpdateResume); err == nil || !strings.Contains(err.Error(), "is not paused") {
		t.Errorf("resume of a running run: %v, want a rejection", err)
	}
	if msg, err := update(t, c, cfg.Name, workflows.UpdatePause); err != nil || !strings.Contains(msg, "pauses") {
		t.Fatalf("pause: %q, %v", msg, err)
	}
	var p workflows.Progress
	for deadline := time.Now().Add(2 * time.Minute); ; {
		v, err := c.QueryWorkflow(ctx, cfg.Name, "", "progress")
		if err == nil && v.Get(&p) == nil && p.Stage == workflows.StagePaused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never paused: %+v", p)
		}
		time.Sleep(200 * time.Millisecond)
	}
	paused := p.Generation
	if paused < 0 || paused > 1 || !p.Paused {
		t.Errorf("paused after generation %d (%+v), want at most the first", paused, p)
	}
	time.Sleep(time.Second) // paused means no new generation starts
	if v, err := c.QueryWorkflow(ctx, cfg.Name, "", "progress"); err != nil || v.Get(&p) != nil || p.Generation != paused {
		t.Errorf("the paused run went on to generation %d", p.Generation)
	}
	if _, err := update(t, c, cfg.Name, workflows.UpdatePause); err == nil || !strings.Contains(err.Error(), "already paused") {
		t.Errorf("second pause: %v, want a rejection", err)
	}
	if _, err := update(t, c, cfg.Name, workflows.UpdateResume); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if msg, err := update(t, c, cfg.Name, workflows.UpdateStop); err != nil || !strings.Contains(msg, "stops") {
		t.Fatalf("stop: %q, %v", msg, err)
	}
	if _, err := update(t, c, cfg.Name, workflows.UpdateStop); err == nil || !strings.Contains(err.Error(), "already stopping") {
		t.Errorf("second stop: %v, want a rejection", err)
	}
	var res workflows.RunResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	rep := res.Report.Report
	if !rep.Stopped || rep.Generations != paused+1 || rep.Generations >= cfg.Evolution.Generations || len(rep.Front) == 0 {
		t.Errorf("stopped run: stopped %v after %d generations (paused after %d), front %d", rep.Stopped, rep.Generations, paused, len(rep.Front))
	}
	if md, err := os.ReadFile(res.Report.MDPath); err != nil || !strings.Contains(string(md), "stopped by request after generation") {
		t.Errorf("report.md does not say the run was stopped (%v)", err)
	}
	if _, err := update(t, c, cfg.Name, workflows.UpdatePause); err == nil {
		t.Error("pause of a finished run was accepted")
	}
}
