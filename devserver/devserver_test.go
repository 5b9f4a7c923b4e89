package devserver_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/evomerge/evomerge/devserver"
)

var searchAttributes = map[string]enumspb.IndexedValueType{
	"EvoRun":        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"EvoGeneration": enumspb.INDEXED_VALUE_TYPE_INT,
}

func start(t *testing.T, db string, ui bool) (*devserver.Server, client.Client) {
	t.Helper()
	srv, err := devserver.Start(devserver.Options{DBFile: db, Port: -1, UIPort: -1, NoUI: !ui, SearchAttributes: searchAttributes})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	return srv, c
}

// A run started on the embedded server survives a restart of the server, and the Web
// UI and the registered search attributes are there.
func TestServerKeepsRunsAcrossRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	srv, c := start(t, db, true)
	resp, err := http.Get(srv.UIAddress() + "/")
	if err != nil {
		t.Fatalf("web UI: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("web UI answered %d with %d bytes", resp.StatusCode, len(body))
	}
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range searchAttributes {
		if got := sa.GetCustomAttributes()[name]; got != typ {
			t.Errorf("search attribute %s: %v, want %v", name, got, typ)
		}
	}
	// No worker polls this queue, so the workflow stays running.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survivor", TaskQueue: "nobody"}, "SomeWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	srv.Stop()

	srv, c = start(t, db, false)
	defer srv.Stop()
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(ctx, "survivor", run.GetRunID())
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("after restart the workflow is %v, want running", st)
	}
}

func TestBusyPortIsAClearError(t *testing.T) {
	srv, c := start(t, "", false)
	defer srv.Stop()
	defer c.Close()
	_, port, _ := strings.Cut(srv.Address(), ":")
	var p int
	for _, ch := range port {
		p = p*10 + int(ch-'0')
	}
	_, err := devserver.Start(devserver.Options{Port: p, NoUI: true})
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "--address") {
		t.Errorf("second server on a busy port: %v", err)
	}
}
