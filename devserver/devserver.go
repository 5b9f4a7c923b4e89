// Package devserver runs a single-process Temporal server on a SQLite file, with the
// Temporal Web UI, for evomerge's one-command default and `evomerge dev`.
//
// It wires the same pieces as the Temporal CLI's `server start-dev`: every service of
// temporal.NewServer in one process with static hosts, SQLite persistence (schema set up
// on first use, namespaces pre-registered with evomerge's search attributes), and the
// ui-server serving the Web UI assets embedded in its module.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiopts "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/fx"
	"go.uber.org/zap/zapcore"
)

// Options configure the embedded server. Zero values take the defaults noted.
type Options struct {
	// DBFile is the SQLite file; "" keeps everything in memory (tests).
	DBFile string
	// IP the server and UI bind to. Default 127.0.0.1.
	IP string
	// Port is the frontend gRPC port. Default 7233; -1 picks a free port.
	Port int
	// UIPort is the Web UI port. Default 8233; -1 picks a free port; 0 with NoUI disables it.
	UIPort int
	NoUI   bool
	// Namespace to create. Default "default".
	Namespace string
	// SearchAttributes are registered on the namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's logs (default: discard). The server is chatty at info.
	Logger zerolog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	server    temporal.Server
	ui        *uiserver.Server
	address   string
	uiAddress string
	namespace string
	fatal     *fatalState
}

// Fatal is closed when the running server has hit a fatal error (the work that hit it
// has stopped; the server should be stopped); Err then says what it was.
func (s *Server) Fatal() <-chan struct{} { return s.fatal.done }

// Err is the server's fatal error, or nil.
func (s *Server) Err() error { return s.fatal.recorded() }

// Address is the frontend's host:port for SDK clients.
func (s *Server) Address() string { return s.address }

// UIAddress is the Web UI's http address, or "" without a UI.
func (s *Server) UIAddress() string { return s.uiAddress }

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.namespace }

// Start starts the server and, unless disabled, the Web UI. It returns once the
// frontend accepts connections. A fatal error the server logs while it starts (a port
// taken, say) is returned as an error; with an automatic frontend port (-1) Start tries
// fresh ports up to three times when a port was taken, since another process may take
// a free port between the moment it is picked and the moment the server binds it. (An
// attempt that fails while the server is being built cannot release what it opened.)
func Start(o Options) (*Server, error) {
	for attempt := 1; ; attempt++ {
		s, err := startOnce(o)
		if err == nil || o.Port != -1 || attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			return s, err
		}
		o.Logger.Warn().Err(err).Int("attempt", attempt).Msg("embedded server did not start; retrying on fresh ports")
	}
}

// fatalError is a Fatal (or Panic) the server logged: it cannot go on. err is the
// error among the log tags, if any.
type fatalError struct {
	msg string
	err error
}

func (e *fatalError) Error() string { return e.msg }
func (e *fatalError) Unwrap() error { return e.err }

// fatalState records the first Fatal of one server. While the server is being built
// (in the caller's goroutine) a Fatal panics, and startOnce recovers it; afterwards it
// ends the calling goroutine instead (runtime.Goexit: an fx start hook then fails, and
// Start returns the recorded error), and Server.Fatal tells the owner.
type fatalState struct {
	building atomic.Bool
	once     sync.Once
	err      *fatalError
	done     chan struct{}
}

func newFatalState() *fatalState { return &fatalState{done: make(chan struct{})} }

func (f *fatalState) record(fe *fatalError) {
	f.once.Do(func() {
		f.err = fe
		close(f.done)
	})
}

// recorded returns the first Fatal, or nil.
func (f *fatalState) recorded() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

// recoverFatal turns a fatalError panic into *err; other panics go on.
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		fe, ok := r.(*fatalError)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("devserver: the server could not start: %w", fe)
	}
}

func startOnce(o Options) (_ *Server, err error) {
	defer recoverFatal(&err)
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Port, err = pickPort(o.IP, o.Port, 7233, "frontend"); err != nil {
		return nil, err
	}
	if !o.NoUI {
		if o.UIPort, err = pickPort(o.IP, o.UIPort, 8233, "Web UI"); err != nil {
			return nil, err
		}
	}
	conf, err := o.serverConfig()
	if err != nil {
		return nil, err
	}
	fatal := newFatalState()
	fatal.building.Store(true)
	logger := zerologLogger{z: o.Logger, fatal: fatal}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(o.IP, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
	}
	// The services' own handle, to stop them when Start fails: fx does not roll back the
	// hook that failed, and the server starts all its services in one hook.
	var impl *temporal.ServerImpl
	srv, err := temporal.NewServerFx(fx.Options(temporal.TopLevelModule, fx.Populate(&impl)),
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	fatal.building.Store(false)
	s := &Server{server: srv, address: net.JoinHostPort(o.IP, strconv.Itoa(o.Port)), namespace: o.Namespace, fatal: fatal}
	if err := srv.Start(); err != nil {
		srv.Stop()
		stopServices(impl)
		if fe := fatal.recorded(); fe != nil {
			return nil, fmt.Errorf("devserver: the server could not start: %w", fe)
		}
		return nil, fmt.Errorf("devserver: start: %w", err)
	}
	if !o.NoUI {
		s.ui = uiserver.NewServer(uiopts.WithConfigProvider(&uiconfig.Config{
			Host:                o.IP,
			Port:                o.UIPort,
			TemporalGRPCAddress: s.address,
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
		}))
		s.uiAddress = "http://" + net.JoinHostPort(o.IP, strconv.Itoa(o.UIPort))
		go func() {
			// Start blocks until Stop; a bind failure is logged, the run goes on without UI.
			if err := s.ui.Start(); err != nil && !errors.Is(err, context.Canceled) {
				o.Logger.Error().Err(err).Msg("web UI stopped")
			}
		}()
	}
	if err := waitListening(s.address, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	if fe := fatal.recorded(); fe != nil { // a Fatal in a goroutine that was not a start hook
		s.Stop()
		return nil, fmt.Errorf("devserver: the server could not start: %w", fe)
	}
	return s, nil
}

// stopServices stops the services a failed Start started (a rollback may already have:
// Stop then closes a closed channel, which is harmless here).
func stopServices(impl *temporal.ServerImpl) {
	if impl == nil {
		return
	}
	defer func() { _ = recover() }()
	_ = impl.Stop(context.Background())
}

// Stop stops the UI and the server.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	s.server.Stop()
}

func (o *Options) serverConfig() (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.IP
	sqlConf := config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DBFile == "" {
		sqlConf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlConf.DatabaseName = fmt.Sprintf("evomerge-%d-%d", os.Getpid(), time.Now().UnixNano())
	} else {
		sqlConf.ConnectAttributes = map[string]string{"mode": "rwc", "_journal_mode": "WAL", "_busy_timeout": "10000"}
		sqlConf.DatabaseName = o.DBFile
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("devserver: database folder: %w", err)
		}
	}
	// An in-memory database gets its schema from the SQLite plugin on connect; a file
	// gets it here, once.
	if _, err := os.Stat(o.DBFile); o.DBFile != "" && os.IsNotExist(err) {
		if err := sqliteschema.SetupSchema(&sqlConf); err != nil {
			return nil, fmt.Errorf("devserver: set up SQLite schema in %s: %w", o.DBFile, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %s: %w", o.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(&sqlConf, ns); err != nil {
		return nil, fmt.Errorf("devserver: create namespace %s in %s: %w", o.Namespace, o.DBFile, err)
	}
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: &sqlConf}}

	httpPort, err := freePort(o.IP)
	if err != nil {
		return nil, err
	}
	frontend := net.JoinHostPort(o.IP, strconv.Itoa(o.Port))
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{"active": {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             frontend,
			HTTPAddress:            net.JoinHostPort(o.IP, strconv.Itoa(httpPort)),
			ClusterID:              "evomerge-dev",
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = o.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = o.Port
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = freePort(o.IP); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return &conf, nil
}

// pickPort returns want (def if 0, a free port if -1) after checking it can be bound.
func pickPort(ip string, want, def int, what string) (int, error) {
	switch want {
	case 0:
		want = def
	case -1:
		return freePort(ip)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(want)))
	if err != nil {
		return 0, fmt.Errorf("devserver: %s port %s:%d is in use (is `evomerge dev` or another Temporal server running? then pass --address %s:%d, or choose another port): %w", what, ip, want, ip, want, err)
	}
	l.Close()
	return want, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("devserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devserver: frontend %s did not start within %s: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// zerologLogger adapts zerolog to the server's logger interface.
type zerologLogger struct {
	z     zerolog.Logger
	fatal *fatalState // nil: Fatal panics
}

// fatalOnLog, set by tests only, makes the server's log call Fatal on the messages it
// selects: how the tests reach the server's own goroutines.
var fatalOnLog func(msg string) bool

func (l zerologLogger) log(e *zerolog.Event, msg string, tags []tag.Tag) {
	if h := fatalOnLog; h != nil && l.fatal != nil && h(msg) {
		l.Fatal("simulated fatal at: " + msg)
	}
	for _, t := range tags {
		e = e.Interface(t.Key(), t.Value())
	}
	e.Msg(msg)
}

func (l zerologLogger) Debug(msg string, tags ...tag.Tag)  { l.log(l.z.Debug(), msg, tags) }
func (l zerologLogger) Info(msg string, tags ...tag.Tag)   { l.log(l.z.Info(), msg, tags) }
func (l zerologLogger) Warn(msg string, tags ...tag.Tag)   { l.log(l.z.Warn(), msg, tags) }
func (l zerologLogger) Error(msg string, tags ...tag.Tag)  { l.log(l.z.Error(), msg, tags) }
func (l zerologLogger) DPanic(msg string, tags ...tag.Tag) { l.log(l.z.Error(), msg, tags) }

// Panic panics, as the server's own logger does (some of its callers recover). Fatal
// stops the server's work, as the server expects (its own logger exits the process;
// carrying on would use what failed to build): see fatalState.
func (l zerologLogger) Panic(msg string, tags ...tag.Tag) {
	l.log(l.z.Error(), msg, tags)
	panic(newFatalError(msg, tags))
}

func (l zerologLogger) Fatal(msg string, tags ...tag.Tag) {
	l.log(l.z.Error(), msg, tags)
	fe := newFatalError(msg, tags)
	if l.fatal == nil || l.fatal.building.Load() {
		if l.fatal != nil {
			l.fatal.record(fe)
		}
		panic(fe)
	}
	l.fatal.record(fe)
	runtime.Goexit()
}

func newFatalError(msg string, tags []tag.Tag) *fatalError {
	fe := &fatalError{msg: msg}
	for _, t := range tags {
		fe.msg += fmt.Sprintf(", %s: %v", t.Key(), t.Value())
		// tag.Error keeps the error itself in its zap field (Value is only its text).
		if zt, ok := t.(tag.ZapTag); ok && fe.err == nil {
			if f := zt.Field(); f.Type == zapcore.ErrorType {
				fe.err, _ = f.Interface.(error)
			}
		}
	}
	return fe
}

var _ log.Logger = zerologLogger{}
