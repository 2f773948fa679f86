package onnxedit

import (
	"fmt"
	"io"
)

// An Initializer is a tensor to add to a graph: its TensorProto fields,
// and RawLen bytes of raw data that Fill writes, in order, as the file is
// assembled (a few megabytes at a time: the data is never held whole).
type Initializer struct {
	Name     string
	DataType int // TensorProto.DataType
	Dims     []int64
	RawLen   int64
	Fill     func(w io.Writer) error
}

// pieces are the initializer as a GraphProto.initializer field, encoded as
// onnx's proto2 writer does (dims unpacked, the data type, the name, then
// raw_data), so a tensor written back where it was stripped takes the
// bytes it took in the original file.
func (in Initializer) pieces() []Piece {
	var h []byte
	for _, d := range in.Dims {
		h = appendVarintField(h, tensorDims, uint64(d))
	}
	h = appendVarintField(h, tensorDataType, uint64(in.DataType))
	h = appendStringField(h, tensorName, in.Name)
	h = appendTag(h, tensorRawData, wireBytes)
	h = appendVarint(h, uint64(in.RawLen))
	var head []byte
	head = appendTag(head, graphInitializer, wireBytes)
	head = appendVarint(head, uint64(int64(len(h))+in.RawLen))
	head = append(head, h...)
	return []Piece{literal(head), {Len: in.RawLen, Fill: in.Fill}}
}

// PlanAddInitializers plans the model with inits appended to its graph's
// initializers, in order; every other byte is the original's. A name the
// graph or an earlier entry already has is an error, and so is a negative
// dimension or length. Errors wrap ErrNotONNX or ErrUnexpectedStructure, or
// are src's own.
func PlanAddInitializers(src io.ReaderAt, size int64, inits []Initializer) (Plan, error) {
	m, g, err := parseModelGraph(src, size)
	if err != nil {
		return Plan{}, err
	}
	added := map[string]bool{}
	var add []Piece
	for _, in := range inits {
		if _, inGraph := g.inits[in.Name]; inGraph || added[in.Name] {
			return Plan{}, fmt.Errorf("%w: initializer %q is already in the graph", ErrUnexpectedStructure, in.Name)
		}
		added[in.Name] = true
		if in.RawLen < 0 {
			return Plan{}, fmt.Errorf("%w: initializer %q of %d bytes", ErrUnexpectedStructure, in.Name, in.RawLen)
		}
		for _, d := range in.Dims {
			if d < 0 {
				return Plan{}, fmt.Errorf("%w: initializer %q has a negative dimension (%v)", ErrUnexpectedStructure, in.Name, in.Dims)
			}
		}
		add = append(add, in.pieces()...)
	}
	return m.plan([]edit{{m.graph.end, m.graph.end, add}})
}

// Assemble writes the planned file to dst, reading its ranges of the
// original from src (the file the plan was made from). It fails when a
// read, a write or a piece's Fill does, or when a Fill writes other than
// its piece's length.
func (p Plan) Assemble(dst io.Writer, src io.ReaderAt) error {
	for _, pc := range p.Pieces {
		switch {
		case pc.Fill != nil:
			w := &countingWriter{w: dst}
			if err := pc.Fill(w); err != nil {
				return err
			}
			if w.n != pc.Len {
				return fmt.Errorf("onnxedit: a computed piece of %d bytes wrote %d", pc.Len, w.n)
			}
		case pc.Data != nil:
			if _, err := dst.Write(pc.Data); err != nil {
				return err
			}
		default:
			n, err := io.Copy(dst, io.NewSectionReader(src, pc.Off, pc.Len))
			if err != nil {
				return err
			}
			if n != pc.Len {
				return fmt.Errorf("onnxedit: the original ends before byte %d of the plan's range", pc.Off+pc.Len)
			}
		}
	}
	return nil
}

// countingWriter passes writes on to w and counts their bytes.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
