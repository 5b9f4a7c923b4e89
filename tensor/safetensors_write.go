package tensor

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Writer streams a safetensors file: NewWriter writes the header, then Write appends the
// tensors one at a time, so only one tensor needs to be in memory. Writer does not buffer
// or close the underlying io.Writer. After any error the Writer is unusable and keeps
// returning that error.
type Writer struct {
	w      io.Writer
	path   string // for error messages; "" when unknown
	infos  []Info // in write order, with offsets
	next   int    // index in infos of the next tensor to write
	closed bool
	err    error
}

// NewWriter validates infos (known dtypes, non-negative shapes, unique names, valid UTF-8,
// no tensor called "__metadata__"), lays the tensors out in the given order, and writes
// the header to w: "__metadata__" first (omitted when metadata is empty) and then the
// tensors sorted by name, padded with spaces to a multiple of 8 bytes. Begin and End of
// infos are ignored; they are computed.
func NewWriter(w io.Writer, metadata map[string]string, infos []Info) (*Writer, error) {
	return newWriter(w, "", metadata, infos)
}

func newWriter(w io.Writer, path string, metadata map[string]string, infos []Info) (*Writer, error) {
	sw := &Writer{w: w, path: path}
	layout, header, err := buildHeader(metadata, infos)
	if err != nil {
		return nil, sw.errorf("%w", err)
	}
	if _, err := w.Write(header); err != nil {
		return nil, sw.errorf("write header: %w", err)
	}
	sw.infos = layout
	return sw, nil
}

func (w *Writer) errorf(format string, args ...any) error {
	if w.path == "" {
		return fmt.Errorf("safetensors: "+format, args...)
	}
	return fmt.Errorf("safetensors: %s: "+format, append([]any{w.path}, args...)...)
}

// fail records err as the Writer's sticky error and returns it.
func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

// Write appends the data of the next tensor. t must be the next tensor in the order of
// the infos given to NewWriter and match its name, dtype, shape and byte length.
func (w *Writer) Write(t *Tensor) error {
	switch {
	case w.err != nil:
		return w.err
	case w.closed:
		return w.fail(w.errorf("Write after Close"))
	case t == nil:
		return w.fail(w.errorf("Write of a nil tensor"))
	case w.next == len(w.infos):
		return w.fail(w.errorf("tensor %q: all %d tensors of the header are already written", t.Name, len(w.infos)))
	}
	want := w.infos[w.next]
	switch {
	case t.Name != want.Name:
		return w.fail(w.errorf("tensor %q written out of order: tensor %d of %d must be %q", t.Name, w.next+1, len(w.infos), want.Name))
	case t.DType != want.DType:
		return w.fail(w.errorf("tensor %q: dtype %s, but the header says %s", t.Name, t.DType, want.DType))
	case !slices.Equal(t.Shape, want.Shape):
		return w.fail(w.errorf("tensor %q: shape %v, but the header says %v", t.Name, t.Shape, want.Shape))
	case int64(len(t.Data)) != want.End-want.Begin:
		return w.fail(w.errorf("tensor %q: %d bytes of data, but dtype %s × shape %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, want.End-want.Begin))
	}
	if _, err := w.w.Write(t.Data); err != nil {
		return w.fail(w.errorf("write tensor %q: %w", t.Name, err))
	}
	w.next++
	return nil
}

// Close reports an error if not every tensor of the header was written (the output is
// then not a valid file). It does not close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	if missing := len(w.infos) - w.next; missing > 0 {
		return w.fail(w.errorf("Close after %d of %d tensors: %q and %d more not written", w.next, len(w.infos), w.infos[w.next].Name, missing-1))
	}
	return nil
}

// buildHeader validates metadata and infos and returns the layout (infos in the given
// order with their offsets) and the encoded 8-byte length plus padded JSON header.
func buildHeader(metadata map[string]string, infos []Info) ([]Info, []byte, error) {
	keys := make([]string, 0, len(metadata))
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, fmt.Errorf("metadata %q: key or value is not valid UTF-8", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)

	layout := make([]Info, len(infos))
	seen := make(map[string]bool, len(infos))
	var offset int64
	for i, info := range infos {
		switch {
		case info.Name == metadataKey:
			return nil, nil, fmt.Errorf("tensor name %q is reserved for metadata", metadataKey)
		case !utf8.ValidString(info.Name):
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", info.Name)
		case seen[info.Name]:
			return nil, nil, fmt.Errorf("duplicate tensor name %q", info.Name)
		case !info.DType.Valid():
			return nil, nil, fmt.Errorf("tensor %q: unknown dtype %q (supported: F32, F16, BF16, I8, U8)", info.Name, info.DType)
		}
		seen[info.Name] = true
		n, err := byteSize(info.DType, info.Shape)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", info.Name, err)
		}
		if offset > math.MaxInt64-n {
			return nil, nil, fmt.Errorf("tensor %q: data section overflows int64 bytes", info.Name)
		}
		layout[i] = Info{Name: info.Name, DType: info.DType, Shape: slices.Clone(info.Shape), Begin: offset, End: offset + n}
		offset += n
	}
	byName := make([]int, len(layout))
	for i := range byName {
		byName[i] = i
	}
	sort.Slice(byName, func(a, b int) bool { return layout[byName[a]].Name < layout[byName[b]].Name })

	b := make([]byte, 8, 8+64+64*len(layout))
	b = append(b, '{')
	if len(keys) > 0 {
		b = appendJSONString(b, metadataKey)
		b = append(b, ":{"...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, metadata[k])
		}
		b = append(b, '}')
	}
	for i, j := range byName {
		info := layout[j]
		if i > 0 || len(keys) > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, info.Name)
		b = append(b, `:{"dtype":`...)
		b = appendJSONString(b, string(info.DType))
		b = append(b, `,"shape":[`...)
		for k, d := range info.Shape {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, info.Begin, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, info.End, 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	// Pad with spaces so the data section starts 8-byte aligned.
	for (len(b)-8)%8 != 0 {
		b = append(b, ' ')
	}
	binary.LittleEndian.PutUint64(b, uint64(len(b)-8))
	return layout, b, nil
}

// appendJSONString appends s (valid UTF-8) as a JSON string, escaping only what JSON
// requires: quote, backslash and control characters.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Encode writes metadata and tensors as one safetensors file to w, streaming each
// tensor's data straight from its Data (the file is never assembled in memory). The
// output depends only on the set of tensors and the metadata, not on the order of
// tensors: the header lists "__metadata__" first (omitted when metadata is empty) and then
// the tensors sorted by name, padded with spaces to a multiple of 8 bytes, and the data
// is laid out in that same order. Errors name the offending tensor.
func Encode(w io.Writer, metadata map[string]string, tensors []*Tensor) error {
	return encode(w, "", metadata, tensors)
}

func encode(w io.Writer, path string, metadata map[string]string, tensors []*Tensor) error {
	label := &Writer{path: path} // only for error messages
	sorted := make([]*Tensor, len(tensors))
	for i, t := range tensors {
		if t == nil {
			return label.errorf("tensor %d of %d is nil", i+1, len(tensors))
		}
		sorted[i] = t
	}
	slices.SortStableFunc(sorted, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	infos := make([]Info, len(sorted))
	for i, t := range sorted {
		infos[i] = Info{Name: t.Name, DType: t.DType, Shape: t.Shape}
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	sw, err := newWriter(bw, path, metadata, infos)
	if err != nil {
		return err
	}
	for _, t := range sorted {
		if err := sw.Write(t); err != nil {
			return err
		}
	}
	if err := sw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return label.errorf("write: %w", err)
	}
	return nil
}

// WriteFile writes metadata and tensors as Encode does to the file at path, atomically:
// the bytes go to a temporary file in the same directory, which is fsynced and renamed
// over path. On error no file is left behind and an existing file at path is untouched.
func WriteFile(path string, metadata map[string]string, tensors []*Tensor) error {
	return WriteAtomic(path, func(w io.Writer) error {
		return encode(w, path, metadata, tensors)
	})
}

// WriteAtomic creates path (mode 0644) with the bytes fill writes, through a buffered
// temporary file in the same directory that is fsynced and renamed over path only when
// fill succeeds; the directory is then synced (best effort, some file systems refuse).
// Readers see the old file or the new one, never a part; on any error nothing is left
// behind. Errors from fill are returned as they are.
func WriteAtomic(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
