// Package s3test starts a real S3-compatible server for tests: the Versity S3 Gateway
// (versitygw) with its posix backend, built from the Go module pinned in the nested module
// ./tool (its own go.mod, so the main module's builds and tests never compile it).
//
// The binary is built once per machine into the user cache directory
// (<cache>/evomerge-test/versitygw-<hash of tool/go.mod and go.sum>) and reused; the
// first build takes about 2.5 minutes on 2 cores. Tests that need the server call Start;
// under `go test -short` Start skips the test if the binary is not built yet.
//
// (SeaweedFS, which the compose file deploys, was tried first: its cold build is about
// 1070 CPU-seconds, 9+ minutes on 2 cores, too much for CI.)
package s3test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is a running versitygw S3 server on 127.0.0.1 over a posix directory.
type Server struct {
	// Endpoint is the S3 gateway's URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// AccessKey and SecretKey are the admin credentials the server accepts.
	AccessKey, SecretKey string
	// Dir is the server's data directory; Log its output.
	Dir, Log string

	cmd *exec.Cmd
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildTook time.Duration
)

// toolDir is the nested module that pins versitygw.
func toolDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "tool")
}

// cachedBinary is where the versitygw binary of the pinned version lives.
func cachedBinary() (string, error) {
	sum, err := os.ReadFile(filepath.Join(toolDir(), "go.sum"))
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(toolDir(), "go.mod"))
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(append(mod, sum...))
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "evomerge-test", "versitygw-"+hex.EncodeToString(h[:6])), nil
}

// Binary returns the path of the versitygw binary, building it if needed (under -short the
// test is skipped instead). It reports how long a build took with t.Logf.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := cachedBinary()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	if _, err := os.Stat(p); err != nil && testing.Short() {
		t.Skipf("s3test: %s not built yet and -short: skipping the real-S3 test (run without -short once to build versitygw, about 2.5 minutes)", p)
	}
	buildOnce.Do(func() {
		binPath = p
		if _, err := os.Stat(p); err == nil {
			return
		}
		buildErr = os.MkdirAll(filepath.Dir(p), 0o755)
		if buildErr != nil {
			return
		}
		// One build per machine: test binaries of several packages run at once.
		lock, err := os.OpenFile(p+".lock", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			buildErr = err
			return
		}
		defer lock.Close()
		if buildErr = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); buildErr != nil {
			return
		}
		defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		if _, err := os.Stat(p); err == nil {
			return // built by another process meanwhile
		}
		tmp := fmt.Sprintf("%s.tmp-%d", p, os.Getpid())
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", tmp, "github.com/versity/versitygw/cmd/versitygw")
		cmd.Dir = toolDir()
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
		out, err := cmd.CombinedOutput()
		buildTook = time.Since(start)
		if err != nil {
			os.Remove(tmp)
			buildErr = fmt.Errorf("go build versitygw in %s: %v\n%s", cmd.Dir, err, out)
			return
		}
		buildErr = os.Rename(tmp, p) // atomic: concurrent builders all end with a whole binary
	})
	if buildErr != nil {
		t.Fatalf("s3test: %v", buildErr)
	}
	if buildTook > 0 {
		t.Logf("s3test: built %s in %.1f s", binPath, buildTook.Seconds())
	}
	return binPath
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("s3test: free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// Start starts an S3 server on a free port with its data directory under t.TempDir(),
// creates the buckets, waits until an object can be written, and stops the server (by its
// PID) when the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	bin := Binary(t)
	var s *Server
	var err error
	for attempt := range 3 { // a free port may be taken meanwhile by another process
		s, err = start(t, bin, buckets)
		if err == nil {
			return s
		}
		t.Logf("s3test: attempt %d: %v", attempt+1, err)
	}
	t.Fatalf("s3test: %v", err)
	return nil
}

func start(t testing.TB, bin string, buckets []string) (*Server, error) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	meta := filepath.Join(dir, "meta") // metadata beside, not in xattrs: any filesystem works
	for _, d := range []string{data, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	port := freePorts(t, 1)[0]
	s := &Server{
		Endpoint:  "http://127.0.0.1:" + strconv.Itoa(port),
		AccessKey: "evomerge-test", SecretKey: "evomerge-test-secret",
		Dir: data, Log: filepath.Join(dir, "versitygw.log"),
	}
	logf, err := os.Create(s.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "--quiet",
		"posix", "--sidecar", meta, data)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Root credentials from the environment, not argv (ps shows argv).
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd = cmd
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		// The server's process group: the server itself, by its PID.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second): // its data dir is thrown away: no need to wait long
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	if err := s.waitReady(buckets, exited); err != nil {
		stop()
		log, _ := os.ReadFile(s.Log)
		return nil, fmt.Errorf("%w\nserver log (%s):\n%s", err, s.Log, tail(log, 4000))
	}
	t.Cleanup(stop)
	return s, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Client returns an S3 client with the admin credentials.
func (s *Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint[len("http://"):], &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), BucketLookup: minio.BucketLookupPath,
	})
}

// waitReady creates the buckets and writes an object to each, retrying until the server
// accepts them (at most 2 minutes).
func (s *Server) waitReady(buckets []string, exited <-chan struct{}) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for _, b := range buckets {
		for {
			last = s.tryBucket(c, b)
			if last == nil {
				break
			}
			select {
			case <-exited:
				return fmt.Errorf("the server exited before it was ready: %v", last)
			case <-time.After(300 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the server was not ready within 2 minutes: %v", last)
			}
		}
	}
	return nil
}

func (s *Server) tryBucket(c *minio.Client, b string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := c.BucketExists(ctx, b)
	if err != nil {
		return err
	}
	if !ok {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			return err
		}
	}
	_, err = c.PutObject(ctx, b, "s3test-ready", bytes.NewReader([]byte("ok")), 2, minio.PutObjectOptions{})
	if err != nil {
		return err
	}
	return c.RemoveObject(ctx, b, "s3test-ready", minio.RemoveObjectOptions{})
}

// Stop stops the server now (it is also stopped when the test ends).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	}
}
