package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
)

// maxHeaderBytes caps the JSON header of a safetensors file. The largest real headers
// are a few MB; the reference implementation uses the same 100 MB limit.
const maxHeaderBytes = 100 << 20

// metadataKey is the reserved header key holding the file's string metadata.
const metadataKey = "__metadata__"

// Info describes one tensor in a safetensors file; Begin/End are byte offsets relative to
// the start of the data section (after the 8-byte length + header).
type Info struct {
	Name  string
	DType DType
	Shape []int
	Begin int64
	End   int64
}

// clone returns a copy of i that shares no memory with it.
func (i Info) clone() Info {
	i.Shape = slices.Clone(i.Shape)
	if i.Shape == nil {
		i.Shape = []int{}
	}
	return i
}

// File is an open safetensors file whose header has been validated. Tensors are read on
// demand; Read is safe for concurrent use, Close must not run concurrently with Read.
type File struct {
	path      string
	r         io.ReaderAt
	closer    io.Closer
	dataStart int64 // absolute offset of the data section
	meta      map[string]string
	infos     []Info // sorted by name
	byName    map[string]int
}

// Open opens the safetensors file at path and validates its header (see the package
// documentation for the checks). The file stays open until Close. Errors name the file
// and the problem; I/O errors are wrapped (errors.Is(err, fs.ErrNotExist) works).
func Open(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		osf.Close()
		return nil, fmt.Errorf("safetensors: %s: not a regular file (mode %s)", path, st.Mode())
	}
	f, err := newFile(path, osf, st.Size())
	if err != nil {
		osf.Close()
		return nil, err
	}
	f.closer = osf
	return f, nil
}

// newFile parses and validates the safetensors file held by r (size bytes). path is used
// in error messages only.
func newFile(path string, r io.ReaderAt, size int64) (*File, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{path}, args...)...)
	}
	if size < 8 {
		return nil, fail("file is %d bytes, shorter than the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if got, err := r.ReadAt(lenBuf[:], 0); got < len(lenBuf) {
		return nil, fail("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	switch {
	case n == 0:
		return nil, fail("header length is 0")
	case n > uint64(size-8):
		return nil, fail("header length %d exceeds file size %d", n, size)
	case n > maxHeaderBytes:
		return nil, fail("header length %d exceeds the limit of %d bytes", n, maxHeaderBytes)
	}
	header := make([]byte, n)
	if got, err := r.ReadAt(header, 8); got < len(header) {
		return nil, fail("read header: %w", err)
	}
	dataStart := 8 + int64(n)
	dataLen := size - dataStart

	f := &File{path: path, r: r, dataStart: dataStart, meta: map[string]string{}}
	err := forEachMember(header, func(key string, value json.RawMessage) error {
		if key == metadataKey {
			return parseMetadata(value, f.meta)
		}
		info, err := parseEntry(key, value)
		if err != nil {
			return err
		}
		if err := checkRange(info, dataLen); err != nil {
			return err
		}
		f.infos = append(f.infos, info)
		return nil
	})
	if err != nil {
		return nil, fail("header: %w", err)
	}
	if err := checkTiling(f.infos, dataLen); err != nil {
		return nil, fail("%w", err)
	}
	sort.Slice(f.infos, func(i, j int) bool { return f.infos[i].Name < f.infos[j].Name })
	f.byName = make(map[string]int, len(f.infos))
	for i, info := range f.infos {
		f.byName[info.Name] = i
	}
	return f, nil
}

// parseMetadata decodes the "__metadata__" object into meta, requiring string values.
func parseMetadata(value json.RawMessage, meta map[string]string) error {
	err := forEachMember(value, func(key string, v json.RawMessage) error {
		if len(v) == 0 || v[0] != '"' {
			return fmt.Errorf("value of %q is %s, not a string", key, abbreviate(v))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("value of %q: %w", key, err)
		}
		meta[key] = s
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", metadataKey, err)
	}
	return nil
}

// parseEntry decodes one tensor entry {"dtype", "shape", "data_offsets"}. Missing and
// unknown fields are errors.
func parseEntry(name string, value json.RawMessage) (Info, error) {
	info := Info{Name: name}
	var haveDType, haveShape, haveOffsets bool
	err := forEachMember(value, func(key string, v json.RawMessage) error {
		switch key {
		case "dtype":
			haveDType = true
			if len(v) == 0 || v[0] != '"' {
				return fmt.Errorf("dtype is %s, not a string", abbreviate(v))
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("dtype: %w", err)
			}
			info.DType = DType(s)
		case "shape":
			haveShape = true
			dims, err := intArray(v)
			if err != nil {
				return fmt.Errorf("shape: %w", err)
			}
			info.Shape = make([]int, len(dims))
			for i, d := range dims {
				if d < 0 {
					return fmt.Errorf("shape %v has negative dimension %d", dims, d)
				}
				if int64(int(d)) != d {
					return fmt.Errorf("shape %v: dimension %d does not fit in an int", dims, d)
				}
				info.Shape[i] = int(d)
			}
		case "data_offsets":
			haveOffsets = true
			offs, err := intArray(v)
			if err != nil {
				return fmt.Errorf("data_offsets: %w", err)
			}
			if len(offs) != 2 {
				return fmt.Errorf("data_offsets %v: want [begin, end]", offs)
			}
			if offs[0] < 0 || offs[0] > offs[1] {
				return fmt.Errorf("data_offsets %v: want 0 <= begin <= end", offs)
			}
			info.Begin, info.End = offs[0], offs[1]
		default:
			return fmt.Errorf("unknown field %q", key)
		}
		return nil
	})
	switch {
	case err != nil:
	case !haveDType:
		err = errors.New(`missing "dtype"`)
	case !haveShape:
		err = errors.New(`missing "shape"`)
	case !haveOffsets:
		err = errors.New(`missing "data_offsets"`)
	case !info.DType.Valid():
		err = fmt.Errorf("unknown dtype %q (supported: F32, F16, BF16, I8, U8)", info.DType)
	}
	if err != nil {
		return Info{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	return info, nil
}

// intArray decodes a JSON array of integers (rejecting null, fractions and overflow).
func intArray(v json.RawMessage) ([]int64, error) {
	if len(v) == 0 || v[0] != '[' {
		return nil, fmt.Errorf("%s is not an array", abbreviate(v))
	}
	var out []int64
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("%s is not an array of integers: %w", abbreviate(v), err)
	}
	return out, nil
}

// byteSize is the number of bytes of a tensor of dtype d and shape, or an error if it
// does not fit in an int64.
func byteSize(d DType, shape []int) (int64, error) {
	n := int64(d.Size())
	for _, dim := range shape {
		if dim < 0 {
			return 0, fmt.Errorf("shape %v has negative dimension %d", shape, dim)
		}
		if dim != 0 && n > math.MaxInt64/int64(dim) {
			return 0, fmt.Errorf("dtype %s × shape %v overflows int64 bytes", d, shape)
		}
		n *= int64(dim)
	}
	return n, nil
}

// checkRange checks that info's byte range lies inside the data section and has exactly
// the length its dtype and shape need.
func checkRange(info Info, dataLen int64) error {
	if info.End > dataLen {
		return fmt.Errorf("tensor %q: data_offsets [%d, %d] end beyond the data section of %d bytes", info.Name, info.Begin, info.End, dataLen)
	}
	want, err := byteSize(info.DType, info.Shape)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", info.Name, err)
	}
	if got := info.End - info.Begin; got != want {
		return fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes but dtype %s × shape %v needs %d", info.Name, info.Begin, info.End, got, info.DType, info.Shape, want)
	}
	return nil
}

// checkTiling checks that the byte ranges cover [0, dataLen) exactly once.
func checkTiling(infos []Info, dataLen int64) error {
	order := make([]int, len(infos))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := infos[order[a]], infos[order[b]]
		if x.Begin != y.Begin {
			return x.Begin < y.Begin
		}
		if x.End != y.End {
			return x.End < y.End
		}
		return x.Name < y.Name
	})
	var cursor int64
	prev := ""
	for _, i := range order {
		info := infos[i]
		switch {
		case info.Begin < cursor:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", info.Name, info.Begin, info.End, prev, cursor)
		case info.Begin > cursor:
			return fmt.Errorf("tensor %q: gap of %d bytes before its data_offsets [%d, %d]", info.Name, info.Begin-cursor, info.Begin, info.End)
		}
		cursor = info.End
		prev = info.Name
	}
	if cursor != dataLen {
		return fmt.Errorf("%d trailing bytes after the last tensor (data section is %d bytes, tensors cover %d)", dataLen-cursor, dataLen, cursor)
	}
	return nil
}

// forEachMember calls fn for each member of the JSON object in data, in order. Unlike
// json.Unmarshal into a map it rejects duplicate keys, and it rejects anything after the
// object except whitespace (the header's space padding).
func forEachMember(data []byte, fn func(key string, value json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("not a JSON object (starts with %s)", abbreviate(bytes.TrimSpace(data)))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not valid JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("not valid JSON: object key %v is not a string", tok)
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return fmt.Errorf("not valid JSON: value of %q: %w", key, err)
		}
		if err := fn(key, value); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("found %v", tok)
		}
		return fmt.Errorf("not valid JSON: trailing data after the object: %w", err)
	}
	return nil
}

// abbreviate shows at most 40 bytes of a JSON value for an error message.
func abbreviate(v []byte) string {
	if len(v) == 0 {
		return "empty"
	}
	s := string(v)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// Path is the path the file was opened with.
func (f *File) Path() string { return f.path }

// Metadata returns a copy of the header's "__metadata__" entry; it is empty, never nil,
// when the file has none.
func (f *File) Metadata() map[string]string {
	out := make(map[string]string, len(f.meta))
	for k, v := range f.meta {
		out[k] = v
	}
	return out
}

// Infos describes every tensor in the file, sorted by name.
func (f *File) Infos() []Info {
	out := make([]Info, len(f.infos))
	for i, info := range f.infos {
		out[i] = info.clone()
	}
	return out
}

// Info describes the tensor called name, if the file has one.
func (f *File) Info(name string) (Info, bool) {
	i, ok := f.byName[name]
	if !ok {
		return Info{}, false
	}
	return f.infos[i].clone(), true
}

// Read loads the tensor called name with one ReadAt into a freshly allocated buffer.
// Errors name the file and the tensor.
func (f *File) Read(name string) (*Tensor, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", f.path, name)
	}
	info := f.infos[i]
	data := make([]byte, info.End-info.Begin)
	if len(data) > 0 {
		n, err := f.r.ReadAt(data, f.dataStart+info.Begin)
		if n < len(data) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF // the file shrank since Open
			}
			return nil, fmt.Errorf("safetensors: %s: read tensor %q (%d bytes at offset %d): %w", f.path, name, len(data), f.dataStart+info.Begin, err)
		}
	}
	return &Tensor{Name: info.Name, DType: info.DType, Shape: slices.Clone(info.Shape), Data: data}, nil
}

// Close closes the underlying file. Calling it again is a no-op.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	if err != nil {
		return fmt.Errorf("safetensors: %s: close: %w", f.path, err)
	}
	return nil
}
