package tensor

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the header parser. It must never panic; a file it
// accepts must be fully readable and re-encode to a file with the same contents.
func FuzzOpen(f *testing.F) {
	for _, tensors := range [][]*Tensor{sampleTensors(), shardTensors(), nil} {
		var buf bytes.Buffer
		if err := Encode(&buf, map[string]string{"format": "pt"}, tensors); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(rawFile(`{"b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}, "a": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}  `, make([]byte, 6)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add([]byte{1, 2, 3})

	const name = "fuzz.safetensors"
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := newFile(name, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "safetensors: "+name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var tensors []*Tensor
		for _, info := range sf.Infos() {
			x, err := sf.Read(info.Name)
			if err != nil {
				t.Fatalf("validated file: Read(%q): %v", info.Name, err)
			}
			if _, err := x.Float32s(); err != nil {
				t.Fatalf("validated file: %v", err)
			}
			tensors = append(tensors, x)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, sf.Metadata(), tensors); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := newFile(name, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("re-encoded file does not open: %v", err)
		}
		if !reflect.DeepEqual(again.Metadata(), sf.Metadata()) {
			t.Fatalf("metadata changed: %v -> %v", sf.Metadata(), again.Metadata())
		}
		for i, info := range again.Infos() {
			old := tensors[i]
			x, err := again.Read(info.Name)
			if err != nil || x.Name != old.Name || x.DType != old.DType || !reflect.DeepEqual(x.Shape, old.Shape) || !bytes.Equal(x.Data, old.Data) {
				t.Fatalf("tensor %q changed on re-encode (err %v)", old.Name, err)
			}
		}
	})
}
