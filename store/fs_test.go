package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const helloDigest = "sha256:dc65b907380db5876cc5c953af9f2b621e7c7ae6b944cb36c2982e71f8d574d6" // sha256sum of "hello, store"

func openTest(t *testing.T) *FS {
	t.Helper()
	s, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertTmpEmpty fails if anything is left in the store's temp area.
func assertTmpEmpty(t *testing.T, s *FS) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("leftover in tmp: %s", e.Name())
	}
}

func countBlobs(t *testing.T, s *FS) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(s.Root, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPutLookupGetRoundTrip(t *testing.T) {
	s := openTest(t)
	data := []byte("hello, store")
	key := Key("roundtrip", 1)

	if _, ok, err := s.Lookup(key); ok || err != nil {
		t.Fatalf("Lookup before put: ok=%v err=%v, want not found", ok, err)
	}
	ref, err := s.PutBytes(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Digest != helloDigest || ref.Bytes != int64(len(data)) {
		t.Fatalf("PutBytes ref = %+v, want %s, %d bytes", ref, helloDigest, len(data))
	}
	got, ok, err := s.Lookup(key)
	if err != nil || !ok || got != ref {
		t.Fatalf("Lookup = %+v, %v, %v; want %+v", got, ok, err, ref)
	}
	b, err := s.Get(ref)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("Get = %q, %v", b, err)
	}
	path, err := s.Path(ref)
	if err != nil {
		t.Fatal(err)
	}
	wantPath := filepath.Join(s.Root, "blobs", "sha256", "dc", ref.Hex())
	if path != wantPath {
		t.Errorf("Path = %s, want %s", path, wantPath)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o444 {
		t.Errorf("blob mode = %v (%v), want read-only 0444", info.Mode(), err)
	}
	if !s.Has(ref) || s.Has(Ref{ref.Digest, ref.Bytes + 1}) {
		t.Error("Has: want true for the ref, false for a wrong size")
	}
	// The key record is the Ref as JSON.
	rec, err := os.ReadFile(filepath.Join(s.Root, "keys", key[:2], key))
	if err != nil {
		t.Fatal(err)
	}
	var fromDisk Ref
	if err := json.Unmarshal(rec, &fromDisk); err != nil || fromDisk != ref {
		t.Errorf("key record %q decodes to %+v, %v", rec, fromDisk, err)
	}
	// A second process (a fresh FS on the same root) sees the same thing.
	other, err := OpenFS(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := other.Lookup(key); !ok || err != nil || got != ref {
		t.Errorf("Lookup from a fresh FS = %+v, %v, %v", got, ok, err)
	}
	assertTmpEmpty(t, s)
}

func TestEmptyArtifact(t *testing.T) {
	s := openTest(t)
	ref, err := s.PutBytes("", nil)
	if err != nil {
		t.Fatal(err)
	}
	// sha256 of the empty string.
	if ref.Digest != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" || ref.Bytes != 0 {
		t.Errorf("ref = %+v", ref)
	}
	if b, err := s.Get(ref); err != nil || len(b) != 0 {
		t.Errorf("Get = %q, %v", b, err)
	}
}

func TestPutFileMovesIntoStore(t *testing.T) {
	s := openTest(t)
	f, err := s.TempFile("build-*.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("hello, store"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	key := Key("putfile")
	ref, err := s.PutFile(key, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if ref.Digest != helloDigest || ref.Bytes != 12 {
		t.Errorf("ref = %+v", ref)
	}
	if _, err := os.Stat(f.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source still exists after PutFile: %v", err)
	}
	if b, err := s.Get(ref); err != nil || string(b) != "hello, store" {
		t.Errorf("Get = %q, %v", b, err)
	}
	if got, ok, err := s.Lookup(key); !ok || err != nil || got != ref {
		t.Errorf("Lookup = %+v, %v, %v", got, ok, err)
	}
	assertTmpEmpty(t, s)
}

func TestPutFileFromAnotherFilesystem(t *testing.T) {
	// /dev/shm is usually a tmpfs while t.TempDir() is not: the rename fails with EXDEV
	// and PutFile must copy. Elsewhere this still checks PutFile of an outside file.
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "storetest-"); err == nil {
			dir = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	src := filepath.Join(dir, "weights.bin")
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openTest(t)
	ref, err := s.PutFile("", src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source still exists after PutFile: %v", err)
	}
	if b, err := s.Get(ref); err != nil || !bytes.Equal(b, data) {
		t.Errorf("Get: %d bytes, %v", len(b), err)
	}
	assertTmpEmpty(t, s)
}

func TestDedup(t *testing.T) {
	s := openTest(t)
	data := []byte("same bytes, two recipes")
	k1, k2 := Key("recipe", 1), Key("recipe", 2)
	r1, err := s.PutBytes(k1, data)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := s.Path(r1)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.PutBytes(k2, data)
	if err != nil || r2 != r1 {
		t.Fatalf("second put = %+v, %v; want %+v", r2, err, r1)
	}
	// The same bytes via PutFile: the source is dropped, the blob is not rewritten.
	f, _ := s.TempFile("dup-*")
	f.Write(data)
	f.Close()
	r3, err := s.PutFile("", f.Name())
	if err != nil || r3 != r1 {
		t.Fatalf("PutFile of same bytes = %+v, %v", r3, err)
	}
	if _, err := os.Stat(f.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PutFile dedup left its source: %v", err)
	}
	after, err := os.Stat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("blob was rewritten by a duplicate put")
	}
	if n := countBlobs(t, s); n != 1 {
		t.Errorf("%d blob files, want 1", n)
	}
	for _, k := range []string{k1, k2} {
		if ref, ok, err := s.Lookup(k); !ok || err != nil || ref != r1 {
			t.Errorf("Lookup(%s) = %+v, %v, %v", k, ref, ok, err)
		}
	}
	// PutFile of the blob's own path must not delete the blob.
	if r, err := s.PutFile("", path); err != nil || r != r1 || !s.Has(r1) {
		t.Errorf("PutFile(blob path) = %+v, %v; blob present: %v", r, err, s.Has(r1))
	}
	assertTmpEmpty(t, s)
}

// flipByte inverts one byte of a blob in place, as silent disk corruption would.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptBlobIsDetectedAndRepaired(t *testing.T) {
	s := openTest(t)
	data := bytes.Repeat([]byte("weights "), 1000)
	key := Key("corrupt")
	ref, err := s.PutBytes(key, data)
	if err != nil {
		t.Fatal(err)
	}
	path, err := s.Path(ref)
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, path, 4321)

	// Get always hashes what it returns, even in the process that verified the blob.
	if _, err := s.Get(ref); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ref.Digest) || !strings.Contains(err.Error(), "hashes to") {
		t.Errorf("Get of corrupt blob: %v; want ErrCorrupt naming %s", err, ref.Digest)
	}
	// A process that has not verified it yet (a fresh FS) refuses it in Path and Lookup.
	fresh, err := OpenFS(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Path(ref); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ref.Digest) {
		t.Errorf("Path of corrupt blob: %v; want ErrCorrupt naming %s", err, ref.Digest)
	}
	if !fresh.Has(ref) {
		t.Error("Has does not hash: the size is right, so it should report true")
	}
	if _, ok, err := fresh.Lookup(key); ok || err != nil {
		t.Errorf("Lookup with corrupt blob: ok=%v err=%v, want not found", ok, err)
	}
	if _, err := os.Stat(fresh.keyPath(key)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale key record not removed: %v", err)
	}

	// Putting the same bytes again replaces the corrupt blob.
	if _, err := fresh.PutBytes(key, data); err != nil {
		t.Fatal(err)
	}
	if b, err := fresh.Get(ref); err != nil || !bytes.Equal(b, data) {
		t.Errorf("Get after repair: %v", err)
	}
	if _, ok, err := fresh.Lookup(key); !ok || err != nil {
		t.Errorf("Lookup after repair: ok=%v err=%v", ok, err)
	}
	assertTmpEmpty(t, fresh)
}

func TestPathCachesVerificationPerFileState(t *testing.T) {
	s := openTest(t)
	ref, err := s.PutBytes("", bytes.Repeat([]byte{7}, 5000))
	if err != nil {
		t.Fatal(err)
	}
	path, err := s.Path(ref)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	// Corrupt the bytes but restore size and mtime: the cached verification still holds
	// in this process (that is the documented cost of not rehashing)...
	flipByte(t, path, 10)
	if err := os.Chtimes(path, time.Time{}, info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Path(ref); err != nil {
		t.Errorf("Path after same-mtime corruption: %v; want the cached verification", err)
	}
	// ...while any change of mtime makes Path hash again and notice.
	if err := os.Chtimes(path, time.Time{}, info.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Path(ref); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Path after mtime change: %v; want ErrCorrupt", err)
	}
}

func TestTruncatedBlob(t *testing.T) {
	s := openTest(t)
	data := bytes.Repeat([]byte("x"), 10000)
	key := Key("truncated")
	ref, err := s.PutBytes(key, data)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := s.Path(ref)
	if err := os.Truncate(path, 4000); err != nil {
		t.Fatal(err)
	}
	if s.Has(ref) {
		t.Error("Has = true for a truncated blob")
	}
	wantMsg := fmt.Sprintf("blob %s: size is 4000 bytes, want 10000", ref.Digest)
	if _, err := s.Path(ref); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("Path: %v; want ErrCorrupt containing %q", err, wantMsg)
	}
	if _, err := s.Get(ref); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get: %v; want ErrCorrupt", err)
	}
	if _, ok, err := s.Lookup(key); ok || err != nil {
		t.Errorf("Lookup: ok=%v err=%v, want not found", ok, err)
	}
}

func TestMissingBlob(t *testing.T) {
	s := openTest(t)
	key := Key("missing")
	ref, err := s.PutBytes(key, []byte("soon gone"))
	if err != nil {
		t.Fatal(err)
	}
	path, _ := s.Path(ref)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Path(ref); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), ref.Digest) {
		t.Errorf("Path: %v; want ErrNotExist naming the digest", err)
	}
	if _, ok, err := s.Lookup(key); ok || err != nil {
		t.Errorf("Lookup: ok=%v err=%v, want not found", ok, err)
	}
}

func TestLookupUnreadableRecord(t *testing.T) {
	s := openTest(t)
	key := Key("garbled")
	if _, err := s.PutBytes(key, []byte("fine")); err != nil {
		t.Fatal(err)
	}
	rec := s.keyPath(key)
	os.Chmod(rec, 0o644)
	if err := os.WriteFile(rec, []byte(`{"digest":"sha256:nothex","bytes":4}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Lookup(key); ok || err != nil {
		t.Errorf("Lookup: ok=%v err=%v, want not found", ok, err)
	}
	if _, err := os.Stat(rec); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unreadable record not removed: %v", err)
	}
}

func TestBadKeysAreRejected(t *testing.T) {
	s := openTest(t)
	for _, key := range []string{"../../etc/passwd", "ab", strings.Repeat("A", 64)} {
		if _, _, err := s.Lookup(key); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Lookup(%q): %v; want an error naming the key", key, err)
		}
		if _, err := s.PutBytes(key, []byte("x")); err == nil {
			t.Errorf("PutBytes(%q) accepted", key)
		}
	}
	assertTmpEmpty(t, s)
}

func TestFailedPutsLeaveNothingBehind(t *testing.T) {
	s := openTest(t)
	missing := filepath.Join(t.TempDir(), "does-not-exist.bin")
	if _, err := s.PutFile(Key("x"), missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("PutFile(missing): %v; want ErrNotExist naming the path", err)
	}
	if _, err := s.PutFile("", t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("PutFile(directory): %v", err)
	}

	// Occupy the blob's path with a non-empty directory so that installing it fails late,
	// after the temp file was written.
	data := []byte("blocked")
	sum := sha256.Sum256(data)
	sumRef := Ref{"sha256:" + hex.EncodeToString(sum[:]), int64(len(data))}
	dir := filepath.Join(s.Root, "blobs", "sha256", sumRef.Hex()[:2], sumRef.Hex())
	if err := os.MkdirAll(filepath.Join(dir, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBytes(Key("blocked"), data); err == nil || !strings.Contains(err.Error(), sumRef.Digest) {
		t.Errorf("PutBytes onto a directory: %v; want an error naming %s", err, sumRef.Digest)
	}
	src := filepath.Join(t.TempDir(), "blocked.bin")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutFile(Key("blocked"), src); err == nil {
		t.Error("PutFile onto a directory succeeded")
	}
	if info, err := os.Stat(src); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("failed PutFile did not leave its source as it was: %v, %v", info, err)
	}
	if _, ok, _ := s.Lookup(Key("blocked")); ok {
		t.Error("a failed put recorded its key")
	}
	assertTmpEmpty(t, s)
}

func TestConcurrentPutsOfSameContent(t *testing.T) {
	s := openTest(t)
	data := bytes.Repeat([]byte("concurrent "), 50_000)
	key := Key("concurrent")
	const workers = 8
	refs := make([]Ref, 2*workers)
	errs := make([]error, 2*workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			refs[2*w], errs[2*w] = s.PutBytes(key, data)
		})
		wg.Go(func() {
			f, err := s.TempFile("concurrent-*")
			if err != nil {
				errs[2*w+1] = err
				return
			}
			defer os.Remove(f.Name())
			if _, err := f.Write(data); err != nil {
				errs[2*w+1] = err
				return
			}
			f.Close()
			refs[2*w+1], errs[2*w+1] = s.PutFile(key, f.Name())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if refs[i] != refs[0] {
			t.Fatalf("put %d returned %+v, put 0 returned %+v", i, refs[i], refs[0])
		}
	}
	fresh, _ := OpenFS(s.Root)
	if b, err := fresh.Get(refs[0]); err != nil || !bytes.Equal(b, data) {
		t.Errorf("Get after concurrent puts: %v", err)
	}
	if ref, ok, err := fresh.Lookup(key); !ok || err != nil || ref != refs[0] {
		t.Errorf("Lookup after concurrent puts: %+v %v %v", ref, ok, err)
	}
	if n := countBlobs(t, s); n != 1 {
		t.Errorf("%d blob files, want 1", n)
	}
	assertTmpEmpty(t, s)
}

func TestSweepTempRemovesOnlyStaleFiles(t *testing.T) {
	s := openTest(t)
	stale, err := s.TempFile("blob-*")
	if err != nil {
		t.Fatal(err)
	}
	stale.Write(make([]byte, 1000))
	stale.Close()
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.TempFile("blob-*")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	fresh.Write([]byte("being written"))
	ref, err := s.PutBytes(Key("kept"), []byte("hello, store"))
	if err != nil {
		t.Fatal(err)
	}

	files, n, err := s.SweepTemp(time.Hour)
	if err != nil || files != 1 || n != 1000 {
		t.Fatalf("SweepTemp = %d files, %d bytes, %v; want 1 file, 1000 bytes", files, n, err)
	}
	if _, err := os.Stat(stale.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(fresh.Name()); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
	if got, ok, err := s.Lookup(Key("kept")); err != nil || !ok || got != ref {
		t.Errorf("stored artifact after sweep: %v %v %v", got, ok, err)
	}
}

func TestIDIsStableAndPerStore(t *testing.T) {
	a, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.ID()
	if err != nil || len(id) != 32 {
		t.Fatalf("id %q, %v", id, err)
	}
	again, _ := OpenFS(a.Root)
	if id2, _ := again.ID(); id2 != id {
		t.Errorf("reopened store has id %q, want %q", id2, id)
	}
	b, _ := OpenFS(t.TempDir())
	if idb, _ := b.ID(); idb == id {
		t.Error("two stores share an id")
	}
}

func TestMissingBlobSaysWhichStore(t *testing.T) {
	s, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := other.PutBytes("", []byte("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Path(ref)
	if !errors.Is(err, ErrMissing) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), s.Root) {
		t.Errorf("error %v: want ErrMissing and fs.ErrNotExist, naming the store %s", err, s.Root)
	}
}
