package store

import (
	"errors"
	"os"
)

// DefaultRoot is the store directory callers use unless configured otherwise, relative to
// the working directory.
const DefaultRoot = ".evomerge/store"

// ErrCorrupt is wrapped by errors about a blob whose size or content does not match its
// Ref. A missing blob is reported with an error wrapping ErrMissing and fs.ErrNotExist.
var ErrCorrupt = errors.New("corrupt blob")

// ErrMissing is wrapped by errors about a blob that is not in the store: an
// infrastructure fault (a worker attached to another store, a store not yet synced),
// never the user's input.
var ErrMissing = errors.New("blob not in this store")

// Store is a content-addressed artifact store.
type Store interface {
	// Lookup finds the artifact recorded under key (the hash of the inputs that produced
	// it). ok=false if none. If the recorded blob is missing or corrupt, ok=false (and the
	// stale key record is removed).
	Lookup(key string) (ref Ref, ok bool, err error)
	// PutFile moves the file at path into the store (it must be on the same filesystem,
	// e.g. made by TempFile; otherwise copy), fsyncs, records it under key (key may be ""
	// for no key), and returns its Ref. Atomic: readers see all or nothing.
	PutFile(key, path string) (Ref, error)
	// PutBytes stores b under key.
	PutBytes(key string, b []byte) (Ref, error)
	// Path returns a local path of the artifact after verifying its digest and size (error
	// names the digest and the mismatch). The caller must not modify it.
	Path(ref Ref) (string, error)
	// Get returns the artifact's bytes, verified.
	Get(ref Ref) ([]byte, error)
	// Has reports whether the blob exists with the right size (the local store: no hashing;
	// the S3 store verifies the object, see [S3.Has]).
	Has(ref Ref) bool
	// TempFile creates a file inside the store's temp area for building an artifact, to be
	// PutFile'd (same filesystem => rename is atomic).
	TempFile(pattern string) (*os.File, error)
	// ID is the store's identity, the same for every process that opens it and different
	// for every other store: workers of one store share a task queue by it.
	ID() (string, error)
}

var _ Store = (*FS)(nil)
