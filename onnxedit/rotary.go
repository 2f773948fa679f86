package onnxedit

import (
	"io"
	"maps"
	"math"
	"slices"
)

// PlanRotateHalf plans the rotary embedding's rotate_half as one Gather
// where the export spells it in four nodes, with its sign moved into the
// sine, once for all layers.
//
// Why: Llama's rotary embedding is x·cos + rotate_half(x)·sin, and the
// export writes rotate_half(x) = [−x₂, x₁] (x₁, x₂ the two halves of the
// head) as Slice, Slice, Neg, Concat: four kernels for each query and key
// of each layer at every step (SmolVLM-256M's decoder: 240 of them). The
// same values are Gather(x, [h…2h−1, 0…h−1]) along the last axis, h half
// the head size, with the first half negated; and since (−a)·b = a·(−b)
// exactly in floating point, the negation goes into the sine, [−sin₁,
// sin₂] computed once a step, so every rotation is a Gather and the Mul it
// had. Every float32 output is the same bits; a GPU, where each kernel
// costs a dispatch whatever its size, runs 180 fewer a step. (In float16,
// onnxruntime's CPU casts to float32 around other nodes of the new graph,
// so there the outputs move by a few half-precision ulps.)
//
// A rotation is rewritten when Mul(Concat(Neg(Slice(x, h, ≥2h)),
// Slice(x, 0, h)), sin) along the last axis (−1 or 3 of a 4-D head tensor,
// steps 1), sin a sine (Sin, perhaps unsqueezed), and the slices,
// negation and concatenation read by nothing else; headSize is the
// model's (text_config's head_dim, or hidden_size / num_attention_heads).
// A model without such rotations gives an unchanged plan. Errors wrap
// ErrNotONNX or ErrUnexpectedStructure, or are src's own.
func PlanRotateHalf(src io.ReaderAt, size int64, headSize int) (Plan, error) {
	if headSize <= 0 || headSize%2 != 0 {
		return AsIs(size), nil
	}
	m, g, outer, err := parseForRewrite(src, size)
	if err != nil {
		return Plan{}, err
	}
	readers := g.readers()
	fresh := unusedNamer(g.usedNames(outer))
	half := int64(headSize / 2)
	consumers := maps.Clone(g.consumers)
	var (
		edits   []edit
		gone    = map[int]bool{}
		consts  rotaryConstants
		flipped = map[string]string{} // sin → sin with its first half negated
	)
	for i := range g.nodes {
		rot, ok := g.rotateHalf(i, half, readers, outer)
		if !ok {
			continue
		}
		mul := &g.nodes[rot.mul]
		prefix := rotaryPrefix + "/" + mul.name
		var dst []byte
		if consts.perm == "" {
			consts = rotaryConstants{
				perm: fresh(rotaryPrefix + "/perm"), zero: fresh(rotaryPrefix + "/zero"),
				half: fresh(rotaryPrefix + "/half"), whole: fresh(rotaryPrefix + "/whole"),
				last: fresh(rotaryPrefix + "/last"),
			}
			order := make([]int64, 0, 2*half)
			for j := range 2 * half {
				order = append(order, (j+half)%(2*half))
			}
			dst = appendInt64sConstant(dst, consts.perm, order...)
			dst = appendInt64sConstant(dst, consts.zero, 0)
			dst = appendInt64sConstant(dst, consts.half, half)
			dst = appendInt64sConstant(dst, consts.whole, 2*half)
			dst = appendInt64sConstant(dst, consts.last, -1)
		}
		signed, ok := flipped[rot.sin]
		if !ok {
			signed = fresh(rotaryPrefix + "/" + rot.sin + "/signed")
			flipped[rot.sin] = signed
			dst = consts.appendFlip(dst, rot.sin, signed)
		}
		gathered := fresh(prefix + "/rotated")
		dst = appendNode(dst, "Gather", prefix+"/Gather", []string{rot.x, consts.perm}, gathered, encodeIntAttr("axis", -1))
		dst = appendNode(dst, "Mul", mul.name, []string{gathered, signed}, mul.outputs[0])
		edits = append(edits, edit{mul.at.start, mul.at.end, []Piece{literal(dst)}})
		consumers[mul.inputs[0]]--
		g.dropDead(mul.inputs[0], consumers, outer, gone)
	}
	return m.planRemoving(size, g, edits, gone)
}

// rotaryPrefix starts the names of the values and nodes PlanRotateHalf
// adds.
const rotaryPrefix = "onnxedit/rotary"

// rotation is one rotate_half(x)·sin that PlanRotateHalf rewrites.
type rotation struct {
	x, sin string
	mul    int // the Mul by the sine
}

// rotateHalf recognises node i as Mul(rotate_half(x), sin).
func (g *graph) rotateHalf(i int, half int64, readers map[string][]int, outer map[string]int) (rotation, bool) {
	mul := &g.nodes[i]
	if !mul.is("Mul") || len(mul.inputs) != 2 || len(mul.outputs) != 1 {
		return rotation{}, false
	}
	sin := mul.inputs[1]
	if !g.isSine(sin) {
		return rotation{}, false
	}
	// only is the node making value when it is op and value is read by
	// nothing but reader.
	only := func(value, op string) (*node, bool) {
		if _, ok := g.soleReader(value, readers, outer); !ok {
			return nil, false
		}
		return g.producerOf(value, op)
	}
	concat, ok := only(mul.inputs[0], "Concat")
	if !ok || len(concat.inputs) != 2 || !lastAxis(concat) {
		return rotation{}, false
	}
	neg, ok := only(concat.inputs[0], "Neg")
	if !ok || len(neg.inputs) != 1 {
		return rotation{}, false
	}
	second, ok := only(neg.inputs[0], "Slice")
	if !ok {
		return rotation{}, false
	}
	first, ok := only(concat.inputs[1], "Slice")
	if !ok || len(first.inputs) == 0 || len(second.inputs) == 0 || first.inputs[0] != second.inputs[0] {
		return rotation{}, false
	}
	if !g.lastAxisSlice(first, 0, half, half) || !g.lastAxisSlice(second, half, 2*half, math.MaxInt64) {
		return rotation{}, false
	}
	return rotation{x: first.inputs[0], sin: sin, mul: i}, true
}

// isSine reports whether value is a float32 Sin's output, or that
// unsqueezed.
func (g *graph) isSine(value string) bool {
	if u, ok := g.producerOf(value, "Unsqueeze"); ok {
		value = u.inputs[0]
	}
	_, ok := g.producerOf(value, "Sin")
	return ok
}

// lastAxisSlice reports whether n is Slice(x, [start], [end]) along the
// last axis with step 1, end at least minEnd and at most maxEnd.
func (g *graph) lastAxisSlice(n *node, start, minEnd, maxEnd int64) bool {
	if len(n.inputs) < 4 || len(n.inputs) > 5 {
		return false // the axes are needed: without them it slices axis 0
	}
	starts, ok1 := g.constInt64s(n.inputs[1])
	ends, ok2 := g.constInt64s(n.inputs[2])
	axes, ok3 := g.constInt64s(n.inputs[3])
	if !ok1 || !ok2 || !ok3 || !slices.Equal(starts, []int64{start}) || len(ends) != 1 ||
		ends[0] < minEnd || ends[0] > maxEnd || len(axes) != 1 || (axes[0] != -1 && axes[0] != 3) {
		return false
	}
	if len(n.inputs) == 5 && n.inputs[4] != "" {
		steps, ok := g.constInt64s(n.inputs[4])
		return ok && slices.Equal(steps, []int64{1})
	}
	return true
}

// lastAxis reports whether n's axis attribute is −1 or 3 (the last axis
// of a 4-D head tensor).
func lastAxis(n *node) bool {
	ints, err := intAttrs(n)
	axis, ok := ints["axis"]
	return err == nil && ok && (axis == -1 || axis == 3)
}

// rotaryConstants names the int64 constants PlanRotateHalf adds: the
// Gather's indices and the bounds and axis of the sine's halves.
type rotaryConstants struct{ perm, zero, half, whole, last string }

// appendFlip appends signed = Concat(−sin[…, :h], sin[…, h:]) along the
// last axis.
func (c rotaryConstants) appendFlip(dst []byte, sin, signed string) []byte {
	first, second, negated := signed+"/first", signed+"/second", signed+"/negated"
	dst = appendNode(dst, "Slice", first, []string{sin, c.zero, c.half, c.last}, first)
	dst = appendNode(dst, "Slice", second, []string{sin, c.half, c.whole, c.last}, second)
	dst = appendNode(dst, "Neg", negated, []string{first}, negated)
	return appendNode(dst, "Concat", signed+"/Concat", []string{negated, second}, signed, encodeIntAttr("axis", -1))
}
