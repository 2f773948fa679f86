package onnxedit

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// The protobuf wire format, as far as ONNX files need it: tag = field
// number << 3 | wire type; varints are little-endian base-128, at most ten
// bytes; length-delimited fields are a varint length and that many bytes.
// ONNX never uses groups (wire types 3 and 4), so they are refused.
// See https://protobuf.dev/programming-guides/encoding/.

// wireType is the low three bits of a field's tag.
type wireType uint8

const (
	wireVarint  wireType = 0
	wireFixed64 wireType = 1
	wireBytes   wireType = 2
	wireFixed32 wireType = 5
)

const (
	maxVarintLen = 10
	// maxFieldNum is the largest field number protobuf allows (2^29 - 1).
	maxFieldNum = 1<<29 - 1
)

// errWire reports bytes that are not a well-formed protobuf message.
var errWire = errors.New("malformed protobuf")

// field is one field of a message, as it lies in the message's bytes.
type field struct {
	num        int
	typ        wireType
	u          uint64 // the value of a varint or fixed field
	data       []byte // the payload of a length-delimited field
	start, end int    // the whole field, tag included, within the message
}

// fieldReader walks the fields of one message without copying.
type fieldReader struct {
	msg []byte
	off int
	// base is where msg lies in the file, for error messages: 0 for a
	// message read on its own, whose errors count from its start.
	base int64
}

// next returns the next field; ok is false at the end of the message.
func (r *fieldReader) next() (f field, ok bool, err error) {
	if r.off >= len(r.msg) {
		return field{}, false, nil
	}
	f.start = r.off
	var v uint64
	f.num, f.typ, v, err = r.header()
	if err == nil && f.typ == wireBytes {
		if v > uint64(len(r.msg)-r.off) {
			err = fmt.Errorf("%w: field %d of %d bytes overruns its message at byte %d", errWire, f.num, v, r.pos(f.start))
		} else {
			f.data = r.msg[r.off : r.off+int(v) : r.off+int(v)]
			r.off += int(v)
		}
	} else {
		f.u = v
	}
	if err != nil {
		return field{}, false, err
	}
	f.end = r.off
	return f, true, nil
}

// header reads a field's tag and then its value (a varint or fixed field)
// or its payload's length (a length-delimited field), leaving r at the
// payload.
func (r *fieldReader) header() (num int, typ wireType, v uint64, err error) {
	start := r.off
	tag, err := r.varint()
	if err != nil {
		return 0, 0, 0, err
	}
	if tag>>3 == 0 || tag>>3 > maxFieldNum {
		return 0, 0, 0, fmt.Errorf("%w: field number %d at byte %d", errWire, tag>>3, r.pos(start))
	}
	num, typ = int(tag>>3), wireType(tag&7)
	switch typ {
	case wireVarint, wireBytes:
		v, err = r.varint()
	case wireFixed64:
		v, err = r.fixed(8)
	case wireFixed32:
		v, err = r.fixed(4)
	default:
		err = fmt.Errorf("%w: wire type %d at byte %d", errWire, typ, r.pos(start))
	}
	return num, typ, v, err
}

// pos is the position of msg[off] in the file, or in msg when base is 0.
func (r *fieldReader) pos(off int) int64 { return r.base + int64(off) }

func (r *fieldReader) varint() (uint64, error) {
	var v uint64
	for i := 0; i < maxVarintLen; i++ {
		if r.off >= len(r.msg) {
			return 0, fmt.Errorf("%w: truncated varint at byte %d", errWire, r.pos(r.off))
		}
		b := r.msg[r.off]
		r.off++
		if i == maxVarintLen-1 && b > 1 {
			return 0, fmt.Errorf("%w: varint overflows 64 bits at byte %d", errWire, r.pos(r.off-1))
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: varint longer than %d bytes at byte %d", errWire, maxVarintLen, r.pos(r.off))
}

func (r *fieldReader) fixed(n int) (uint64, error) {
	if len(r.msg)-r.off < n {
		return 0, fmt.Errorf("%w: truncated fixed%d at byte %d", errWire, 8*n, r.pos(r.off))
	}
	var v uint64
	for i := range n {
		v |= uint64(r.msg[r.off+i]) << (8 * i)
	}
	r.off += n
	return v, nil
}

// eachField calls fn on every field of msg in order, stopping at the first
// error.
func eachField(msg []byte, fn func(f field) error) error {
	r := fieldReader{msg: msg}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

// str is a string field's value; ONNX strings are proto3 strings, so they
// must be UTF-8.
func (f field) str() (string, error) {
	if f.typ != wireBytes {
		return "", fmt.Errorf("%w: field %d is not a string", errWire, f.num)
	}
	if !utf8.Valid(f.data) {
		return "", fmt.Errorf("%w: field %d is not UTF-8", errWire, f.num)
	}
	return string(f.data), nil
}

// message is a sub-message field's bytes.
func (f field) message() ([]byte, error) {
	if f.typ != wireBytes {
		return nil, fmt.Errorf("%w: field %d is not a message", errWire, f.num)
	}
	return f.data, nil
}

// int64s appends the values of a repeated int64 field, packed or not.
func (f field) int64s(dst []int64) ([]int64, error) {
	switch f.typ {
	case wireVarint:
		return append(dst, int64(f.u)), nil
	case wireBytes:
		r := fieldReader{msg: f.data}
		for r.off < len(r.msg) {
			v, err := r.varint()
			if err != nil {
				return nil, err
			}
			dst = append(dst, int64(v))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: field %d is not an int64", errWire, f.num)
}

// Encoding. Every append function returns dst with the encoding appended.

func appendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendTag(dst []byte, num int, t wireType) []byte {
	return appendVarint(dst, uint64(num)<<3|uint64(t))
}

func appendBytesField(dst []byte, num int, b []byte) []byte {
	dst = appendTag(dst, num, wireBytes)
	dst = appendVarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendStringField(dst []byte, num int, s string) []byte {
	dst = appendTag(dst, num, wireBytes)
	dst = appendVarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendVarintField(dst []byte, num int, v uint64) []byte {
	return appendVarint(appendTag(dst, num, wireVarint), v)
}

// bytesFieldLen is the encoded size of a length-delimited field of n bytes.
func bytesFieldLen(num, n int) int {
	return varintLen(uint64(num)<<3) + varintLen(uint64(n)) + n
}

// replaceNth re-encodes msg with the payload of the nth occurrence (from 0)
// of length-delimited field num replaced by edit's result, copying every
// other field as it is. found is false, and msg is returned, when there is
// no such occurrence.
func replaceNth(msg []byte, num, nth int, edit func(payload []byte) ([]byte, error)) (out []byte, found bool, err error) {
	var target field
	seen := 0
	err = eachField(msg, func(f field) error {
		if f.num != num {
			return nil
		}
		if seen == nth {
			target, found = f, true
		}
		seen++
		return nil
	})
	if err != nil || !found {
		return msg, false, err
	}
	payload, err := target.message()
	if err != nil {
		return nil, false, err
	}
	edited, err := edit(payload)
	if err != nil {
		return nil, false, err
	}
	if len(edited) > math.MaxInt32 {
		return nil, false, fmt.Errorf("%w: edited field %d is too large", errWire, num)
	}
	out = make([]byte, 0, len(msg)-(target.end-target.start)+bytesFieldLen(num, len(edited)))
	out = append(out, msg[:target.start]...)
	out = appendBytesField(out, num, edited)
	out = append(out, msg[target.end:]...)
	return out, true, nil
}
