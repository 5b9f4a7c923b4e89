package store

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

const helperRootEnv = "STORE_TEST_HELPER_ROOT"

// processData is the artifact every process puts: 1 MiB, so that puts overlap.
func processData() []byte { return bytes.Repeat([]byte("multi-process artifact\n"), 1<<20/23) }

// putRepeatedly alternates PutBytes and TempFile+PutFile of processData under three keys
// and checks every result through Lookup and Get.
func putRepeatedly(s *FS, rounds int) error {
	data := processData()
	for i := range rounds {
		key := Key("multiprocess", i%3)
		var ref Ref
		var err error
		if i%2 == 0 {
			ref, err = s.PutBytes(key, data)
		} else {
			var f *os.File
			if f, err = s.TempFile("proc-*"); err != nil {
				return err
			}
			_, err = f.Write(data)
			f.Close()
			if err == nil {
				ref, err = s.PutFile(key, f.Name())
			}
			os.Remove(f.Name())
		}
		if err != nil {
			return err
		}
		got, err := s.Get(ref)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("round %d: Get returned other bytes", i)
		}
		if got, ok, err := s.Lookup(key); err != nil || !ok || got != ref {
			return fmt.Errorf("round %d: Lookup = %+v, %v, %v; want %+v", i, got, ok, err, ref)
		}
	}
	return nil
}

// TestHelperPutProcess is the child side of TestSeveralProcessesPutTheSameArtifact; it is
// skipped unless the parent starts it.
func TestHelperPutProcess(t *testing.T) {
	root := os.Getenv(helperRootEnv)
	if root == "" {
		t.Skip("child process of TestSeveralProcessesPutTheSameArtifact")
	}
	s, err := OpenFS(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := putRepeatedly(s, 20); err != nil {
		t.Fatal(err)
	}
}

func TestSeveralProcessesPutTheSameArtifact(t *testing.T) {
	if os.Getenv(helperRootEnv) != "" {
		t.Skip("already a child")
	}
	root := t.TempDir()
	const children = 4
	var wg sync.WaitGroup
	outputs := make([][]byte, children)
	errs := make([]error, children+1)
	for c := range children {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPutProcess$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), helperRootEnv+"="+root)
			outputs[c], errs[c] = cmd.CombinedOutput()
		})
	}
	wg.Go(func() {
		s, err := OpenFS(root)
		if err == nil {
			err = putRepeatedly(s, 20)
		}
		errs[children] = err
	})
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			if c < children {
				t.Errorf("child %d: %v\n%s", c, err, outputs[c])
			} else {
				t.Errorf("parent: %v", err)
			}
		}
	}
	for c, out := range outputs {
		if !bytes.Contains(out, []byte("--- PASS: TestHelperPutProcess")) {
			t.Errorf("child %d did not run its puts:\n%s", c, out)
		}
	}
	s, err := OpenFS(root)
	if err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, s); n != 1 {
		t.Errorf("%d blob files, want 1", n)
	}
	for i := range 3 {
		ref, ok, err := s.Lookup(Key("multiprocess", i))
		if !ok || err != nil {
			t.Fatalf("Lookup key %d: ok=%v err=%v", i, ok, err)
		}
		if b, err := s.Get(ref); err != nil || !bytes.Equal(b, processData()) {
			t.Errorf("Get: %v", err)
		}
	}
	assertTmpEmpty(t, s)
}
