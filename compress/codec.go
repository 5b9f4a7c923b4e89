package compress

import (
	"fmt"
	"sort"
	"sync"

	"github.com/evomerge/evomerge/tensor"
)

// Codec compresses the tensors of a model one at a time.
//
// A codec decides which tensors it compresses (for example only 2-D weight matrices);
// the others it returns unchanged. Everything a decoder needs is stored either as
// tensors or as string metadata in the safetensors header, so a compressed model is an
// ordinary safetensors file.
type Codec interface {
	// Name is the registry name ("bitnet", "vptq", "seedlm").
	Name() string
	// Version names the encoder's algorithm and format ("seedlm/2"). It changes whenever
	// the same tensor and options would encode to different bytes, so that memoized
	// outputs of an older encoder are not reused.
	Version() string
	// Encode compresses one dense tensor. It returns the tensors to store in its place
	// and metadata entries needed to decode it (keys should be prefixed with the
	// tensor's name). A tensor left dense comes back as itself with no metadata.
	Encode(t *tensor.Tensor) (stored []*tensor.Tensor, meta map[string]string, err error)
	// Decode rebuilds the dense F32 tensor called name from the stored tensors (looked
	// up with get) and the file's metadata.
	Decode(name string, meta map[string]string, get func(name string) (*tensor.Tensor, error)) (*tensor.Tensor, error)
}

// Options are a codec's numeric settings by name; a codec documents its own keys and
// defaults and rejects unknown ones.
type Options map[string]float64

// Factory builds a codec from options.
type Factory func(Options) (Codec, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a codec available by name. It panics on a duplicate name and on the
// names reserved for files and plans: "", None and Mixed.
func Register(name string, f Factory) {
	if name == "" || name == None || name == Mixed {
		panic(fmt.Sprintf("compress: codec name %q is reserved", name))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("compress: codec registered twice: " + name)
	}
	factories[name] = f
}

// New builds the codec registered as name.
func New(name string, opts Options) (Codec, error) {
	mu.RLock()
	f, ok := factories[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown compression algorithm %q (known: %v)", name, Names())
	}
	return f(opts)
}

// Names lists the registered codecs in sorted order.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
