// Command evomerge runs evolutionary model merging as durable Temporal workflows.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	_ "github.com/evomerge/evomerge/compress/all"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// Exit codes: 0 success, 1 run failed, 2 usage or config error.
const (
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks errors that are the caller's to fix (flags, config): exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// globals are the persistent flags.
type globals struct {
	storeDir string // a folder or an s3://bucket/prefix URL
	cacheDir string // the S3 store's local read cache
	// metrics, when set, receives the SDK's metrics of clients dialled by dialServer.
	metrics  *worker.Metrics
	stateDir string
	logLevel string
	mnistDir string
	log      zerolog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// execute runs the CLI with args and returns the exit code.
func execute(ctx context.Context, args []string) int {
	g := &globals{}
	root := &cobra.Command{
		Use:           "evomerge",
		Short:         "Evolutionary model merging as durable Temporal workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			lvl, err := zerolog.ParseLevel(g.logLevel)
			if err != nil {
				return usagef("--log-level: %v", err)
			}
			st, _ := os.Stderr.Stat()
			color := st != nil && st.Mode()&os.ModeCharDevice != 0
			g.log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05", NoColor: !color}).Level(lvl).With().Timestamp().Logger()
			if g.mnistDir != "" {
				os.Setenv("EVOMERGE_MNIST_DIR", g.mnistDir)
			}
			if g.storeDir == "" {
				g.storeDir = filepath.Join(g.stateDir, "store")
			}
			if g.cacheDir == "" {
				g.cacheDir = filepath.Join(g.stateDir, "cache")
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.stateDir, "state-dir", ".evomerge", "folder for evomerge's own state: the artifact store and the embedded server's database")
	pf.StringVar(&g.storeDir, "store", "", "artifact store: a folder, or s3://bucket/prefix for an S3-compatible bucket shared by many machines (credentials, region and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) (default <state-dir>/store)")
	pf.StringVar(&g.cacheDir, "store-cache", "", "local read cache of an s3:// store (default <state-dir>/cache)")
	pf.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	pf.StringVar(&g.mnistDir, "mnist-dir", "", "folder with the MNIST .gz files (default: $EVOMERGE_MNIST_DIR, else the GoMNIST module in the Go module cache)")

	root.AddCommand(runCmd(g), experimentCmd(g), devCmd(g), workerCmd(g), queueCmd(g),
		controlCmd(g, workflows.UpdatePause, "Pause a run after its current generation (evomerge resume continues it)"),
		controlCmd(g, workflows.UpdateResume, "Resume a paused run"),
		controlCmd(g, workflows.UpdateStop, "Stop a run after its current generation: then its final stage and report"),
		statusCmd(g), reportCmd(g), seedsCmd(g), specCmd(g), compressCmd(g), benchCmd(g), inspectCmd(g), mergeCmd(g), synthCmd(g))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "evomerge:", err)
	var ue usageError
	var ce *evomerge.ConfigError
	if errors.As(err, &ue) || errors.As(err, &ce) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage
	}
	return exitFailed
}
