package onnxedit

import (
	"errors"
	"fmt"
	"io"
)

// Reading a model without holding it. A source hands out the bytes of file
// ranges, from memory or through an io.ReaderAt; the parser walks the
// ModelProto and its GraphProto by tags and length prefixes, reads the small
// fields it needs (nodes, value infos, opset imports, the names of
// initializers) and skips the rest by its length, so planning a rewrite of a
// 540 MB decoder reads 0.6 MB of it.

const (
	// minWindow is the least a read through an io.ReaderAt asks for, after
	// a skip: enough for a large initializer's header (dims, data type,
	// name, raw_data's tag and length: 35 to 44 bytes in the SmolVLM
	// decoders), so that skipping its payload costs one read.
	minWindow = 256
	// maxWindow bounds the read-ahead of a run of reads: what a run reads
	// past its end, into the tensor data that follows the nodes. The nodes
	// of a full-size decoder (400 kB) take a dozen reads.
	maxWindow = 64 << 10
	// maxHeaderLen is the most a field's tag and its varint value or length
	// take.
	maxHeaderLen = 2 * maxVarintLen
)

// source is a model file to read: in memory, or through an io.ReaderAt in
// windows.
type source struct {
	mem  []byte // the whole file, when it is in memory
	r    io.ReaderAt
	size int64
	// win holds the file's bytes from winOff: the last read.
	win    []byte
	winOff int64
	// A run is a sequence of reads, each starting at or before the end of
	// what the one before handed out (used); it began at run. A window reads
	// ahead as much as the run has consumed so far, as a file system's
	// readahead does, so the nodes, which are read one after the other,
	// take a few growing reads, and a skipped payload starts a new run at
	// minWindow.
	run, used int64
}

// newSource reads the size bytes of r.
func newSource(r io.ReaderAt, size int64) *source {
	return &source{r: r, size: size}
}

// memSource reads b; the bytes it hands out are slices of b, not copies.
func memSource(b []byte) *source {
	return &source{mem: b, size: int64(len(b))}
}

// readError is a failure of the io.ReaderAt, as opposed to bytes that do
// not parse.
type readError struct {
	off, n int64
	err    error
}

func (e *readError) Error() string {
	return fmt.Sprintf("read %d bytes at byte %d: %v", e.n, e.off, e.err)
}

func (e *readError) Unwrap() error { return e.err }

// isReadError reports whether err comes from the io.ReaderAt.
func isReadError(err error) bool {
	var re *readError
	return errors.As(err, &re)
}

// bytes returns the n bytes of the file at off. They stay valid, and must
// not be modified: later reads go to new windows.
func (s *source) bytes(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size || n > s.size-off {
		return nil, fmt.Errorf("%w: %d bytes at byte %d are past the end of the file (%d bytes)", errWire, n, off, s.size)
	}
	if s.mem != nil {
		return s.mem[off : off+n : off+n], nil
	}
	if off < s.run || off > s.used {
		s.run, s.used = off, off
	}
	if off < s.winOff || off+n > s.winOff+int64(len(s.win)) {
		if err := s.fill(off, n); err != nil {
			return nil, err
		}
	}
	s.used = max(s.used, off+n)
	i := off - s.winOff
	return s.win[i : i+n : i+n], nil
}

// fill reads a new window at off of at least n bytes.
func (s *source) fill(off, n int64) error {
	ahead := min(max(off-s.run, minWindow), maxWindow)
	buf := make([]byte, min(max(n, ahead), s.size-off))
	k, err := s.r.ReadAt(buf, off)
	if k < len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return &readError{off, int64(len(buf)), err}
	}
	s.win, s.winOff = buf, off
	return nil
}

// fileField is one field of a message in the file, located but not read:
// its tag at start; a length-delimited field's payload is [payload, end).
type fileField struct {
	num                 int
	typ                 wireType
	u                   uint64 // the value of a varint or fixed field
	start, payload, end int64
}

// field reads the tag and the value or length of the field at off, in a
// message that ends at end.
func (s *source) field(off, end int64) (fileField, error) {
	hdr, err := s.bytes(off, min(maxHeaderLen, end-off))
	if err != nil {
		return fileField{}, err
	}
	r := fieldReader{msg: hdr, base: off}
	num, typ, v, err := r.header()
	if err != nil {
		return fileField{}, err
	}
	f := fileField{num: num, typ: typ, start: off, payload: off + int64(r.off)}
	f.end = f.payload
	if typ != wireBytes {
		f.u = v
	} else if v > uint64(end-f.payload) {
		return fileField{}, fmt.Errorf("%w: field %d of %d bytes overruns its message at byte %d", errWire, num, v, off)
	} else {
		f.end += int64(v)
	}
	return f, nil
}

// eachField calls fn on every field of the message at [start, end) of the
// file, in order, reading only their tags, values and lengths; it stops at
// the first error.
func (s *source) eachField(start, end int64, fn func(f fileField) error) error {
	for off := start; off < end; {
		f, err := s.field(off, end)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		off = f.end
	}
	return nil
}

// message reads the payload of a sub-message field.
func (s *source) message(f fileField) ([]byte, error) {
	if f.typ != wireBytes {
		return nil, fmt.Errorf("%w: field %d is not a message", errWire, f.num)
	}
	return s.bytes(f.payload, f.end-f.payload)
}

// read reads f into memory: its payload, if it has one.
func (s *source) read(f fileField) (field, error) {
	out := field{num: f.num, typ: f.typ, u: f.u}
	if f.typ == wireBytes {
		var err error
		if out.data, err = s.bytes(f.payload, f.end-f.payload); err != nil {
			return field{}, err
		}
	}
	return out, nil
}
