package devserver

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

// A Fatal while the server is built (in the caller's goroutine) comes back from
// startOnce as an error naming what failed, and keeps its cause for errors.Is.
func TestFatalWhileBuildingBecomesAnError(t *testing.T) {
	f := newFatalState()
	f.building.Store(true)
	build := func() (err error) {
		defer recoverFatal(&err)
		zerologLogger{fatal: f}.Fatal("listen failed", tag.NewStringTag("address", "127.0.0.1:1"), tag.Error(syscall.EADDRINUSE))
		return nil
	}
	err := build()
	if err == nil || !strings.Contains(err.Error(), "listen failed, address: 127.0.0.1:1") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("err = %v", err)
	}
	if f.recorded() == nil {
		t.Error("the fatal error was not recorded")
	}
}

// After the server is built, a Fatal in one of its goroutines ends that goroutine
// (nothing runs past it) and tells the owner through Fatal/Err, without a crash.
func TestFatalWhileRunningStopsItsGoroutineAndTellsTheOwner(t *testing.T) {
	f := newFatalState()
	s := &Server{fatal: f}
	var wg sync.WaitGroup
	carriedOn := false
	wg.Go(func() {
		zerologLogger{fatal: f}.Fatal("matching invariant broken")
		carriedOn = true
	})
	wg.Wait()
	<-s.Fatal()
	if carriedOn || s.Err() == nil || !strings.Contains(s.Err().Error(), "matching invariant broken") {
		t.Errorf("carried on %v, Err %v", carriedOn, s.Err())
	}
}

// A Fatal in a service's start hook (its own goroutine) makes Start return the error, and
// the services that did start are stopped: the same port serves a second Start.
func TestFatalInAStartHookIsAnErrorAndFreesThePort(t *testing.T) {
	var fired atomic.Bool
	fatalOnLog = func(msg string) bool { return msg == "worker service started" && fired.CompareAndSwap(false, true) }
	// Left set: leaked goroutines of the failed server may still log; fired stays true.
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(Options{Port: port, NoUI: true})
	if err == nil || !strings.Contains(err.Error(), "simulated fatal at: worker service started") {
		t.Fatalf("Start = %v; want the fatal error", err)
	}
	s, err := Start(Options{Port: port, NoUI: true})
	if err != nil {
		t.Fatalf("second Start on port %d: %v", port, err)
	}
	s.Stop()
}
