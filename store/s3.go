package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Store in a bucket of an S3-compatible object store, shared by every worker that
// opens the same bucket and prefix, with a local read cache per process (an FS in a
// directory of its own). Create it with OpenS3 or Open.
//
// # Layout
//
//	<prefix>/blobs/sha256/<first 2 hex>/<64 hex>   artifact bytes
//	<prefix>/keys/<first 2 hex>/<key>               the Ref JSON recorded under key
//	<prefix>/id                                     the store's identity (see ID)
//
// # Guarantees
//
// An S3 PUT (and a multipart upload's completion) is atomic: readers see a whole object
// or none. Blobs are uploaded before the key that names them, so a key never points at a
// blob that was not yet written. Every read verifies: a blob is downloaded into the cache's
// temp area, hashed and compared with its Ref before it is renamed into the cache, so a
// corrupt object is reported (ErrCorrupt, naming the object) and never served. Lookup
// checks that the recorded blob is still in the bucket with the content this process
// verified (same ETag) or downloads and verifies it; a key whose blob is missing or
// corrupt is absent, and the next put of the same bytes uploads the blob again. Stale key
// records are not deleted (S3 has no conditional delete; the re-put overwrites them).
//
// The cache is never evicted: remove the directory to reclaim space (only while no
// process uses it). Several S3 stores may share one cache directory: it is content
// addressed.
type S3 struct {
	url      string // s3://bucket/prefix, for messages
	endpoint string // scheme://host[:port], for messages
	bucket   string
	prefix   string // "" or "a/b/" (with the trailing slash)
	client   *minio.Client
	cache    *FS

	mu         sync.Mutex
	id         string
	remoteOK   map[string]string // object name -> ETag whose content this process verified
	localETags map[string]string // digest -> ETag of the cached blob as we would upload it
	fetchLocks [64]sync.Mutex    // one download per blob at a time, striped by digest
}

var _ Store = (*S3)(nil)

// S3Options configure OpenS3. S3OptionsFromEnv fills them from the standard AWS
// environment variables.
type S3Options struct {
	// Endpoint is the S3 server's URL, e.g. "http://127.0.0.1:8333" or
	// "https://s3.eu-central-1.amazonaws.com"; "" means AWS. A host[:port] without a
	// scheme means https. Any endpoint but AWS's is addressed path-style
	// (http://host/bucket/object).
	Endpoint string
	// Region of the bucket; "" lets the client find it (AWS) or uses us-east-1.
	Region string
	// Credentials. If AccessKeyID is empty, the shared credentials file
	// (~/.aws/credentials, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE) is tried, then
	// anonymous access.
	AccessKeyID, SecretAccessKey, SessionToken string
	// CacheDir is the local read cache (required): an FS store layout.
	CacheDir string
	// ProbeTimeout bounds the bucket check at open (default 10 s).
	ProbeTimeout time.Duration
}

// S3OptionsFromEnv returns options from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL_S3 (or
// AWS_ENDPOINT_URL), with the given cache directory.
func S3OptionsFromEnv(cacheDir string) S3Options {
	o := S3Options{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		Region:          os.Getenv("AWS_REGION"),
		Endpoint:        os.Getenv("AWS_ENDPOINT_URL_S3"),
		CacheDir:        cacheDir,
	}
	if o.Region == "" {
		o.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	return o
}

// ParseS3URL splits "s3://bucket/prefix" into the bucket and the prefix ("" or ending in
// "/").
func ParseS3URL(raw string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return "", "", fmt.Errorf("store: %q is not an s3://bucket/prefix URL", raw)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("store: %q: no bucket (want s3://bucket/prefix)", raw)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if path.Clean(prefix) != prefix || strings.Contains(prefix, "//") || prefix == "." || strings.HasPrefix(prefix, "..") {
			return "", "", fmt.Errorf("store: %q: prefix %q is not a clean path", raw, prefix)
		}
		prefix += "/"
	}
	return bucket, prefix, nil
}

// s3 client retries: the probe fails fast, later calls ride out short outages (the
// activities retry beyond that).
const (
	s3ProbeRetries = 1
	s3Retries      = 4
)

// OpenS3 opens the store at rawURL ("s3://bucket/prefix") with a local cache in
// o.CacheDir. It checks within o.ProbeTimeout that the bucket exists and the credentials
// are accepted, and fails with a message naming the URL and the endpoint otherwise.
func OpenS3(rawURL string, o S3Options) (*S3, error) {
	bucket, prefix, err := ParseS3URL(rawURL)
	if err != nil {
		return nil, err
	}
	storeURL := "s3://" + bucket + "/" + strings.TrimSuffix(prefix, "/")
	host, secure, endpoint, custom, err := parseEndpoint(o.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", storeURL, err)
	}
	if o.CacheDir == "" {
		return nil, fmt.Errorf("store: open %s: no cache directory for the S3 store", storeURL)
	}
	cache, err := OpenFS(o.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: cache: %w", storeURL, err)
	}
	var creds *credentials.Credentials
	if o.AccessKeyID != "" {
		creds = credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.FileAWSCredentials{}})
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", storeURL, err)
	}
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	lookup, region := minio.BucketLookupAuto, o.Region
	if custom {
		lookup = minio.BucketLookupPath
		if region == "" {
			region = "us-east-1" // what S3-compatible servers expect; saves a location request
		}
	}
	newClient := func(retries int) (*minio.Client, error) {
		return minio.New(host, &minio.Options{
			Creds: creds, Secure: secure, Transport: tr, Region: region,
			BucketLookup: lookup, MaxRetries: retries,
		})
	}
	probe, err := newClient(s3ProbeRetries)
	if err != nil {
		return nil, fmt.Errorf("store: open %s at %s: %w", storeURL, endpoint, err)
	}
	timeout := o.ProbeTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	exists, err := probe.BucketExists(ctx, bucket)
	switch {
	case err != nil:
		return nil, fmt.Errorf("store: open %s at endpoint %s: %s", storeURL, endpoint, describeS3Error(ctx, err, timeout))
	case !exists:
		// A HEAD answer has no body: some servers answer 404 for unknown credentials too.
		// A listing's error names the reason.
		var lerr error
		for obj := range probe.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, MaxKeys: 1}) {
			if obj.Err != nil {
				lerr = obj.Err
			}
			break
		}
		if r := minio.ToErrorResponse(lerr); lerr != nil && r.Code != "NoSuchBucket" {
			return nil, fmt.Errorf("store: open %s at endpoint %s: %s", storeURL, endpoint, describeS3Error(ctx, lerr, timeout))
		}
		return nil, fmt.Errorf("store: open %s at endpoint %s: bucket %q does not exist (create it first)", storeURL, endpoint, bucket)
	}
	client, err := newClient(s3Retries)
	if err != nil {
		return nil, fmt.Errorf("store: open %s at %s: %w", storeURL, endpoint, err)
	}
	return &S3{
		url: storeURL, endpoint: endpoint, bucket: bucket, prefix: prefix,
		client: client, cache: cache,
		remoteOK: map[string]string{}, localETags: map[string]string{},
	}, nil
}

// parseEndpoint returns the host[:port] for the client, whether to use TLS, the endpoint
// as a URL for messages and whether it is a custom (non-AWS) endpoint.
func parseEndpoint(raw string) (host string, secure bool, endpoint string, custom bool, err error) {
	if raw == "" {
		return "s3.amazonaws.com", true, "https://s3.amazonaws.com", false, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, "", false, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, "", false, fmt.Errorf("endpoint %q: want http(s)://host[:port]", raw)
	}
	custom = !strings.HasSuffix(u.Hostname(), ".amazonaws.com")
	return u.Host, u.Scheme == "https", u.Scheme + "://" + u.Host, custom, nil
}

// describeS3Error explains a failed probe.
func describeS3Error(ctx context.Context, err error, timeout time.Duration) string {
	resp := minio.ToErrorResponse(err)
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s (is the server up and the endpoint right?): %v", timeout, err)
	case errors.As(err, new(*net.OpError)):
		return fmt.Sprintf("cannot connect (is the server up and the endpoint right?): %v", err)
	case resp.StatusCode == http.StatusForbidden || resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" ||
		strings.Contains(resp.Code, "UserNotFound"): // versitygw: XAdminUserNotFound, 404
		return fmt.Sprintf("access denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (%v)", err)
	}
	return err.Error()
}

// URL returns the store's s3://bucket/prefix URL.
func (s *S3) URL() string { return s.url }

// Endpoint returns the S3 server's URL.
func (s *S3) Endpoint() string { return s.endpoint }

// CacheDir returns the root of the local read cache.
func (s *S3) CacheDir() string { return s.cache.Root }

// String names the store and its endpoint.
func (s *S3) String() string { return s.url + " (endpoint " + s.endpoint + ")" }

func (s *S3) blobObject(hexDigest string) string {
	return s.prefix + "blobs/sha256/" + hexDigest[:2] + "/" + hexDigest
}

func (s *S3) keyObject(key string) string { return s.prefix + "keys/" + key[:2] + "/" + key }

func (s *S3) objectURL(name string) string { return "s3://" + s.bucket + "/" + name }

// opContext bounds one request of a small object.
func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// transferContext bounds the transfer of n bytes: 10 minutes plus 1 MiB/s.
func transferContext(n int64) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Minute+time.Duration(n>>20)*time.Second)
}

func isNoSuchKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound
}

// ID returns the store's identity: 16 random bytes in hex in the object <prefix>/id,
// created by the first caller with a conditional put (If-None-Match: *), so every process
// that opens this bucket and prefix, from any machine and through any endpoint name,
// agrees, and any other bucket or prefix differs.
func (s *S3) ID() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id != "" {
		return s.id, nil
	}
	name := s.prefix + "id"
	id, err := s.getSmall(name)
	if err != nil && !isNoSuchKey(err) {
		return "", fmt.Errorf("store: id of %s: %w", s, err)
	}
	if err != nil {
		var raw [16]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", fmt.Errorf("store: id: %w", err)
		}
		b := []byte(hex.EncodeToString(raw[:]) + "\n")
		opts := minio.PutObjectOptions{ContentType: "text/plain"}
		opts.SetMatchETagExcept("*") // first writer wins
		ctx, cancel := opContext()
		_, err := s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(b), int64(len(b)), opts)
		cancel()
		if r := minio.ToErrorResponse(err); err != nil && r.StatusCode != http.StatusPreconditionFailed && r.StatusCode != http.StatusConflict {
			return "", fmt.Errorf("store: create id of %s: %w", s, err)
		}
		// Read back what is there: ours, or the id of a writer that came first.
		if id, err = s.getSmall(name); err != nil {
			return "", fmt.Errorf("store: id of %s: %w", s, err)
		}
	}
	v := string(bytes.TrimSpace(id))
	if v == "" || len(v) > 64 || strings.ContainsAny(v, " \t\r\n/") {
		return "", fmt.Errorf("store: id of %s: object %s holds %q, not an id", s, s.objectURL(name), v)
	}
	s.id = v
	return v, nil
}

// getSmall reads an object of at most 64 KiB.
func (s *S3) getSmall(name string) ([]byte, error) {
	ctx, cancel := opContext()
	defer cancel()
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(io.LimitReader(obj, 1<<16))
}

// TempFile creates a file in the cache's temp area, so PutFile moves it into the cache
// with a rename before uploading it.
func (s *S3) TempFile(pattern string) (*os.File, error) { return s.cache.TempFile(pattern) }

// SweepTemp removes leftovers older than olderThan from the cache's temp area (see
// FS.SweepTemp).
func (s *S3) SweepTemp(olderThan time.Duration) (files int, bytes int64, err error) {
	return s.cache.SweepTemp(olderThan)
}

// PutFile moves the file at path into the cache (see FS.PutFile), uploads it unless the
// bucket already holds the same bytes, records it under key (key "" records nothing) and
// returns its Ref.
func (s *S3) PutFile(key, path string) (Ref, error) {
	return s.put(key, func() (Ref, error) { return s.cache.PutFile("", path) })
}

// PutBytes stores b (cache, then bucket) under key.
func (s *S3) PutBytes(key string, b []byte) (Ref, error) {
	return s.put(key, func() (Ref, error) { return s.cache.PutBytes("", b) })
}

// put checks key (unless ""), stores the blob in the cache by cache, then uploads and
// records it (finishPut).
func (s *S3) put(key string, cache func() (Ref, error)) (Ref, error) {
	if key != "" {
		if err := checkKey(key); err != nil {
			return Ref{}, err
		}
	}
	ref, err := cache()
	if err != nil {
		return Ref{}, err
	}
	return ref, s.finishPut(key, ref)
}

// finishPut uploads the cached blob of ref if needed, then records the key.
func (s *S3) finishPut(key string, ref Ref) error {
	local, err := s.cache.verify(ref)
	if err != nil {
		return err
	}
	if err := s.ensureRemote(ref, local); err != nil {
		return err
	}
	return s.record(key, ref)
}

// uploadPartSize is the multipart part size of uploads; localETag reproduces the ETag an
// upload with it gets.
const uploadPartSize = 64 << 20

// ensureRemote uploads the blob at local unless the bucket already has an object of the
// right size whose ETag this process verified or equals what uploading local would give.
// A corrupt object of the right size has another ETag, so it is overwritten.
func (s *S3) ensureRemote(ref Ref, local string) error {
	name := s.blobObject(ref.Hex())
	ctx, cancel := opContext()
	info, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	cancel()
	switch {
	case err == nil && info.Size == ref.Bytes:
		if s.remoteVerified(name, info.ETag) {
			return nil
		}
		if et, err := s.localETag(ref, local); err == nil && et == info.ETag {
			s.markRemote(name, info.ETag)
			return nil
		}
	case err != nil && !isNoSuchKey(err):
		return fmt.Errorf("store: put blob %s to %s: %w", ref.Digest, s, err)
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("store: put blob %s to %s: %w", ref.Digest, s, err)
	}
	defer f.Close()
	ctx, cancel = transferContext(ref.Bytes)
	defer cancel()
	up, err := s.client.PutObject(ctx, s.bucket, name, f, ref.Bytes, minio.PutObjectOptions{
		ContentType:  "application/octet-stream",
		PartSize:     uploadPartSize,
		UserMetadata: map[string]string{"Digest": ref.Digest},
	})
	if err != nil {
		return fmt.Errorf("store: upload blob %s to %s: %w", ref.Digest, s.objectURL(name), err)
	}
	if up.Size != ref.Bytes {
		return fmt.Errorf("store: upload blob %s to %s: server stored %d bytes, want %d", ref.Digest, s.objectURL(name), up.Size, ref.Bytes)
	}
	s.markRemote(name, up.ETag)
	return nil
}

// record writes ref under key (one PUT: atomic). An empty key records nothing.
func (s *S3) record(key string, ref Ref) error {
	if key == "" {
		return nil
	}
	data, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("store: record key %s: %w", key, err)
	}
	data = append(data, '\n')
	ctx, cancel := opContext()
	defer cancel()
	name := s.keyObject(key)
	if _, err := s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("store: record key %s as %s in %s: %w", key, ref.Digest, s.objectURL(name), err)
	}
	return nil
}

// Lookup returns the Ref recorded under key. ok is false if there is none, or if the
// record is unreadable or its blob is missing from the bucket or corrupt there. The blob
// is verified: its ETag is one this process verified, or equals that of the verified
// cached copy, or it is downloaded (into the cache) and hashed.
func (s *S3) Lookup(key string) (ref Ref, ok bool, err error) {
	if err := checkKey(key); err != nil {
		return Ref{}, false, err
	}
	data, err := s.getSmall(s.keyObject(key))
	if isNoSuchKey(err) {
		return Ref{}, false, nil
	}
	if err != nil {
		return Ref{}, false, fmt.Errorf("store: lookup key %s in %s: %w", key, s, err)
	}
	if json.Unmarshal(data, &ref) != nil || ref.Validate() != nil {
		return Ref{}, false, nil
	}
	if err := s.checkRemote(ref); err != nil {
		if isAbsentOrCorrupt(err) {
			return Ref{}, false, nil
		}
		return Ref{}, false, fmt.Errorf("store: lookup key %s: %w", key, err)
	}
	return ref, true, nil
}

// checkRemote verifies that the bucket holds the blob of ref (see Lookup).
func (s *S3) checkRemote(ref Ref) error {
	name := s.blobObject(ref.Hex())
	ctx, cancel := opContext()
	info, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	cancel()
	if err != nil {
		if isNoSuchKey(err) {
			return s.missing(ref, name)
		}
		return fmt.Errorf("store: blob %s in %s: %w", ref.Digest, s, err)
	}
	if info.Size != ref.Bytes {
		return fmt.Errorf("store: blob %s: object %s is %d bytes, want %d: %w", ref.Digest, s.objectURL(name), info.Size, ref.Bytes, ErrCorrupt)
	}
	if s.remoteVerified(name, info.ETag) {
		return nil
	}
	if local, err := s.cache.verify(ref); err == nil {
		if et, err := s.localETag(ref, local); err == nil && et == info.ETag {
			s.markRemote(name, info.ETag)
			return nil
		}
	}
	_, err = s.download(ref)
	return err
}

func (s *S3) missing(ref Ref, name string) error {
	return fmt.Errorf("store: blob %s is not in store %s (object %s, endpoint %s): %w (%w)",
		ref.Digest, s.url, s.objectURL(name), s.endpoint, ErrMissing, fs.ErrNotExist)
}

// Path returns the path of the verified cached copy of ref's blob, downloading and
// verifying it first if the cache does not have it. The file is read-only and must not be
// modified.
func (s *S3) Path(ref Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	p, err := s.cache.verify(ref)
	if err == nil {
		return p, nil
	}
	if !isAbsentOrCorrupt(err) {
		return "", err
	}
	return s.download(ref)
}

// Get returns the blob's bytes, verified (through the cache).
func (s *S3) Get(ref Ref) ([]byte, error) {
	if _, err := s.Path(ref); err != nil {
		return nil, err
	}
	return s.cache.Get(ref)
}

// Has reports whether the bucket holds ref's blob, verified as Lookup verifies it (its
// ETag is one this process verified or that of the verified cached copy; else it is
// downloaded into the cache and hashed). Unlike the local store's size check, a memoized
// result whose artifact was corrupted in the bucket — even keeping its size — is thus
// recomputed instead of failing the step that reads it.
func (s *S3) Has(ref Ref) bool {
	if ref.Validate() != nil {
		return false
	}
	return s.checkRemote(ref) == nil
}

// download fetches ref's blob into a cache temp file, hashing it as it arrives, and
// renames it into the cache if it matches ref; otherwise it reports ErrCorrupt naming the
// object and leaves nothing behind.
func (s *S3) download(ref Ref) (_ string, err error) {
	h := ref.Hex()
	lock := &s.fetchLocks[(int(h[0])*31+int(h[1]))%len(s.fetchLocks)]
	lock.Lock()
	defer lock.Unlock()
	name := s.blobObject(ref.Hex())
	ctx, cancel := transferContext(ref.Bytes)
	defer cancel()
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return "", fmt.Errorf("store: download blob %s from %s: %w", ref.Digest, s.objectURL(name), err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		if isNoSuchKey(err) {
			return "", s.missing(ref, name)
		}
		return "", fmt.Errorf("store: download blob %s from %s: %w", ref.Digest, s.objectURL(name), err)
	}
	if info.Size != ref.Bytes {
		return "", fmt.Errorf("store: blob %s: object %s is %d bytes, want %d: %w", ref.Digest, s.objectURL(name), info.Size, ref.Bytes, ErrCorrupt)
	}
	tmp, err := s.cache.TempFile("download-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, sum), io.LimitReader(obj, ref.Bytes+1))
	if err != nil {
		return "", fmt.Errorf("store: download blob %s from %s: %w", ref.Digest, s.objectURL(name), err)
	}
	if got := refOf(sum.Sum(nil), n); got != ref {
		return "", fmt.Errorf("store: blob %s: object %s holds %d bytes hashing to %s: %w", ref.Digest, s.objectURL(name), n, got.Digest, ErrCorrupt)
	}
	if err := tmp.Chmod(0o444); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	dst := s.cache.blobPath(ref.Hex())
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("store: cache blob %s: %w", ref.Digest, err)
	}
	s.cache.markVerified(dst)
	s.markRemote(name, info.ETag)
	return dst, nil
}

func (s *S3) remoteVerified(name, etag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return etag != "" && s.remoteOK[name] == etag
}

func (s *S3) markRemote(name, etag string) {
	if etag == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remoteOK[name] = etag
}

// localETag is the ETag an S3 server gives the blob at local when uploaded by
// ensureRemote: the hex MD5 of the bytes for a single PUT, and for a multipart upload
// the hex MD5 of the concatenated part MD5s, "-", the number of parts.
func (s *S3) localETag(ref Ref, local string) (string, error) {
	s.mu.Lock()
	et, ok := s.localETags[ref.Digest]
	s.mu.Unlock()
	if ok {
		return et, nil
	}
	f, err := os.Open(local)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if ref.Bytes <= uploadPartSize {
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		et = hex.EncodeToString(h.Sum(nil))
	} else {
		var sums []byte
		parts := 0
		for {
			h := md5.New()
			n, err := io.Copy(h, io.LimitReader(f, uploadPartSize))
			if err != nil {
				return "", err
			}
			if n == 0 {
				break
			}
			sums = append(sums, h.Sum(nil)...)
			parts++
		}
		sum := md5.Sum(sums)
		et = fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:]), parts)
	}
	s.mu.Lock()
	s.localETags[ref.Digest] = et
	s.mu.Unlock()
	return et, nil
}
