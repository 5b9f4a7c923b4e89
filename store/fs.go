package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// FS is a Store in a directory of the local filesystem (see the package doc for the
// layout). It is safe for concurrent use by several goroutines, and several processes may
// share one root. Create it with OpenFS.
type FS struct {
	// Root is the absolute path of the store directory.
	Root string

	mu       sync.Mutex
	verified map[verifiedBlob]struct{} // blobs whose digest this process has checked
}

// verifiedBlob identifies one state of a blob file. If the file is replaced or rewritten
// its size or modification time changes and the blob is hashed again.
type verifiedBlob struct {
	path  string
	size  int64
	mtime int64 // UnixNano
}

// OpenFS opens the store at root, creating root/blobs, root/keys and root/tmp if needed.
// Root is made absolute so that paths returned by Path stay valid for subprocesses that
// run in another directory.
func OpenFS(root string) (*FS, error) {
	if root == "" {
		return nil, errors.New("store: open: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", root, err)
	}
	for _, dir := range []string{"blobs/sha256", "keys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, dir), 0o755); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", abs, err)
		}
	}
	return &FS{Root: abs, verified: map[verifiedBlob]struct{}{}}, nil
}

// ID returns the store's identity: 16 random bytes in hex, written to root/id when the
// store is first asked (atomically: concurrent first callers agree).
func (s *FS) ID() (string, error) {
	p := filepath.Join(s.Root, "id")
	if b, err := os.ReadFile(p); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("store: id: %w", err)
	}
	tmp, err := s.TempFile("id-*")
	if err != nil {
		return "", fmt.Errorf("store: id: %w", err)
	}
	_, err = tmp.WriteString(hex.EncodeToString(raw[:]) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, not rename: the first writer wins and later ones read its id.
		if err = os.Link(tmp.Name(), p); errors.Is(err, fs.ErrExist) {
			err = nil
		}
	}
	os.Remove(tmp.Name())
	if err != nil {
		return "", fmt.Errorf("store: id: %w", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("store: id: %w", err)
	}
	return string(bytes.TrimSpace(b)), nil
}

func (s *FS) blobPath(hexDigest string) string {
	return filepath.Join(s.Root, "blobs", "sha256", hexDigest[:2], hexDigest)
}

func (s *FS) keyPath(key string) string {
	return filepath.Join(s.Root, "keys", key[:2], key)
}

// TempFile creates a new file in the store's temp area (root/tmp, see os.CreateTemp for
// pattern), for building an artifact that is then handed to PutFile. Because it is on the
// store's filesystem, PutFile moves it with a rename instead of copying. The caller closes
// it; a `defer os.Remove(f.Name())` cleans up if the build fails and is harmless after a
// successful PutFile.
func (s *FS) TempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(s.Root, "tmp"), pattern)
	if err != nil {
		return nil, fmt.Errorf("store: create temp file in %s: %w", s.Root, err)
	}
	return f, nil
}

// SweepTemp removes files in the temp area that have not been modified for olderThan:
// leftovers of processes killed in the middle of a put. A file in use is normally
// younger than that (writes move its modification time), so several processes sharing
// the store may each sweep at start; a placeholder left idle for longer by a very long
// computation, or by a process suspended for that long, may be removed, and that put
// fails and is retried. It returns how many files and bytes it removed.
func (s *FS) SweepTemp(olderThan time.Duration) (files int, bytes int64, err error) {
	dir := filepath.Join(s.Root, "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, fmt.Errorf("store: sweep %s: %w", dir, err)
	}
	cutoff := time.Now().Add(-olderThan)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
			continue // gone meanwhile, not ours, or still fresh
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return files, bytes, fmt.Errorf("store: sweep %s: %w", dir, err)
		}
		files++
		bytes += info.Size()
	}
	return files, bytes, nil
}

// PutBytes stores b, records it under key (key "" records nothing) and returns its Ref.
// If the blob is already stored and intact, nothing is written but the key.
func (s *FS) PutBytes(key string, b []byte) (Ref, error) {
	if key != "" {
		if err := checkKey(key); err != nil {
			return Ref{}, err
		}
	}
	sum := sha256.Sum256(b)
	ref := refOf(sum[:], int64(len(b)))
	err := s.ensureBlob(ref, "memory", func(tmp *os.File) error {
		_, err := tmp.Write(b)
		return err
	})
	if err != nil {
		return Ref{}, err
	}
	return ref, s.record(key, ref)
}

// PutFile moves the regular file at path into the store, records it under key (key ""
// records nothing) and returns its Ref. The file is hashed, fsynced, made read-only and
// renamed into place; if path is on another filesystem it is copied and then removed. If
// the same bytes are already stored the file is just removed. On error the file is left
// where it was. The caller must have finished writing it, and must not keep other hard
// links to it: the blob would share them.
func (s *FS) PutFile(key, path string) (Ref, error) {
	if key != "" {
		if err := checkKey(key); err != nil {
			return Ref{}, err
		}
	}
	info, err := os.Lstat(path)
	if err != nil {
		return Ref{}, fmt.Errorf("store: put file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return Ref{}, fmt.Errorf("store: put file %s: not a regular file (mode %s)", path, info.Mode())
	}
	src, err := os.Open(path)
	if err != nil {
		return Ref{}, fmt.Errorf("store: put file: %w", err)
	}
	defer src.Close()
	h := sha256.New()
	n, err := io.Copy(h, src)
	if err != nil {
		return Ref{}, fmt.Errorf("store: put file %s: %w", path, err)
	}
	if err := src.Sync(); err != nil {
		return Ref{}, fmt.Errorf("store: put file %s: fsync: %w", path, err)
	}
	ref := refOf(h.Sum(nil), n)
	dst := s.blobPath(ref.Hex())

	switch _, err := s.verify(ref); {
	case err == nil: // already stored: drop the caller's copy, unless it is the blob itself
		if dstInfo, err := os.Stat(dst); err == nil && !os.SameFile(info, dstInfo) {
			if err := os.Remove(path); err != nil {
				return Ref{}, fmt.Errorf("store: put file %s: remove after dedup: %w", path, err)
			}
		}
		return ref, s.record(key, ref)
	case !isAbsentOrCorrupt(err):
		return Ref{}, err
	}

	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return Ref{}, fmt.Errorf("store: put file %s as %s: %w", path, ref.Digest, err)
	}
	if err := src.Chmod(0o444); err != nil {
		return Ref{}, fmt.Errorf("store: put file %s: %w", path, err)
	}
	if err := os.Rename(path, dst); errors.Is(err, syscall.EXDEV) {
		// Another filesystem: copy, then remove the original.
		_ = src.Chmod(info.Mode().Perm())
		if err := s.ensureBlob(ref, path, func(tmp *os.File) error { return copyChecked(tmp, src, ref) }); err != nil {
			return Ref{}, err
		}
		if err := os.Remove(path); err != nil {
			return Ref{}, fmt.Errorf("store: put file %s: remove after copy: %w", path, err)
		}
		return ref, s.record(key, ref)
	} else if err != nil {
		_ = src.Chmod(info.Mode().Perm()) // leave the file as we found it
		return Ref{}, fmt.Errorf("store: put file %s as %s: %w", path, ref.Digest, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Ref{}, err
	}
	s.markVerified(dst)
	return ref, s.record(key, ref)
}

// copyChecked copies src from its start to dst and fails if the bytes copied do not hash
// to ref (the source changed after it was hashed).
func copyChecked(dst io.Writer, src *os.File, ref Ref) error {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if err != nil {
		return err
	}
	if got := refOf(h.Sum(nil), n); got != ref {
		return fmt.Errorf("source changed while being stored: now %s (%d bytes), was %s (%d bytes)", got.Digest, got.Bytes, ref.Digest, ref.Bytes)
	}
	return nil
}

// ensureBlob makes sure an intact blob for ref exists. If not, it builds one in a temp
// file with write, fsyncs it, makes it read-only and renames it into place, replacing a
// corrupt one. The temp file is removed on every error. source names where the bytes come
// from, for error messages.
func (s *FS) ensureBlob(ref Ref, source string, write func(tmp *os.File) error) (err error) {
	switch _, err := s.verify(ref); {
	case err == nil:
		return nil
	case !isAbsentOrCorrupt(err):
		return err
	}
	dst := s.blobPath(ref.Hex())
	tmp, err := s.TempFile("blob-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("store: write blob %s from %s: %w", ref.Digest, source, err)
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o444); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	s.markVerified(dst)
	return nil
}

// record writes ref under key atomically (temp file, fsync, rename, fsync directory).
// An empty key records nothing.
func (s *FS) record(key string, ref Ref) (err error) {
	if key == "" {
		return nil
	}
	data, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("store: record key %s: %w", key, err)
	}
	data = append(data, '\n')
	dst := s.keyPath(key)
	tmp, err := s.TempFile("key-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("store: record key %s as %s: %w", key, ref.Digest, err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(0o444); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// Lookup returns the Ref recorded under key. ok is false if there is none, or if the
// record is unreadable or its blob is missing or corrupt; such a stale record is removed
// so the next put can replace it. The blob is verified (hashed, unless this process
// verified the same file before).
func (s *FS) Lookup(key string) (ref Ref, ok bool, err error) {
	if err := checkKey(key); err != nil {
		return Ref{}, false, err
	}
	path := s.keyPath(key)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Ref{}, false, nil
	}
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: lookup key %s: %w", key, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: lookup key %s: %w", key, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: lookup key %s: %w", key, err)
	}
	if json.Unmarshal(data, &ref) != nil || ref.Validate() != nil {
		s.removeStale(path, info)
		return Ref{}, false, nil
	}
	if _, err := s.verify(ref); err != nil {
		if isAbsentOrCorrupt(err) {
			s.removeStale(path, info)
			return Ref{}, false, nil
		}
		return Ref{}, false, fmt.Errorf("store: lookup key %s: %w", key, err)
	}
	return ref, true, nil
}

// removeStale removes the key record at path if it is still the file described by info,
// so a record that another process has just rewritten survives. A failure is ignored: the
// next put of this key replaces the record anyway.
func (s *FS) removeStale(path string, info fs.FileInfo) {
	if now, err := os.Lstat(path); err == nil && os.SameFile(info, now) {
		_ = os.Remove(path)
	}
}

// Path returns the path of the blob of ref after checking that its size and SHA-256 match
// ref. A file this process has already verified, unchanged in size and modification time,
// is not hashed again. The file is read-only and must not be modified.
func (s *FS) Path(ref Ref) (string, error) {
	return s.verify(ref)
}

// Get returns the bytes of the blob of ref, hashed as they are read and checked against
// ref. It reads the whole artifact into memory; use Path to stream large ones.
func (s *FS) Get(ref Ref) ([]byte, error) {
	f, info, err := s.openBlob(ref)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, ref.Bytes)
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("store: blob %s: shorter than %d bytes: %w", ref.Digest, ref.Bytes, ErrCorrupt)
		}
		return nil, fmt.Errorf("store: read blob %s: %w", ref.Digest, err)
	}
	sum := sha256.Sum256(buf)
	if got := refOf(sum[:], ref.Bytes); got.Digest != ref.Digest {
		return nil, mismatch(ref, got.Digest)
	}
	s.markVerifiedInfo(f.Name(), info)
	return buf, nil
}

// Has reports whether a blob for ref exists with the right size. It does not hash.
func (s *FS) Has(ref Ref) bool {
	if ref.Validate() != nil {
		return false
	}
	info, err := os.Stat(s.blobPath(ref.Hex()))
	return err == nil && info.Mode().IsRegular() && info.Size() == ref.Bytes
}

// openBlob opens the blob of ref and checks that it is a regular file of the right size.
func (s *FS) openBlob(ref Ref) (*os.File, fs.FileInfo, error) {
	if err := ref.Validate(); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.blobPath(ref.Hex()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("store: blob %s is not in store %s: %w (%w)", ref.Digest, s.Root, ErrMissing, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: blob %s: %w", ref.Digest, err)
	}
	info, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("store: blob %s: %w", ref.Digest, err)
	case !info.Mode().IsRegular():
		err = fmt.Errorf("store: blob %s: %s is not a regular file: %w", ref.Digest, f.Name(), ErrCorrupt)
	case info.Size() != ref.Bytes:
		err = fmt.Errorf("store: blob %s: size is %d bytes, want %d: %w", ref.Digest, info.Size(), ref.Bytes, ErrCorrupt)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// verify checks the blob of ref (size, then SHA-256 unless cached) and returns its path.
func (s *FS) verify(ref Ref) (string, error) {
	f, info, err := s.openBlob(ref)
	if err != nil {
		return "", err
	}
	defer f.Close()
	path := f.Name()
	if s.isVerified(path, info) {
		return path, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("store: read blob %s: %w", ref.Digest, err)
	}
	if got := refOf(h.Sum(nil), ref.Bytes); got.Digest != ref.Digest {
		return "", mismatch(ref, got.Digest)
	}
	s.markVerifiedInfo(path, info)
	return path, nil
}

func mismatch(ref Ref, got string) error {
	return fmt.Errorf("store: blob %s: content hashes to %s: %w", ref.Digest, got, ErrCorrupt)
}

// isAbsentOrCorrupt reports whether err means the blob must be (re)written.
func isAbsentOrCorrupt(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorrupt)
}

func (s *FS) isVerified(path string, info fs.FileInfo) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.verified[verifiedBlob{path, info.Size(), info.ModTime().UnixNano()}]
	return ok
}

func (s *FS) markVerifiedInfo(path string, info fs.FileInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verified == nil {
		s.verified = map[verifiedBlob]struct{}{}
	}
	s.verified[verifiedBlob{path, info.Size(), info.ModTime().UnixNano()}] = struct{}{}
}

// markVerified caches the blob this process has just written and hashed itself.
func (s *FS) markVerified(path string) {
	if info, err := os.Stat(path); err == nil {
		s.markVerifiedInfo(path, info)
	}
}

// syncDir fsyncs a directory so that a rename into it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) { // some filesystems cannot fsync directories
		return fmt.Errorf("store: fsync %s: %w", dir, err)
	}
	return nil
}
