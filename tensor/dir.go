package tensor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrDirNotEmpty is returned by CreateDirAtomic when dir exists and holds files.
var ErrDirNotEmpty = errors.New("exists and is not empty")

// CreateDirAtomic makes the directory dir appear with the files fill writes into a
// temporary directory (created next to dir, so the final rename stays on one file
// system), or not at all: on any error, from fill or afterwards, the temporary directory
// is removed and dir is as it was. dir must not exist, or be an empty directory (it is
// then replaced); otherwise the error wraps ErrDirNotEmpty and fill is not called. The
// files fill writes should be complete and fsynced (ShardedWriter and WriteAtomic do
// that); the directory is synced before the rename and its parent after it (best effort).
// Errors from fill are returned as they are.
func CreateDirAtomic(dir string, fill func(tmp string) error) (err error) {
	if err := checkEmptyOrMissing(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".tmp-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := fill(tmp); err != nil {
		return err
	}
	syncDir(tmp)
	// An empty directory at dir is replaced: os.Remove fails if it gained files meanwhile.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create %s: %w", dir, ErrDirNotEmpty)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, errNotEmpty) {
			return fmt.Errorf("create %s: %w", dir, ErrDirNotEmpty)
		}
		return fmt.Errorf("create %s: %w", dir, err)
	}
	syncDir(parent)
	return nil
}

// checkEmptyOrMissing returns nil if dir does not exist or is an empty directory.
func checkEmptyOrMissing(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("create %s: %w (it is a file)", dir, ErrDirNotEmpty)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("create %s: %w (%d entries)", dir, ErrDirNotEmpty, len(entries))
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
