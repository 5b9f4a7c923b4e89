package store

import (
	"fmt"
	"strings"
	"time"
)

// Open opens the store named by spec: an s3://bucket/prefix URL opens an S3 store
// configured from the standard AWS environment (see S3OptionsFromEnv) with its read cache
// in cacheDir; anything else is a folder of the local filesystem (OpenFS; cacheDir is not
// used).
func Open(spec, cacheDir string) (Store, error) {
	if strings.HasPrefix(spec, "s3://") {
		return OpenS3(spec, S3OptionsFromEnv(cacheDir))
	}
	if scheme, _, ok := strings.Cut(spec, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		return nil, fmt.Errorf("store: %q: unsupported scheme %q (want a folder or s3://bucket/prefix)", spec, scheme)
	}
	return OpenFS(spec)
}

// LocalDir is the local directory of st where per-machine files (caches, logs) may live:
// the root of an FS store, the cache of an S3 store, "" for other stores.
func LocalDir(st Store) string {
	switch s := st.(type) {
	case *FS:
		return s.Root
	case *S3:
		return s.CacheDir()
	}
	return ""
}

// Describe names st for messages: the folder of an FS store, the URL and endpoint of an
// S3 store.
func Describe(st Store) string {
	switch s := st.(type) {
	case *FS:
		return s.Root
	case *S3:
		return s.String()
	}
	return fmt.Sprintf("%T", st)
}

// TempSweeper is a store with a local temp area that leftovers of killed processes can be
// swept from (FS, and S3's cache).
type TempSweeper interface {
	SweepTemp(olderThan time.Duration) (files int, bytes int64, err error)
}

var (
	_ TempSweeper = (*FS)(nil)
	_ TempSweeper = (*S3)(nil)
)
