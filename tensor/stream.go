package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"

	"github.com/x448/float16"
)

// Streaming access for merges: a tensor is decoded from its file straight into a caller's
// float32 buffer (memory-mapped where the platform allows, else read in chunks), and
// float32 values are encoded into an output file in chunks, so a merge holds its float32
// buffers and nothing else per tensor.

// chunkBytes is the size of the scratch buffer of chunked reads and writes.
const chunkBytes = 1 << 20

// mapWindowBytes is how much of a tensor is mapped at a time.
var mapWindowBytes = 4 << 20 // a variable so tests can use small windows

// minMapBytes is the smallest tensor read through a memory map; smaller ones are one
// ReadAt, which costs less than setting up a mapping.
const minMapBytes = 256 << 10

// ReadFloat32 decodes the tensor called name into dst, which must have exactly as many
// elements as the tensor (F32, F16 and BF16 decode exactly; I8 and U8 as their integer
// values). The tensor's bytes are memory-mapped read-only 4 MiB at a time, each window
// unmapped after decoding, so at most one window of the file is resident in the process
// at a time; where mapping is not possible they are read with ReadAt in 1 MiB chunks. A file that was truncated after
// Open gives an error naming the file and tensor, not a crash. Safe for concurrent use.
func (f *File) ReadFloat32(name string, dst []float32) error {
	i, ok := f.byName[name]
	if !ok {
		return fmt.Errorf("safetensors: %s: no tensor %q", f.path, name)
	}
	info := f.infos[i]
	if n := NumElements(info.Shape); len(dst) != n {
		return fmt.Errorf("safetensors: %s: tensor %q has %d elements, the buffer %d", f.path, name, n, len(dst))
	}
	size := info.DType.Size()
	nbytes := info.End - info.Begin
	off := f.dataStart + info.Begin
	truncated := func(err error) error {
		return fmt.Errorf("safetensors: %s: read tensor %q (%d bytes at offset %d): %w", f.path, name, nbytes, off, err)
	}
	if nbytes == 0 {
		return nil
	}
	osf, isFile := f.r.(*os.File)
	if isFile && nbytes >= minMapBytes {
		// A mapping beyond the end of a file that shrank since Open would fault.
		if st, err := osf.Stat(); err == nil && st.Size() < off+nbytes {
			return truncated(fmt.Errorf("the file is now %d bytes, it was truncated after it was opened: %w", st.Size(), io.ErrUnexpectedEOF))
		}
		// Mapped and decoded a window at a time, each unmapped before the next: mapped
		// file pages count in the process's resident set while they are mapped.
		step := int64(mapWindowBytes / size * size)
		mapped := true
		for done := int64(0); done < nbytes && mapped; {
			n := min(step, nbytes-done)
			data, unmap, ok := mapRange(osf, off+done, n)
			if !ok {
				if done > 0 {
					return truncated(errors.New("mapping the file failed part way"))
				}
				mapped = false
				break
			}
			first := done / int64(size)
			err := decodeMapped(dst[first:first+n/int64(size)], data, info.DType)
			unmap()
			if err != nil {
				return truncated(err)
			}
			done += n
		}
		if mapped {
			return nil
		}
	}
	buf := make([]byte, min(nbytes, chunkBytes/int64(size)*int64(size)))
	for done := int64(0); done < nbytes; {
		chunk := buf[:min(int64(len(buf)), nbytes-done)]
		n, err := f.r.ReadAt(chunk, off+done)
		if n < len(chunk) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return truncated(err)
		}
		first := done / int64(size)
		decodeInto(dst[first:first+int64(len(chunk)/size)], chunk, info.DType)
		done += int64(len(chunk))
	}
	return nil
}

// decodeMapped decodes mapped bytes, turning a fault on the mapping (the file was
// truncated or its disk failed while mapped) into an error.
func decodeMapped(dst []float32, data []byte, dt DType) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("fault reading the mapped file (truncated or unreadable while in use): %v", r)
		}
	}()
	decodeInto(dst, data, dt)
	return nil
}

// decodeInto decodes len(dst) elements of dtype dt from b.
func decodeInto(dst []float32, b []byte, dt DType) {
	switch dt {
	case F32:
		b = b[:4*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		b = b[:2*len(dst)]
		for i := range dst {
			dst[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
		}
	case BF16:
		b = b[:2*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case I8:
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = float32(int8(b[i]))
		}
	case U8:
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = float32(b[i])
		}
	}
}

// encodeInto encodes values as dtype dt (F32, F16 or BF16) into b, exactly as
// FromFloat32 does.
func encodeInto(b []byte, values []float32, dt DType) {
	switch dt {
	case F32:
		for i, v := range values {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range values {
			binary.LittleEndian.PutUint16(b[2*i:], float16.Fromfloat32(v).Bits())
		}
	case BF16:
		for i, v := range values {
			binary.LittleEndian.PutUint16(b[2*i:], float32ToBF16(v))
		}
	}
}

// Info describes the tensor called name, if the checkpoint has one (Begin and End are
// relative to its own shard's data section).
func (c *Checkpoint) Info(name string) (Info, bool) {
	f, ok := c.owner[name]
	if !ok {
		return Info{}, false
	}
	return f.Info(name)
}

// Path is the path the checkpoint was opened with (a file or a directory).
func (c *Checkpoint) Path() string { return c.path }

// ShardPath is the file holding the tensor called name, or "" if there is none.
func (c *Checkpoint) ShardPath(name string) string {
	if f, ok := c.owner[name]; ok {
		return f.path
	}
	return ""
}

// ReadFloat32 decodes the tensor called name into dst, as File.ReadFloat32 does. Errors
// name the shard file and the tensor.
func (c *Checkpoint) ReadFloat32(name string, dst []float32) error {
	f, ok := c.owner[name]
	if !ok {
		return fmt.Errorf("safetensors: %s: no tensor %q", c.path, name)
	}
	return f.ReadFloat32(name, dst)
}

// WriteFloat32 appends the next tensor, called name, encoding values to the dtype the
// header gives it (F32, F16 or BF16; BF16 rounds to nearest even) in chunks, so no
// encoded copy of the tensor is held in memory. The bytes are those Write of
// FromFloat32(name, dtype, shape, values) would write.
func (w *Writer) WriteFloat32(name string, values []float32) error {
	switch {
	case w.err != nil:
		return w.err
	case w.closed:
		return w.fail(w.errorf("Write after Close"))
	case w.next == len(w.infos):
		return w.fail(w.errorf("tensor %q: all %d tensors of the header are already written", name, len(w.infos)))
	}
	want := w.infos[w.next]
	switch {
	case name != want.Name:
		return w.fail(w.errorf("tensor %q written out of order: tensor %d of %d must be %q", name, w.next+1, len(w.infos), want.Name))
	case want.DType != F32 && want.DType != F16 && want.DType != BF16:
		return w.fail(w.errorf("tensor %q: dtype %s is not a float type; it cannot be written from float32 values", name, want.DType))
	case len(values) != NumElements(want.Shape):
		return w.fail(w.errorf("tensor %q: %d values, but shape %v has %d elements", name, len(values), want.Shape, NumElements(want.Shape)))
	}
	size := want.DType.Size()
	per := max(1, chunkBytes/size)
	buf := make([]byte, min(len(values), per)*size)
	for len(values) > 0 {
		n := min(len(values), per)
		encodeInto(buf, values[:n], want.DType)
		if _, err := w.w.Write(buf[:n*size]); err != nil {
			return w.fail(w.errorf("write tensor %q: %w", name, err))
		}
		values = values[n:]
	}
	w.next++
	return nil
}
