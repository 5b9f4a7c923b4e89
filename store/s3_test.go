package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/store/s3test"
)

func refOfBytes(b []byte) store.Ref {
	sum := sha256.Sum256(b)
	return store.Ref{Digest: "sha256:" + hex.EncodeToString(sum[:]), Bytes: int64(len(b))}
}

// TestS3 runs the S3 store against a real S3 server (versitygw, built from its Go module
// on first use; skipped under -short until then).
func TestS3(t *testing.T) {
	start := time.Now()
	srv := s3test.Start(t, "evo", "other")
	t.Logf("S3 server ready in %.1f s", time.Since(start).Seconds())
	admin, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	opts := func() store.S3Options {
		return store.S3Options{Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, CacheDir: t.TempDir()}
	}
	open := func(t *testing.T, url string) *store.S3 {
		t.Helper()
		st, err := store.OpenS3(url, opts())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// overwrite replaces an object through the S3 API, behind the stores' backs.
	overwrite := func(t *testing.T, name string, b []byte) {
		t.Helper()
		_, err := admin.PutObject(context.Background(), "evo", name, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	blobObject := func(prefix string, ref store.Ref) string {
		return prefix + "/blobs/sha256/" + ref.Hex()[:2] + "/" + ref.Hex()
	}

	t.Run("RoundTrip", func(t *testing.T) {
		a := open(t, "s3://evo/roundtrip")
		key := store.Key("roundtrip", 1)
		if _, ok, err := a.Lookup(key); ok || err != nil {
			t.Fatalf("Lookup before put: ok=%v err=%v", ok, err)
		}
		data := []byte("hello, many machines")
		ref, err := a.PutBytes(key, data)
		if err != nil {
			t.Fatal(err)
		}
		if ref != refOfBytes(data) {
			t.Fatalf("ref %+v, want %+v", ref, refOfBytes(data))
		}
		got, ok, err := a.Lookup(key)
		if err != nil || !ok || got != ref {
			t.Fatalf("Lookup: %+v ok=%v err=%v", got, ok, err)
		}
		if b, err := a.Get(ref); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("Get: %q %v", b, err)
		}
		if !a.Has(ref) {
			t.Error("Has = false after put")
		}
		if a.Has(refOfBytes([]byte("never put"))) {
			t.Error("Has = true for a blob never put")
		}

		// PutFile of a TempFile: a rename into the cache, then an upload.
		f, err := a.TempFile("art-*")
		if err != nil {
			t.Fatal(err)
		}
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		if _, err := f.Write(big); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !strings.HasPrefix(f.Name(), a.CacheDir()) {
			t.Errorf("TempFile %s is not in the cache %s", f.Name(), a.CacheDir())
		}
		key2 := store.Key("roundtrip", 2)
		ref2, err := a.PutFile(key2, f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f.Name()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("temp file still there after PutFile: %v", err)
		}
		p, err := a.Path(ref2)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, big) {
			t.Error("Path's file differs from what was put")
		}

		// A second store on the same bucket and prefix with its own cache: another machine.
		b := open(t, "s3://evo/roundtrip")
		if b.CacheDir() == a.CacheDir() {
			t.Fatal("test needs separate caches")
		}
		got2, ok, err := b.Lookup(key2)
		if err != nil || !ok || got2 != ref2 {
			t.Fatalf("second store Lookup: %+v ok=%v err=%v", got2, ok, err)
		}
		pb, err := b.Path(ref2)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(pb, b.CacheDir()) {
			t.Errorf("second store's Path %s is not in its cache %s", pb, b.CacheDir())
		}
		if bb, _ := os.ReadFile(pb); !bytes.Equal(bb, big) {
			t.Error("second store reads other bytes")
		}
		// And the other way round.
		ref3, err := b.PutBytes("", []byte("from b"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := a.Get(ref3); err != nil || string(got) != "from b" {
			t.Fatalf("first store Get of the second's blob: %q %v", got, err)
		}

		// Identity: agreed by every store on this bucket+prefix, also when asked at once.
		stores := []*store.S3{open(t, "s3://evo/fresh-id"), open(t, "s3://evo/fresh-id"), open(t, "s3://evo/fresh-id/")}
		ids := make([]string, len(stores))
		var wg sync.WaitGroup
		for i, st := range stores {
			wg.Go(func() {
				var err error
				if ids[i], err = st.ID(); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ids[0] == "" || ids[0] != ids[1] || ids[0] != ids[2] {
			t.Errorf("IDs of one store differ: %q", ids)
		}
		idA, err := a.ID()
		if err != nil {
			t.Fatal(err)
		}
		if idB, err := b.ID(); err != nil || idB != idA {
			t.Errorf("IDs: %q and %q (%v)", idA, idB, err)
		}
		if idA == ids[0] {
			t.Errorf("stores at different prefixes share the ID %q", idA)
		}
		if idO, err := open(t, "s3://other/roundtrip").ID(); err != nil || idO == idA {
			t.Errorf("store in another bucket: ID %q (%v), first store's %q", idO, err, idA)
		}
	})

	t.Run("Corrupt", func(t *testing.T) {
		a := open(t, "s3://evo/corrupt")
		key := store.Key("corrupt")
		data := []byte("the right bytes, 32 of them.....")
		ref, err := a.PutBytes(key, data)
		if err != nil {
			t.Fatal(err)
		}
		name := blobObject("corrupt", ref)
		overwrite(t, name, []byte("the WRONG bytes, 32 of them....."))

		b := open(t, "s3://evo/corrupt") // nothing cached: must download
		if b.Has(ref) || a.Has(ref) {
			t.Fatalf("Has of an object corrupted in the bucket (same size): true")
		}
		_, err = b.Get(ref)
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "s3://evo/"+name) {
			t.Fatalf("Get of a corrupt object: %v; want ErrCorrupt naming s3://evo/%s", err, name)
		}
		if _, err := b.Path(ref); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Path of a corrupt object: %v", err)
		}
		if left, _ := os.ReadDir(filepath.Join(b.CacheDir(), "tmp")); len(left) != 0 {
			t.Errorf("corrupt download left %d files in the cache's tmp", len(left))
		}
		if _, ok, err := b.Lookup(key); ok || err != nil {
			t.Fatalf("Lookup of a key whose blob is corrupt: ok=%v err=%v", ok, err)
		}
		// The writer has a good cached copy, but the object changed: absent for it too.
		if _, ok, err := a.Lookup(key); ok || err != nil {
			t.Fatalf("writer's Lookup after the object was corrupted: ok=%v err=%v", ok, err)
		}
		// Recompute and put again: the object is repaired, for everyone.
		if _, err := a.PutBytes(key, data); err != nil {
			t.Fatal(err)
		}
		got, ok, err := b.Lookup(key)
		if err != nil || !ok || got != ref {
			t.Fatalf("Lookup after the re-put: %+v ok=%v err=%v", got, ok, err)
		}
		if g, err := b.Get(ref); err != nil || !bytes.Equal(g, data) {
			t.Fatalf("Get after the re-put: %q %v", g, err)
		}
		// A truncated object (wrong size) is corrupt as well.
		overwrite(t, name, data[:10])
		c := open(t, "s3://evo/corrupt")
		if _, err := c.Get(ref); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Get of a truncated object: %v", err)
		}
		if _, ok, _ := c.Lookup(key); ok {
			t.Fatal("Lookup of a key whose blob is truncated: ok")
		}
		// A corrupt cached file is not served either: it is downloaded again.
		if _, err := a.PutBytes(key, data); err != nil {
			t.Fatal(err)
		}
		p, err := c.Path(ref)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, []byte("the WRONG bytes, 32 of them....."), 0o444); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
		if g, err := c.Get(ref); err != nil || !bytes.Equal(g, data) {
			t.Fatalf("Get with a corrupt cached copy: %q %v", g, err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		a := open(t, "s3://evo/missing")
		ref := refOfBytes([]byte("never stored"))
		_, err := a.Get(ref)
		if !errors.Is(err, store.ErrMissing) || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get of a blob never put: %v; want ErrMissing and fs.ErrNotExist", err)
		}
		if !strings.Contains(err.Error(), "s3://evo/missing") || !strings.Contains(err.Error(), srv.Endpoint) {
			t.Errorf("error %q should name the store URL and the endpoint", err)
		}
		// A blob deleted from the bucket: its key is absent for a store that must check.
		key := store.Key("missing")
		data := []byte("soon gone")
		ref, err = a.PutBytes(key, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := admin.RemoveObject(context.Background(), "evo", blobObject("missing", ref), minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, st := range []*store.S3{a, open(t, "s3://evo/missing")} {
			if _, ok, err := st.Lookup(key); ok || err != nil {
				t.Fatalf("Lookup of a key whose blob was deleted: ok=%v err=%v", ok, err)
			}
		}
		b := open(t, "s3://evo/missing")
		if _, err := b.Path(ref); !errors.Is(err, store.ErrMissing) {
			t.Fatalf("Path of a deleted blob: %v", err)
		}
		// Re-put repairs it.
		if _, err := a.PutBytes(key, data); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := b.Lookup(key); !ok || err != nil {
			t.Fatalf("Lookup after the re-put: ok=%v err=%v", ok, err)
		}
	})

	t.Run("WrongCredentials", func(t *testing.T) {
		o := opts()
		o.SecretAccessKey = "not-the-secret"
		start := time.Now()
		_, err := store.OpenS3("s3://evo/x", o)
		took := time.Since(start)
		if err == nil {
			t.Fatal("open with a wrong secret key succeeded")
		}
		t.Logf("%v (%.2f s)", err, took.Seconds())
		if took > 10*time.Second {
			t.Errorf("took %s to fail", took)
		}
		for _, want := range []string{"s3://evo/x", srv.Endpoint, "access denied"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q should mention %q", err, want)
			}
		}
		o = opts()
		o.AccessKeyID = "nobody"
		if _, err := store.OpenS3("s3://evo/x", o); err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("open with an unknown access key: %v", err)
		}
	})

	t.Run("NoBucket", func(t *testing.T) {
		_, err := store.OpenS3("s3://no-such-bucket/x", opts())
		if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "s3://no-such-bucket/x") {
			t.Fatalf("open of a missing bucket: %v", err)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		stores := []*store.S3{open(t, "s3://evo/concurrent"), open(t, "s3://evo/concurrent")}
		data := bytes.Repeat([]byte("x"), 300<<10)
		key := store.Key("concurrent")
		var wg sync.WaitGroup
		for i := range 8 {
			st := stores[i%2]
			wg.Go(func() {
				if _, err := st.PutBytes(key, data); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, st := range stores {
			ref, ok, err := st.Lookup(key)
			if err != nil || !ok {
				t.Fatalf("Lookup: ok=%v err=%v", ok, err)
			}
			if g, err := st.Get(ref); err != nil || !bytes.Equal(g, data) {
				t.Fatalf("Get: %v", err)
			}
		}
	})

	// A put of bytes the bucket already holds uploads nothing, also from another cache:
	// the object's ETag is what the store computes for its bytes (one PUT, or multipart
	// above 64 MiB).
	t.Run("Dedup", func(t *testing.T) {
		for _, size := range []int{1000, 64<<20 + 1000} {
			data := bytes.Repeat([]byte{byte(size)}, size)
			for i := range data {
				data[i] ^= byte(i * 7)
			}
			a := open(t, "s3://evo/dedup")
			ref, err := a.PutBytes("", data)
			if err != nil {
				t.Fatal(err)
			}
			name := blobObject("dedup", ref)
			before, err := admin.StatObject(context.Background(), "evo", name, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond) // Last-Modified has a resolution of a second
			b := open(t, "s3://evo/dedup")
			if _, err := b.PutBytes(store.Key("dedup", size), data); err != nil {
				t.Fatal(err)
			}
			after, err := admin.StatObject(context.Background(), "evo", name, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !after.LastModified.Equal(before.LastModified) {
				t.Errorf("%d bytes: the blob was uploaded again (ETag %s, was %s)", size, after.ETag, before.ETag)
			}
			if _, ok, err := open(t, "s3://evo/dedup").Lookup(store.Key("dedup", size)); !ok || err != nil {
				t.Errorf("%d bytes: Lookup: ok=%v err=%v", size, ok, err)
			}
		}
	})

	t.Run("OpenFromEnv", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
		t.Setenv("AWS_ENDPOINT_URL", "")
		t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
		t.Setenv("AWS_REGION", "")
		st, err := store.Open("s3://evo/env", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.(*store.S3); !ok {
			t.Fatalf("Open of an s3:// URL returned %T", st)
		}
		if _, err := st.PutBytes("", []byte("env")); err != nil {
			t.Fatal(err)
		}
	})
}

// TestS3Unreachable needs no server: nothing listens on the endpoint.
func TestS3Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = store.OpenS3("s3://evo/x", store.S3Options{Endpoint: endpoint, AccessKeyID: "a", SecretAccessKey: "b", CacheDir: t.TempDir()})
	took := time.Since(start)
	if err == nil {
		t.Fatal("open of an unreachable endpoint succeeded")
	}
	t.Logf("%v (%.2f s)", err, took.Seconds())
	if took > 12*time.Second {
		t.Errorf("took %s to fail", took)
	}
	for _, want := range []string{"s3://evo/x", endpoint} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should mention %q", err, want)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "st"), "")
	if err != nil {
		t.Fatal(err)
	}
	if fsst, ok := st.(*store.FS); !ok || fsst.Root != filepath.Join(dir, "st") {
		t.Fatalf("Open of a folder: %T %+v", st, st)
	}
	if store.LocalDir(st) != filepath.Join(dir, "st") {
		t.Errorf("LocalDir = %q", store.LocalDir(st))
	}
	for _, bad := range []string{"gs://bucket/x", "s3://", "s3:///prefix", "s3://b/../x"} {
		if _, err := store.Open(bad, dir); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	if _, err := store.OpenS3("s3://b/x", store.S3Options{Endpoint: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "cache") {
		t.Errorf("OpenS3 without a cache dir: %v", err)
	}
	for _, c := range []struct{ url, bucket, prefix string }{
		{"s3://b", "b", ""}, {"s3://b/", "b", ""}, {"s3://b/p", "b", "p/"}, {"s3://b/p/q/", "b", "p/q/"},
	} {
		b, p, err := store.ParseS3URL(c.url)
		if err != nil || b != c.bucket || p != c.prefix {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v; want %q, %q", c.url, b, p, err, c.bucket, c.prefix)
		}
	}
}
