package onnxedit

import (
	"cmp"
	"fmt"
	"io"
	"slices"
)

// A Piece is a run of a rewritten file: Len bytes of the original file from
// Off or, when Data is non-nil, Data itself (Len is then len(Data) and Off
// is 0), or, when Fill is non-nil, the Len bytes Fill writes.
type Piece struct {
	Off, Len int64
	Data     []byte
	// Fill writes the piece's Len bytes to w, in order, in chunks of a few
	// megabytes: content computed as the file is assembled, too large to
	// hold whole (PlanDequantizeMatMulNBits's float32 weights). It reads
	// nothing of the original.
	Fill func(w io.Writer) error
}

// A Plan is a rewritten file as pieces, in order: Size bytes in all. Ranges
// of the original are most of it; the new bytes a rewrite adds (a few nodes,
// a re-encoded length) are a few kilobytes of Data. A caller assembles the
// file from the original wherever it lives (Apply, for one in memory), so
// the rewrite costs no second copy of the original.
type Plan struct {
	Pieces []Piece
	Size   int64
}

// AsIs is the plan of a file of size bytes left as it is: one piece, all
// of the original.
func AsIs(size int64) Plan {
	return Plan{Pieces: []Piece{{Off: 0, Len: size}}, Size: size}
}

// Unchanged reports whether the plan is the original file as it is: one
// piece, all of it, so there is nothing to assemble.
func (p Plan) Unchanged() bool {
	return len(p.Pieces) == 1 && p.Pieces[0].Data == nil && p.Pieces[0].Fill == nil &&
		p.Pieces[0].Off == 0 && p.Pieces[0].Len == p.Size
}

// Apply assembles the rewritten file, in one allocation of Size bytes, from
// src: the original file the plan was made from, all of it. (A plan from
// another file, or a shorter src, makes Apply panic.)
func (p Plan) Apply(src []byte) []byte {
	out := make([]byte, p.Size)
	var pos int64
	for _, pc := range p.Pieces {
		dst := out[pos : pos+pc.Len]
		switch {
		case pc.Fill != nil:
			if err := pc.Fill(&sliceWriter{dst: dst}); err != nil {
				panic(err) // a sliceWriter fails only on a Fill that breaks its Len
			}
		case pc.Data != nil:
			copy(dst, pc.Data)
		default:
			copy(dst, src[pc.Off:pc.Off+pc.Len])
		}
		pos += pc.Len
	}
	return out
}

// add appends pc, merging it into the last piece when both are ranges of
// the original that meet. Empty pieces are dropped.
func (p *Plan) add(pc Piece) {
	if pc.Len == 0 {
		return
	}
	p.Size += pc.Len
	if n := len(p.Pieces); n > 0 && isRange(pc) && isRange(p.Pieces[n-1]) && p.Pieces[n-1].Off+p.Pieces[n-1].Len == pc.Off {
		p.Pieces[n-1].Len += pc.Len
		return
	}
	p.Pieces = append(p.Pieces, pc)
}

func isRange(pc Piece) bool { return pc.Data == nil && pc.Fill == nil }

// sliceWriter writes into dst, and fails past its end.
type sliceWriter struct {
	dst []byte
	n   int
}

func (w *sliceWriter) Write(b []byte) (int, error) {
	if len(b) > len(w.dst)-w.n {
		return 0, fmt.Errorf("onnxedit: a piece's fill writes past its %d bytes", len(w.dst))
	}
	w.n += copy(w.dst[w.n:], b)
	return len(b), nil
}

// original is the piece of the original file's bytes [start, end).
func original(start, end int64) Piece { return Piece{Off: start, Len: end - start} }

// literal is the piece b.
func literal(b []byte) Piece { return Piece{Len: int64(len(b)), Data: b} }

// edit replaces the file's bytes [start, end), within the graph's payload,
// with the pieces repl.
type edit struct {
	start, end int64
	repl       []Piece
}

// plan is the rewritten model: the graph with edits (not overlapping, in
// any order) applied and its length prefix re-encoded, every other byte
// from the original.
func (m *model) plan(edits []edit) (Plan, error) {
	edits = slices.Clone(edits)
	slices.SortStableFunc(edits, func(a, b edit) int { return cmp.Compare(a.start, b.start) })
	size, pos := m.graph.end-m.graph.payload, m.graph.payload
	for _, e := range edits {
		if e.start < pos || e.end < e.start || e.end > m.graph.end {
			return Plan{}, fmt.Errorf("%w: edits of bytes %d to %d overlap", ErrUnexpectedStructure, e.start, e.end)
		}
		pos = e.end
		size -= e.end - e.start
		for _, pc := range e.repl {
			size += pc.Len
		}
	}
	var p Plan
	p.add(original(0, m.graph.start))
	p.add(literal(appendVarint(appendTag(nil, modelGraph, wireBytes), uint64(size))))
	pos = m.graph.payload
	for _, e := range edits {
		p.add(original(pos, e.start))
		for _, pc := range e.repl {
			p.add(pc)
		}
		pos = e.end
	}
	p.add(original(pos, m.src.size))
	return p, nil
}
