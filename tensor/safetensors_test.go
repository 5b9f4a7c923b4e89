package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// rawFile assembles a safetensors file by hand: length, header exactly as given, data.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func writeTemp(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustOpen(t testing.TB, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sampleTensors covers every dtype, a scalar and an empty tensor.
func sampleTensors() []*Tensor {
	return []*Tensor{
		FromFloat32("layers.0.weight", F32, []int{2, 3}, []float32{1, -2.5, 3.25, 0, float32(math.Inf(-1)), 1e-30}),
		FromFloat32("layers.0.half", F16, []int{4}, []float32{1, -2.5, 65504, float32(math.Ldexp(1, -24))}),
		FromFloat32("layers.1.bf", BF16, []int{2, 2}, []float32{1, -2.5, 0.5, 3}),
		{Name: "quant.codes", DType: I8, Shape: []int{5}, Data: []byte{0x00, 0x01, 0x7F, 0x80, 0xFF}},
		{Name: "quant.bytes", DType: U8, Shape: []int{1, 3}, Data: []byte{0, 128, 255}},
		{Name: "scale", DType: F32, Shape: []int{}, Data: []byte{0x00, 0x00, 0xC0, 0x3F}}, // 1.5
		{Name: "empty", DType: F16, Shape: []int{0, 3}, Data: []byte{}},
	}
}

func TestRoundTrip(t *testing.T) {
	meta := map[string]string{"format": "pt", "quote \"and\" newline\n": "ünïcødé ✓", "empty": ""}
	in := sampleTensors()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := WriteFile(path, meta, in); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, path)
	if f.Path() != path {
		t.Errorf("Path() = %q, want %q", f.Path(), path)
	}
	if got := f.Metadata(); !reflect.DeepEqual(got, meta) {
		t.Errorf("Metadata() = %q, want %q", got, meta)
	}

	// Infos sorted by name, laid out back to back in that order.
	infos := f.Infos()
	wantNames := []string{"empty", "layers.0.half", "layers.0.weight", "layers.1.bf", "quant.bytes", "quant.codes", "scale"}
	var names []string
	var offset int64
	for _, info := range infos {
		names = append(names, info.Name)
		if info.Begin != offset {
			t.Errorf("%s: Begin %d, want %d", info.Name, info.Begin, offset)
		}
		offset = info.End
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("Infos names = %q, want %q", names, wantNames)
	}

	for _, want := range in {
		got, err := f.Read(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("Read(%q) = %s %v % x, want %s %v % x", want.Name, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
		}
		info, ok := f.Info(want.Name)
		if !ok || info.DType != want.DType || !slices.Equal(info.Shape, want.Shape) || info.End-info.Begin != int64(len(want.Data)) {
			t.Errorf("Info(%q) = %+v, %v", want.Name, info, ok)
		}
	}

	// Values a user would see, decoded from what came back from disk.
	checkValues := func(name string, want []float32) {
		t.Helper()
		x, err := f.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s[%d] = %g, want %g", name, i, got[i], want[i])
			}
		}
	}
	checkValues("layers.0.weight", []float32{1, -2.5, 3.25, 0, float32(math.Inf(-1)), 1e-30})
	checkValues("layers.0.half", []float32{1, -2.5, 65504, float32(math.Ldexp(1, -24))})
	checkValues("layers.1.bf", []float32{1, -2.5, 0.5, 3})
	checkValues("quant.codes", []float32{0, 1, 127, -128, -1})
	checkValues("quant.bytes", []float32{0, 128, 255})
	checkValues("scale", []float32{1.5})

	if _, err := f.Read("nope"); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Read(missing) error %v should name the file and tensor", err)
	}
	if _, ok := f.Info("nope"); ok {
		t.Error("Info(missing) reported ok")
	}
	// Returned values are copies: mutating them does not change the File.
	infos[0].Shape = append(infos[0].Shape, 99)
	f.Metadata()["format"] = "changed"
	if f.Infos()[0].Shape[1] != 3 || f.Metadata()["format"] != "pt" {
		t.Error("Infos/Metadata share memory with the File")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read("scale"); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestEncodeExactBytes(t *testing.T) {
	var buf bytes.Buffer
	err := Encode(&buf, map[string]string{"k": "v"}, []*Tensor{
		{Name: "b", DType: U8, Shape: []int{2}, Data: []byte{1, 2}},
		{Name: "a", DType: I8, Shape: []int{}, Data: []byte{0xFF}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 129 bytes of JSON padded with 7 spaces to 136 = 0x88.
	want := []byte{0x88, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, `{"__metadata__":{"k":"v"},"a":{"dtype":"I8","shape":[],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}       `...)
	want = append(want, 0xFF, 1, 2)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Encode =\n%q\nwant\n%q", buf.Bytes(), want)
	}

	// No metadata: the key is omitted; no tensors: an empty object.
	buf.Reset()
	if err := Encode(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "{}      "...); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Encode(empty) = %q, want %q", buf.Bytes(), want)
	}
}

func TestEncodeDeterministic(t *testing.T) {
	meta := map[string]string{"z": "1", "a": "2", "m": "3", "format": "pt"}
	in := sampleTensors()
	var first, second bytes.Buffer
	if err := Encode(&first, meta, in); err != nil {
		t.Fatal(err)
	}
	rev := slices.Clone(in)
	slices.Reverse(rev)
	if err := Encode(&second, map[string]string{"format": "pt", "m": "3", "a": "2", "z": "1"}, rev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("Encode output depends on input order")
	}
	headerLen := binary.LittleEndian.Uint64(first.Bytes())
	if headerLen%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", headerLen)
	}
	header := string(first.Bytes()[8 : 8+headerLen])
	if !strings.HasPrefix(header, `{"__metadata__":{"a":"2","format":"pt","m":"3","z":"1"},"empty":`) {
		t.Errorf("header does not start with sorted metadata then the first tensor: %s", header)
	}
	// The input was not reordered in place.
	if in[0].Name != "layers.0.weight" {
		t.Error("Encode reordered its input slice")
	}
}

func TestEncodeRejectsBadTensors(t *testing.T) {
	ok := FromFloat32("ok", F32, []int{1}, []float32{1})
	cases := []struct {
		name    string
		tensors []*Tensor
		want    string
	}{
		{"duplicate", []*Tensor{ok, ok}, `duplicate tensor name "ok"`},
		{"unknown dtype", []*Tensor{{Name: "x", DType: "I64", Shape: []int{1}, Data: make([]byte, 8)}}, `tensor "x": unknown dtype "I64"`},
		{"short data", []*Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, `tensor "x": 4 bytes of data, but dtype F32 × shape [2] needs 8`},
		{"negative dim", []*Tensor{{Name: "x", DType: U8, Shape: []int{-1}}}, "negative dimension -1"},
		{"reserved name", []*Tensor{{Name: "__metadata__", DType: U8, Shape: []int{0}}}, "reserved"},
		{"invalid UTF-8", []*Tensor{{Name: "\xff", DType: U8, Shape: []int{0}}}, "not valid UTF-8"},
		{"nil", []*Tensor{ok, nil}, "tensor 2 of 2 is nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Encode(&bytes.Buffer{}, nil, c.tensors)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Encode error = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	good := []*Tensor{FromFloat32("w", F32, []int{2}, []float32{1, 2})}
	if err := WriteFile(path, nil, good); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := []*Tensor{{Name: "w", DType: F32, Shape: []int{3}, Data: make([]byte, 4)}}
	err := WriteFile(path, nil, bad)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("WriteFile(bad) error = %v, want one naming %s", err, path)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed WriteFile changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q after a failed write, want only model.safetensors", names)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.safetensors"), nil, good); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

// A file laid out the way Hugging Face's writer does it: header keys not sorted, the
// metadata not first, offsets in a different order than the names, and the header padded
// with spaces to a length that is not a multiple of 8.
func TestReadHuggingFaceLayout(t *testing.T) {
	header := `{"b.weight": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}, ` +
		`"__metadata__": {"format": "pt"}, ` +
		`"a.bias": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}   `
	data := []byte{
		0x80, 0x3F, 0x20, 0xC0, 0x00, 0x3F, 0x40, 0x40, // a.bias BF16: 1, -2.5, 0.5, 3
		0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x80, 0xBE, // b.weight F32: 1.5, -0.25
	}
	f := mustOpen(t, writeTemp(t, "hf.safetensors", rawFile(header, data)))
	want := []Info{
		{Name: "a.bias", DType: BF16, Shape: []int{2, 2}, Begin: 0, End: 8},
		{Name: "b.weight", DType: F32, Shape: []int{2}, Begin: 8, End: 16},
	}
	if got := f.Infos(); !reflect.DeepEqual(got, want) {
		t.Errorf("Infos() = %+v, want %+v", got, want)
	}
	if got := f.Metadata(); !reflect.DeepEqual(got, map[string]string{"format": "pt"}) {
		t.Errorf("Metadata() = %v", got)
	}
	for name, want := range map[string][]float32{"a.bias": {1, -2.5, 0.5, 3}, "b.weight": {1.5, -0.25}} {
		x, err := f.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestOpenCorrupt(t *testing.T) {
	f32x2 := make([]byte, 8)
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"truncated", []byte{1, 2, 3, 4, 5}, "file is 5 bytes, shorter than the 8-byte header length"},
		{"empty file", nil, "file is 0 bytes"},
		{"header length too large", binary.LittleEndian.AppendUint64(nil, math.MaxInt64), "header length 9223372036854775807 exceeds file size 8"},
		{"header length beyond uint63", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "header length 18446744073709551615 exceeds file size 8"},
		{"header length zero", binary.LittleEndian.AppendUint64(nil, 0), "header length is 0"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 20), "{}"...), "header length 20 exceeds file size 10"},
		{"bad JSON", rawFile(`{"a": {"dtype": "F32",`, nil), "not valid JSON"},
		{"not an object", rawFile(`[1, 2]`, nil), "not a JSON object"},
		{"trailing JSON", rawFile(`{} {}`, nil), "trailing data after the object"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}`, f32x2), `tensor "a": unknown dtype "Q4"`},
		{"dtype not a string", rawFile(`{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, f32x2), `tensor "a": dtype is 4, not a string`},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32x2), `tensor "a": shape [-2] has negative dimension -2`},
		{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, f32x2), `tensor "a": shape: [2.5] is not an array of integers`},
		{"null shape", rawFile(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,8]}}`, f32x2), `tensor "a": shape: null is not an array`},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, f32x2), `tensor "a": missing "shape"`},
		{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}}`, f32x2), `tensor "a": unknown field "stride"`},
		{"offsets not a pair", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`, f32x2), `tensor "a": data_offsets [0]: want [begin, end]`},
		{"begin after end", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, f32x2), `tensor "a": data_offsets [8 0]: want 0 <= begin <= end`},
		{"negative begin", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, f32x2), `want 0 <= begin <= end`},
		{"end beyond data", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32x2), `tensor "a": data_offsets [0, 16] end beyond the data section of 8 bytes`},
		{"size not dtype × shape", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32x2), `tensor "a": data_offsets [0, 8] hold 8 bytes but dtype F32 × shape [3] needs 12`},
		{"shape overflows", rawFile(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, f32x2), `overflows int64`},
		{"overlapping offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), `tensor "b": data_offsets [4, 12] overlap tensor "a", which ends at 8`},
		{"same offsets twice", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, f32x2), `overlap tensor "a"`},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), `tensor "b": gap of 4 bytes before its data_offsets [8, 12]`},
		{"gap at start", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2), `tensor "a": gap of 4 bytes`},
		{"trailing bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32x2), "4 trailing bytes after the last tensor"},
		{"data but no tensors", rawFile(`{}`, f32x2), "8 trailing bytes"},
		{"metadata value not a string", rawFile(`{"__metadata__":{"epochs":3}}`, nil), `__metadata__: value of "epochs" is 3, not a string`},
		{"metadata not an object", rawFile(`{"__metadata__":"pt"}`, nil), `__metadata__: not a JSON object`},
		{"duplicate tensor", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}), `duplicate key "a"`},
		{"duplicate metadata key", rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `__metadata__: duplicate key "k"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "bad.safetensors", c.content)
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error mentioning %q", c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "safetensors: "+path+": ") {
				t.Errorf("error %q does not start with the file path", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not mention %q", msg, c.want)
			}
		})
	}
}

func TestOpenHeaderCap(t *testing.T) {
	// A sparse 200 MB file claiming a 150 MB header: rejected before the header is read.
	path := filepath.Join(t.TempDir(), "huge.safetensors")
	if err := os.WriteFile(path, binary.LittleEndian.AppendUint64(nil, 150<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 200<<20); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "header length 157286400 exceeds the limit of 104857600 bytes") {
		t.Errorf("Open error = %v", err)
	}
}

func TestOpenMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "nope.safetensors"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Open(dir) = %v", err)
	}
}

func TestReadTruncatedAfterOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(path, nil, []*Tensor{FromFloat32("w", F32, []int{4}, []float32{1, 2, 3, 4})}); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, path)
	st, _ := os.Stat(path)
	if err := os.Truncate(path, st.Size()-2); err != nil {
		t.Fatal(err)
	}
	_, err := f.Read("w")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Errorf("Read of a truncated file = %v, want an error naming file and tensor", err)
	}
}

func TestWriterStreaming(t *testing.T) {
	a := FromFloat32("a", F32, []int{2}, []float32{1, 2})
	b := &Tensor{Name: "b", DType: U8, Shape: []int{3}, Data: []byte{7, 8, 9}}
	c := FromFloat32("c", BF16, []int{1}, []float32{-2.5})
	infoOf := func(ts ...*Tensor) []Info {
		var out []Info
		for _, t := range ts {
			out = append(out, Info{Name: t.Name, DType: t.DType, Shape: t.Shape})
		}
		return out
	}
	meta := map[string]string{"k": "v"}

	t.Run("sorted order matches Encode", func(t *testing.T) {
		var streamed, encoded bytes.Buffer
		w, err := NewWriter(&streamed, meta, infoOf(a, b, c))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []*Tensor{a, b, c} {
			if err := w.Write(x); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := Encode(&encoded, meta, []*Tensor{c, a, b}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(streamed.Bytes(), encoded.Bytes()) {
			t.Error("Writer output differs from Encode output")
		}
	})

	t.Run("given order sets the layout", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, nil, infoOf(c, a, b))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []*Tensor{c, a, b} {
			if err := w.Write(x); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f := mustOpen(t, writeTemp(t, "s.safetensors", buf.Bytes()))
		want := []Info{
			{Name: "a", DType: F32, Shape: []int{2}, Begin: 2, End: 10},
			{Name: "b", DType: U8, Shape: []int{3}, Begin: 10, End: 13},
			{Name: "c", DType: BF16, Shape: []int{1}, Begin: 0, End: 2},
		}
		if got := f.Infos(); !reflect.DeepEqual(got, want) {
			t.Errorf("Infos() = %+v, want %+v", got, want)
		}
		for _, x := range []*Tensor{a, b, c} {
			got, err := f.Read(x.Name)
			if err != nil || !bytes.Equal(got.Data, x.Data) {
				t.Errorf("Read(%q) = % x, %v; want % x", x.Name, got.Data, err, x.Data)
			}
		}
		header := buf.String()[8:]
		if ia, ic := strings.Index(header, `"a"`), strings.Index(header, `"c"`); ia > ic {
			t.Error("header keys are not sorted by name")
		}
	})

	t.Run("order enforced", func(t *testing.T) {
		w, err := NewWriter(&bytes.Buffer{}, nil, infoOf(a, b))
		if err != nil {
			t.Fatal(err)
		}
		err = w.Write(b)
		if err == nil || !strings.Contains(err.Error(), `tensor "b" written out of order: tensor 1 of 2 must be "a"`) {
			t.Errorf("Write out of order = %v", err)
		}
		if err2 := w.Write(a); err2 != err {
			t.Errorf("Write after an error = %v, want the same error", err2)
		}
	})

	t.Run("mismatches rejected", func(t *testing.T) {
		for _, x := range []*Tensor{
			{Name: "a", DType: F16, Shape: []int{2}, Data: make([]byte, 4)},
			{Name: "a", DType: F32, Shape: []int{1, 2}, Data: make([]byte, 8)},
			{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)},
		} {
			w, err := NewWriter(&bytes.Buffer{}, nil, infoOf(a))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(x); err == nil || !strings.Contains(err.Error(), `tensor "a"`) {
				t.Errorf("Write(%s %v, %d bytes) = %v, want an error", x.DType, x.Shape, len(x.Data), err)
			}
		}
	})

	t.Run("Close detects missing", func(t *testing.T) {
		w, err := NewWriter(&bytes.Buffer{}, nil, infoOf(a, b, c))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(a); err != nil {
			t.Fatal(err)
		}
		err = w.Close()
		if err == nil || !strings.Contains(err.Error(), `Close after 1 of 3 tensors: "b" and 1 more not written`) {
			t.Errorf("Close = %v", err)
		}
	})

	t.Run("too many", func(t *testing.T) {
		w, err := NewWriter(&bytes.Buffer{}, nil, infoOf(a))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(a); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(a); err == nil || !strings.Contains(err.Error(), "already written") {
			t.Errorf("extra Write = %v", err)
		}
	})

	t.Run("bad infos", func(t *testing.T) {
		if _, err := NewWriter(&bytes.Buffer{}, nil, infoOf(a, a)); err == nil || !strings.Contains(err.Error(), `duplicate tensor name "a"`) {
			t.Errorf("NewWriter(duplicate) = %v", err)
		}
		if _, err := NewWriter(&bytes.Buffer{}, nil, []Info{{Name: "x", DType: "F64", Shape: []int{1}}}); err == nil || !strings.Contains(err.Error(), `unknown dtype "F64"`) {
			t.Errorf("NewWriter(F64) = %v", err)
		}
	})
}
