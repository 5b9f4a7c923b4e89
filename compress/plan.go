package compress

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/evomerge/evomerge/tensor"
)

// None is the Choice.Codec that keeps a tensor dense (as does "").
const None = "none"

// Choice is how one tensor is compressed: a registered codec and its options, or None
// (or "") to keep it dense.
type Choice struct {
	Codec   string  `json:"codec"`
	Options Options `json:"options,omitempty"`
}

// Dense reports whether c keeps its tensor dense.
func (c Choice) Dense() bool { return c.Codec == "" || c.Codec == None }

// Plan maps source tensor names to their Choice; tensors not in the plan stay dense.
type Plan map[string]Choice

// CompressFilePlan is CompressFile with a codec per tensor: it reads the safetensors
// model at src tensor by tensor, encodes each tensor the plan names with its Choice's
// codec and options (a codec may still leave a tensor it does not compress, such as a
// bias, dense), keeps every other tensor dense, and writes dst atomically with
// deterministic bytes: the same src, plan and codec versions give the same file,
// whether encodings come from cache or not.
//
// When the compressed tensors all use one codec, or when the plan names a single codec
// and it compressed nothing, the file is exactly what CompressFile writes
// (MetaAlgorithm = that codec's name). Otherwise MetaAlgorithm is Mixed and MetaCodecs
// maps every compressed tensor to its codec. ReadDense and LoadModel read both.
//
// cache, if not nil, memoizes each compressed tensor's encoding under CacheKey: a hit
// skips the codec entirely. Tensors a codec leaves dense are not cached.
//
// It fails before reading any tensor if the plan names a tensor src does not have, an
// unknown codec, or options its codec rejects (errors name the tensor); otherwise as
// CompressFile does, and also when the cache cannot store an entry. It stops between
// tensors once ctx is done. On any error nothing is written at dst.
func CompressFilePlan(ctx context.Context, plan Plan, src, dst string, cache TensorCache) (Stats, error) {
	f, err := tensor.Open(src)
	if err != nil {
		return Stats{}, fmt.Errorf("compress: %w", err)
	}
	have := map[string]bool{}
	for _, in := range f.Infos() {
		have[in.Name] = true
	}
	f.Close()

	encoders := map[string]*encoder{} // by tensor name
	built := map[string]*encoder{}    // by codec name and canonical options
	named := map[string]bool{}        // codec names in the plan
	for _, name := range slices.Sorted(maps.Keys(plan)) {
		ch := plan[name]
		if !have[name] {
			return Stats{}, fmt.Errorf("compress: %s: the plan names tensor %q, which the file does not have", src, name)
		}
		if ch.Dense() {
			continue
		}
		opts := CanonicalOptions(ch.Options)
		id := ch.Codec + " " + opts
		enc, ok := built[id]
		if !ok {
			c, err := New(ch.Codec, ch.Options)
			if err != nil {
				return Stats{}, fmt.Errorf("compress: %s: tensor %q: %w", src, name, err)
			}
			enc = &encoder{codec: c, options: opts}
			built[id] = enc
		}
		encoders[name] = enc
		named[ch.Codec] = true
	}
	single := ""
	if len(named) == 1 {
		for n := range named {
			single = n
		}
	}
	pick := func(name string) (*encoder, bool) {
		enc, ok := encoders[name]
		return enc, ok
	}
	return compressFile(ctx, src, dst, pick, cache, single)
}

// encode encodes t with e.codec, through cache if it is not nil; cached reports a hit.
func (e *encoder) encode(t *tensor.Tensor, cache TensorCache) (stored []*tensor.Tensor, meta map[string]string, cached bool, err error) {
	var key string
	if cache != nil {
		key = cacheKey(e.codec, e.options, t)
		if stored, meta, ok := cache.Get(key); ok {
			return stored, meta, true, nil
		}
	}
	stored, meta, err = e.codec.Encode(t)
	if err != nil {
		return nil, nil, false, err
	}
	if cache == nil || (len(stored) == 1 && stored[0] == t && len(meta) == 0) {
		return stored, meta, false, nil
	}
	for _, s := range stored {
		if s == nil {
			return stored, meta, false, nil // CompressFile reports it
		}
	}
	if err := cache.Put(key, stored, meta); err != nil {
		return nil, nil, false, fmt.Errorf("cache %s encoding: %w", e.codec.Name(), err)
	}
	return stored, meta, false, nil
}

// TensorCache memoizes the encoding of single tensors: the stored tensors and metadata
// a codec's Encode returned, under a key from CacheKey. Implementations must be safe
// for concurrent use, and must return exactly what was put (names, dtypes, shapes,
// bytes, metadata) or a miss.
type TensorCache interface {
	// Get returns the entry put under key, or ok = false. An unreadable entry is a miss.
	Get(key string) (stored []*tensor.Tensor, meta map[string]string, ok bool)
	// Put stores an entry under key, replacing any entry there.
	Put(key string, stored []*tensor.Tensor, meta map[string]string) error
}

// CanonicalOptions is the canonical text of opts: "key=value" pairs sorted by key,
// joined by commas, values in Go's shortest 'g' format ("" for no options). Equal maps
// give equal text; options equal only through a codec's defaults do not.
func CanonicalOptions(opts Options) string {
	parts := make([]string, 0, len(opts))
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		parts = append(parts, strconv.Quote(k)+"="+strconv.FormatFloat(opts[k], 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// CacheKey is the key under which CompressFilePlan caches the encoding of t by c built
// with opts: the hex SHA-256 of the codec's Name and Version, CanonicalOptions(opts),
// and t's name, dtype, shape and the SHA-256 of its bytes. The name is part of it
// because codecs name their stored tensors and metadata after the tensor.
func CacheKey(c Codec, opts Options, t *tensor.Tensor) string {
	return cacheKey(c, CanonicalOptions(opts), t)
}

func cacheKey(c Codec, opts string, t *tensor.Tensor) string {
	data := sha256.Sum256(t.Data)
	h := sha256.New()
	fmt.Fprintf(h, "evomerge compress tensor cache 1\ncodec %q\nversion %q\noptions %q\ntensor %q\ndtype %s\nshape %v\ndata %x\n",
		c.Name(), c.Version(), opts, t.Name, t.DType, t.Shape, data)
	return hex.EncodeToString(h.Sum(nil))
}

// metaCacheKey is the metadata entry of a DirCache file holding its key.
const metaCacheKey = "compress.cache.key"

// DirCache returns a TensorCache keeping each entry as the safetensors file
// "<key>.safetensors" in dir (created when first needed), written atomically; the file's
// metadata is the entry's plus its key, checked when read. Concurrent writers of one key
// write identical files, the last rename wins. Keys must be lowercase hex (CacheKey).
func DirCache(dir string) TensorCache { return dirCache{dir} }

type dirCache struct{ dir string }

func (d dirCache) path(key string) (string, error) {
	if key == "" || strings.Trim(key, "0123456789abcdef") != "" {
		return "", fmt.Errorf("cache key %q is not lowercase hex", key)
	}
	return filepath.Join(d.dir, key+".safetensors"), nil
}

func (d dirCache) Get(key string) ([]*tensor.Tensor, map[string]string, bool) {
	path, err := d.path(key)
	if err != nil {
		return nil, nil, false
	}
	f, err := tensor.Open(path)
	if err != nil {
		return nil, nil, false
	}
	defer f.Close()
	meta := f.Metadata()
	if meta[metaCacheKey] != key {
		return nil, nil, false
	}
	delete(meta, metaCacheKey)
	var stored []*tensor.Tensor
	for _, in := range f.Infos() {
		t, err := f.Read(in.Name)
		if err != nil {
			return nil, nil, false
		}
		stored = append(stored, t)
	}
	if len(meta) == 0 {
		meta = nil
	}
	return stored, meta, true
}

func (d dirCache) Put(key string, stored []*tensor.Tensor, meta map[string]string) error {
	path, err := d.path(key)
	if err != nil {
		return err
	}
	if _, clash := meta[metaCacheKey]; clash {
		return fmt.Errorf("metadata key %q is reserved by the cache", metaCacheKey)
	}
	m := maps.Clone(meta)
	if m == nil {
		m = map[string]string{}
	}
	m[metaCacheKey] = key
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	return tensor.WriteAtomic(path, func(w io.Writer) error { return tensor.Encode(w, m, stored) })
}
