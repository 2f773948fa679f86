package onnxedit

import (
	"fmt"
	"io"
	"sort"
)

// Then plans next's rewrite on top of p's: next reads the file p makes of
// src (through an io.ReaderAt that reads p's pieces, never assembling the
// file), and the result is one plan over src, whose pieces are ranges of
// src and new bytes from either rewrite. So two rewrites that each touch a
// few nodes cost, together, what one does: a few reads and no copy. next's
// plan may have computed pieces (Piece.Fill); p's may not.
func (p Plan) Then(src io.ReaderAt, next func(io.ReaderAt, int64) (Plan, error)) (Plan, error) {
	for _, pc := range p.Pieces {
		if pc.Fill != nil {
			return Plan{}, fmt.Errorf("onnxedit: a plan with computed pieces cannot be the first of two")
		}
	}
	r := planReader{p: p, src: src, starts: p.starts()}
	q, err := next(r, p.Size)
	if err != nil {
		return Plan{}, err
	}
	var out Plan
	for _, pc := range q.Pieces {
		switch {
		case pc.Data != nil || pc.Fill != nil:
			out.add(pc)
		default:
			r.each(pc.Off, pc.Len, func(under Piece) { out.add(under) })
		}
	}
	return out, nil
}

// starts are the offsets of p's pieces in the file it makes.
func (p Plan) starts() []int64 {
	starts := make([]int64, len(p.Pieces))
	var at int64
	for i, pc := range p.Pieces {
		starts[i] = at
		at += pc.Len
	}
	return starts
}

// planReader reads the file a plan makes of src.
type planReader struct {
	p      Plan
	src    io.ReaderAt
	starts []int64
}

// each calls fn with the pieces of src and of p's new bytes that make the
// planned file's bytes [off, off+n).
func (r planReader) each(off, n int64, fn func(Piece)) {
	i := sort.Search(len(r.starts), func(i int) bool { return r.starts[i] > off }) - 1
	for ; n > 0 && i >= 0 && i < len(r.p.Pieces); i++ {
		pc := r.p.Pieces[i]
		skip := off - r.starts[i]
		take := min(n, pc.Len-skip)
		if pc.Data != nil {
			fn(literal(pc.Data[skip : skip+take]))
		} else {
			fn(original(pc.Off+skip, pc.Off+skip+take))
		}
		off, n = off+take, n-take
	}
}

// ReadAt implements io.ReaderAt.
func (r planReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off > r.p.Size {
		return 0, fmt.Errorf("onnxedit: read at %d of a %d-byte plan", off, r.p.Size)
	}
	n := min(int64(len(b)), r.p.Size-off)
	var done int64
	var err error
	r.each(off, n, func(pc Piece) {
		if err != nil {
			return
		}
		dst := b[done : done+pc.Len]
		if pc.Data != nil {
			copy(dst, pc.Data)
		} else {
			_, err = r.src.ReadAt(dst, pc.Off)
		}
		done += pc.Len
	})
	if err != nil {
		return int(done), err
	}
	if n < int64(len(b)) {
		return int(n), io.EOF
	}
	return int(n), nil
}
