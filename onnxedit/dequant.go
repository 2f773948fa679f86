package onnxedit

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
)

// DequantizeMatMulNBits turns 4-bit weights back into float32 MatMuls.
//
// Why: onnxruntime-web's WebAssembly backend has no fast kernel for
// MatMulNBits (com.microsoft); measured in Chromium with onnxruntime-web
// 1.30, the q4 SmolVLM decoder runs at 2.1 tokens/s and the fp32 one, plain
// MatMuls, at 15.8. The fp32 files are 3.6 times bigger to download, so the
// app downloads q4 and dequantizes it in memory.
//
// The operator's contract is onnxruntime's (docs/ContribOperators.md,
// com.microsoft.MatMulNBits, and the CPU kernel's fallback in
// contrib_ops/cpu/quantization/matmul_nbits.cc): Y = A × W with W [K, N];
// B is uint8 [N, k_blocks, blob_size], k_blocks = ceil(K / block_size),
// blob_size = block_size·bits/8, each block's values packed along K, low
// nibble first; scales [N·k_blocks] of A's type; zero_points either packed
// like B, [N, ceil(k_blocks·bits/8)] (each row padded to whole bytes), or
// unpacked [N·k_blocks] of A's type, 2^(bits-1) = 8 when absent; and
//
//	W[k][n] = (q[n][k] − zp[n][k/block_size]) · scale[n][k/block_size].

const (
	// dequantPrefix starts the names of the values and nodes the rewrite
	// adds besides the weights.
	dequantPrefix = "onnxedit/dequant"
	// quantBits is the only bit width rewritten.
	quantBits = 4
	// minBlockSize is the smallest block the contract allows; blocks are
	// powers of two.
	minBlockSize = 16
	// defaultZeroPoint is 2^(bits-1), the zero point of a node without one.
	defaultZeroPoint = 1 << (quantBits - 1)
	// dequantTile is the granularity of the columns split among workers:
	// 16 floats, one 64-byte cache line of a row of W.
	dequantTile = 16
	// minParallelWeights is the size from which a weight is filled by
	// several goroutines.
	minParallelWeights = 1 << 20
	// dequantChunk is about how much of a weight is dequantized at a time.
	dequantChunk = 4 << 20
)

// MatMulNBits input indices (onnxruntime's InputIndex).
const (
	nbitsA = iota
	nbitsB
	nbitsScales
	nbitsZeroPoints
	nbitsGIdx
	nbitsBias
)

// More field numbers (onnx/onnx.proto).
const (
	attrInt    = 3  // AttributeProto.i
	attrGraph  = 6  // AttributeProto.g
	attrGraphs = 11 // AttributeProto.graphs

	nodeDocString = 6 // NodeProto.doc_string
	nodeMetadata  = 9 // NodeProto.metadata_props

	tensorFloatData    = 4  // TensorProto.float_data
	tensorInt32Data    = 5  // TensorProto.int32_data
	tensorDataLocation = 14 // TensorProto.data_location
	// dataLocationExternal is TensorProto.DataLocation.EXTERNAL.
	dataLocationExternal = 1
)

// ONNX TensorProto data types the rewrite reads and writes.
const (
	dataTypeFloat = 1
	dataTypeUint8 = 2
	dataTypeInt8  = 3
)

// DequantizeMatMulNBits returns a copy of model (a serialized ONNX
// ModelProto) in which every MatMulNBits node of the main graph that can be
// rewritten is a MatMul(A, W), W a new float32 initializer [K, N] with
// raw_data, followed by an Add of the node's bias when it has one. A node is
// rewritten when it is 4-bit, not prepacked (weight_prepacked 0), has no
// g_idx, its B, scales and zero_points are initializers of the main graph
// (not graph inputs, which a caller could override), its scales are float32
// (so A is float32: float16 models are left alone) and every size agrees
// with K, N and block_size. Other MatMulNBits nodes, and any inside
// subgraphs (If, Loop), are left as they are; HasMatMulNBits on the result
// says whether any remain.
//
// B, scales and zero_points are removed when nothing else reads them; W
// takes B's place among the initializers. The rest of the file is copied
// byte for byte, in one allocation of the final size. A model with nothing
// to rewrite is returned as it is, not copied.
//
// Errors wrap ErrNotONNX or ErrUnexpectedStructure. Hostile input makes an
// error, never a panic.
func DequantizeMatMulNBits(model []byte) ([]byte, error) {
	p, err := planDequantize(memSource(model), false)
	if err != nil || p.Unchanged() {
		return model, err
	}
	return p.Apply(model), nil
}

// PlanDequantizeMatMulNBits plans DequantizeMatMulNBits for the model of
// size bytes that src reads, without assembling it: the float32 weights are
// computed pieces (Piece.Fill) that dequantize a few megabytes at a time as
// the caller assembles the file, so the rewrite holds the quantized weights
// it reads (about the original's size) and one chunk, never the float32
// file. A model with nothing to rewrite gives the plan of src as it is (see
// Plan.Unchanged). Errors are DequantizeMatMulNBits's, or src's own when a
// read fails.
func PlanDequantizeMatMulNBits(src io.ReaderAt, size int64) (Plan, error) {
	return planDequantize(newSource(src, size), false)
}

// RequantizeMatMulNBitsInt8 is DequantizeMatMulNBits with int8 weights: each
// rewritten node becomes a DynamicQuantizeMatMul (com.microsoft) of A and
// W8, an int8 initializer [K, N] with one float32 scale per column (W's
// largest |value| in the column / 127, rounded to nearest), and the node's
// bias (the model imports com.microsoft already: MatMulNBits is its). At
// every run onnxruntime quantizes A to uint8 per tensor and multiplies with
// its integer GEMM, which its WebAssembly build has in SIMD, reading a
// quarter of float32's bytes. Measured in Chromium on SmolVLM-256M (README,
// "What made us faster"): the vision encoder runs 1.4× faster than as
// downloaded, the decoder nearly as fast as float32 at q4's memory. The
// answers are approximate: neither W8 nor A's quantization is the
// reference's arithmetic.
func RequantizeMatMulNBitsInt8(model []byte) ([]byte, error) {
	p, err := planDequantize(memSource(model), true)
	if err != nil || p.Unchanged() {
		return model, err
	}
	return p.Apply(model), nil
}

// PlanRequantizeMatMulNBitsInt8 plans RequantizeMatMulNBitsInt8 as
// PlanDequantizeMatMulNBits plans its rewrite: W8 and the column scales are
// computed as the file is assembled.
func PlanRequantizeMatMulNBitsInt8(src io.ReaderAt, size int64) (Plan, error) {
	return planDequantize(newSource(src, size), true)
}

func planDequantize(src *source, toInt8 bool) (Plan, error) {
	m, err := parseModel(src)
	if err != nil {
		return Plan{}, err
	}
	g, err := m.parseGraph()
	if err != nil {
		return Plan{}, err
	}
	dp, err := planDequant(g, toInt8)
	if err != nil {
		return Plan{}, err
	}
	if len(dp.nodes) == 0 {
		return AsIs(src.size), nil
	}
	return m.plan(dp.edits())
}

// HasMatMulNBits reports whether the main graph of model has a MatMulNBits
// node (com.microsoft): whether the model needs the 4-bit kernel, or, after
// DequantizeMatMulNBits, whether some node was left quantized.
func HasMatMulNBits(model []byte) bool {
	m, err := parseModel(memSource(model))
	if err != nil {
		return false
	}
	g, err := m.parseGraph()
	if err != nil {
		return false
	}
	for i := range g.nodes {
		if g.nodes[i].is("MatMulNBits", "com.microsoft") {
			return true
		}
	}
	return false
}

// nbitsNode is a MatMulNBits node that the rewrite replaces.
type nbitsNode struct {
	node *node
	w    *weight
	// matmulOut is what the MatMul computes: the node's output, or a fresh
	// value that the bias Add reads.
	matmulOut, addName string
}

// weight is one dequantized initializer, shared by the nodes that read the
// same B, scales and zero points.
type weight struct {
	name                 string
	k, n, blockSize      int
	b, scales            []byte // raw little-endian data
	zp                   []byte // packed uint8, unpacked float32, or nil
	zpFloat              bool
	bName, sName, zpName string

	// int8 makes W int8 with one scale per column, called scaleName,
	// computed once (columnScales) by whichever fill needs them first.
	int8      bool
	scaleName string
	scaleOnce sync.Once
	colScales []float32
}

// dequantPlan is everything the rewrite changes.
type dequantPlan struct {
	nodes   []nbitsNode
	weights map[string]*weight // by B's name
	// inits are the main graph's initializers by name; drop are those no
	// node reads after the rewrite.
	inits map[string]part
	drop  map[string]bool
}

// planDequant picks the nodes to rewrite and the initializers to drop;
// toInt8 makes their weights int8 (RequantizeMatMulNBitsInt8).
func planDequant(g *graph, toInt8 bool) (*dequantPlan, error) {
	p := &dequantPlan{weights: map[string]*weight{}, inits: g.inits, drop: map[string]bool{}}
	outer, err := g.subgraphRefs()
	if err != nil {
		return nil, err
	}
	fresh := unusedNamer(g.usedNames(outer))
	for i := range g.nodes {
		n := &g.nodes[i]
		if !n.is("MatMulNBits", "com.microsoft") {
			continue
		}
		w, ok, err := g.weightOf(n, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if w.name == "" {
			w.int8 = toInt8
			if toInt8 {
				w.name = fresh(strings.TrimSuffix(w.bName, "_Q4") + "_int8")
				w.scaleName = fresh(w.name + "_scale")
			} else {
				w.name = fresh(weightName(w.bName))
			}
			p.weights[w.bName] = w
		}
		nn := nbitsNode{node: n, w: w, matmulOut: n.outputs[0]}
		if hasInput(n, nbitsBias) && !toInt8 { // DynamicQuantizeMatMul adds the bias itself
			prefix := dequantPrefix + "/" + n.name
			nn.matmulOut, nn.addName = fresh(prefix+"/matmul_out"), fresh(prefix+"/bias_add")
		}
		p.nodes = append(p.nodes, nn)
	}
	// An initializer goes when every read of it is by a rewritten node.
	reads := map[string]int{}
	for _, nn := range p.nodes {
		for _, in := range nn.node.inputs[nbitsB:min(len(nn.node.inputs), nbitsZeroPoints+1)] {
			reads[in]++
		}
	}
	for name, r := range reads {
		_, isOutput := g.outputs[name]
		if name != "" && r == g.consumers[name] && outer[name] == 0 && !isOutput {
			p.drop[name] = true
		}
	}
	return p, nil
}

// weightName is the dequantized weight's name: B's, without the _Q4 the
// quantizer added, or with _fp32 when it had none.
func weightName(b string) string {
	if base, ok := strings.CutSuffix(b, "_Q4"); ok && base != "" {
		return base
	}
	return b + "_fp32"
}

func hasInput(n *node, i int) bool { return len(n.inputs) > i && n.inputs[i] != "" }

// weightOf checks that n can be rewritten and returns its weight (new, with
// no name yet, or one already planned for the same B). ok is false for a
// node to leave as it is; err is for one that breaks the operator's
// contract.
func (g *graph) weightOf(n *node, p *dequantPlan) (w *weight, ok bool, err error) {
	if len(n.outputs) != 1 || n.outputs[0] == "" || !hasInput(n, nbitsA) || !hasInput(n, nbitsScales) ||
		hasInput(n, nbitsGIdx) || len(n.inputs) > nbitsBias+1 {
		return nil, false, nil
	}
	attrs, err := intAttrs(n)
	if err != nil {
		return nil, false, fmt.Errorf("%w: MatMulNBits node %q does not parse (%w)", ErrUnexpectedStructure, n.name, err)
	}
	bits, ok := attrs["bits"]
	if !ok {
		bits = quantBits
	}
	k, n1, bs := attrs["K"], attrs["N"], attrs["block_size"]
	if bits != quantBits || attrs["weight_prepacked"] != 0 || k <= 0 || n1 <= 0 || bs < minBlockSize || bs&(bs-1) != 0 ||
		k > math.MaxInt32 || n1 > math.MaxInt32 || bs > math.MaxInt32 || k*n1 > math.MaxInt32/4 {
		return nil, false, nil
	}
	in := n.inputs
	zpName := ""
	if hasInput(n, nbitsZeroPoints) {
		zpName = in[nbitsZeroPoints]
	}
	if w := p.weights[in[nbitsB]]; w != nil {
		same := w.sName == in[nbitsScales] && w.zpName == zpName && w.k == int(k) && w.n == int(n1) && w.blockSize == int(bs)
		return w, same, nil
	}
	w = &weight{k: int(k), n: int(n1), blockSize: int(bs), bName: in[nbitsB], sName: in[nbitsScales], zpName: zpName}
	blocks := (w.k + w.blockSize - 1) / w.blockSize
	var dt int
	if w.b, dt, ok = g.initData(w.bName); !ok || dt != dataTypeUint8 || len(w.b) != w.n*blocks*w.blockSize/2 {
		return nil, false, nil
	}
	if w.scales, dt, ok = g.initData(w.sName); !ok || dt != dataTypeFloat || len(w.scales) != 4*w.n*blocks {
		return nil, false, nil
	}
	if zpName != "" {
		if w.zp, dt, ok = g.initData(zpName); !ok {
			return nil, false, nil
		}
		switch {
		case dt == dataTypeUint8 && len(w.zp) == w.n*((blocks+1)/2):
		case dt == dataTypeFloat && len(w.zp) == 4*w.n*blocks:
			w.zpFloat = true
		default:
			return nil, false, nil
		}
	}
	return w, true, nil
}

// intAttrs reads a node's int attributes by name.
func intAttrs(n *node) (map[string]int64, error) {
	attrs := map[string]int64{}
	err := eachAttr(n, func(name string, attr []byte) error {
		return eachField(attr, func(f field) error {
			if f.num == attrInt && f.typ == wireVarint {
				attrs[name] = int64(f.u)
			}
			return nil
		})
	})
	return attrs, err
}

// eachAttr calls fn with the name and the encoded AttributeProto of each of
// the node's attributes, in order.
func eachAttr(n *node, fn func(name string, attr []byte) error) error {
	return eachField(n.msg, func(f field) error {
		if f.num != nodeAttribute {
			return nil
		}
		attr, err := f.message()
		if err != nil {
			return err
		}
		name, err := stringField(attr, attrName)
		if err != nil {
			return err
		}
		return fn(name, attr)
	})
}

// initData returns the data of the initializer called name, little-endian
// as raw_data holds it, and its data type. ok is false for a name that is
// no initializer or also a graph input, for external data, and for data
// held in typed fields other than float_data (FLOAT) and int32_data (UINT8).
func (g *graph) initData(name string) (data []byte, dataType int, ok bool) {
	t, isInit, err := g.tensor(name)
	if !isInit || err != nil {
		return nil, 0, false
	}
	var (
		raw, typed []byte
		haveRaw    bool
		external   bool
	)
	err = eachField(t, func(f field) error {
		switch f.num {
		case tensorDataType:
			dataType = int(f.u)
		case tensorRawData:
			raw, haveRaw = f.data, true
		case tensorDataLocation:
			external = f.u == dataLocationExternal
		case tensorFloatData, tensorInt32Data:
			switch f.typ {
			case wireBytes:
				typed = append(typed, f.data...)
			case wireFixed32:
				typed = binary.LittleEndian.AppendUint32(typed, uint32(f.u))
			case wireVarint:
				typed = appendVarint(typed, f.u)
			}
		}
		return nil
	})
	switch {
	case err != nil || external:
		return nil, 0, false
	case haveRaw:
		return raw, dataType, true
	case dataType == dataTypeFloat:
		// Packed float_data is raw little-endian floats already.
		return typed, dataType, len(typed)%4 == 0
	case dataType == dataTypeUint8:
		// int32_data holds one varint per value.
		r := fieldReader{msg: typed}
		var out []byte
		for r.off < len(r.msg) {
			v, err := r.varint()
			if err != nil || v > math.MaxUint8 {
				return nil, 0, false
			}
			out = append(out, byte(v))
		}
		return out, dataType, true
	}
	return nil, 0, false
}

// subgraphRefs counts the names that nodes and outputs of subgraphs (the
// graph attributes of If, Loop, Scan, at any depth) read: they may be values
// of the main graph. A subgraph that does not parse is an
// ErrUnexpectedStructure.
func (g *graph) subgraphRefs() (map[string]int, error) {
	refs := map[string]int{}
	for i := range g.nodes {
		if err := nodeSubgraphRefs(g.nodes[i].msg, refs); err != nil {
			return nil, fmt.Errorf("%w: a subgraph does not parse (%w)", ErrUnexpectedStructure, err)
		}
	}
	return refs, nil
}

func nodeSubgraphRefs(node []byte, refs map[string]int) error {
	return eachField(node, func(f field) error {
		if f.num != nodeAttribute {
			return nil
		}
		return eachField(f.data, func(f field) error {
			if f.num != attrGraph && f.num != attrGraphs {
				return nil
			}
			return eachField(f.data, func(f field) error {
				switch f.num {
				case graphNode:
					if err := eachField(f.data, func(in field) error {
						if in.num == nodeInput {
							refs[string(in.data)]++
						}
						return nil
					}); err != nil {
						return err
					}
					return nodeSubgraphRefs(f.data, refs)
				case graphOutput:
					name, err := stringField(f.data, valueInfoName)
					refs[name]++
					return err
				}
				return nil
			})
		})
	})
}

// unusedNamer returns a function that names a new value or node: base, or
// base_2, base_3, ... where used (the names in a graph, usedNames) has it;
// each name it returns is then used.
func unusedNamer(used map[string]bool) func(base string) string {
	return func(base string) string {
		name := base
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		used[name] = true
		return name
	}
}

// usedNames are the names of g's nodes, values, inputs and initializers,
// and those subgraphs read.
func (g *graph) usedNames(outer map[string]int) map[string]bool {
	used := map[string]bool{}
	for _, n := range g.nodes {
		used[n.name] = true
		for _, in := range n.inputs {
			used[in] = true
		}
	}
	for _, set := range []map[string]int{g.producer, outer} {
		for k := range set {
			used[k] = true
		}
	}
	for k := range g.inputNames {
		used[k] = true
	}
	for k := range g.inits {
		used[k] = true
	}
	return used
}

// edits are the plan's graph edits: each node replaced, each dropped
// initializer removed, each weight written where B was (or after it, when
// B stays).
func (p *dequantPlan) edits() []edit {
	var edits []edit
	for _, nn := range p.nodes {
		edits = append(edits, edit{nn.node.at.start, nn.node.at.end, []Piece{literal(nn.appendNodes(nil))}})
	}
	written := map[*weight]bool{}
	for _, nn := range p.nodes {
		w := nn.w
		if written[w] {
			continue
		}
		written[w] = true
		b := p.inits[w.bName].at
		var repl []Piece
		if !p.drop[w.bName] {
			repl = append(repl, original(b.start, b.end))
		}
		edits = append(edits, edit{b.start, b.end, append(repl, w.pieces()...)})
	}
	for name := range p.drop {
		if w := p.weights[name]; w != nil && written[w] {
			continue // replaced by its weight above
		}
		f := p.inits[name].at
		edits = append(edits, edit{f.start, f.end, nil})
	}
	return edits
}

// appendNodes appends, as GraphProto.node fields, the MatMul that replaces
// the node and, with a bias, the Add after it. The node keeps its name,
// doc string and metadata.
//
// With int8 weights it is one DynamicQuantizeMatMul(A, W8, scales, no zero
// point, bias) instead.
func (nn nbitsNode) appendNodes(dst []byte) []byte {
	n := nn.node
	var mm []byte
	mm = appendStringField(mm, nodeInput, n.inputs[nbitsA])
	mm = appendStringField(mm, nodeInput, nn.w.name)
	if nn.w.int8 {
		mm = appendStringField(mm, nodeInput, nn.w.scaleName)
		if hasInput(n, nbitsBias) {
			mm = appendStringField(mm, nodeInput, "")
			mm = appendStringField(mm, nodeInput, n.inputs[nbitsBias])
		}
	}
	mm = appendStringField(mm, nodeOutput, nn.matmulOut)
	_ = eachField(n.msg, func(f field) error { // parsed before: cannot fail
		if f.num == nodeName || f.num == nodeDocString || f.num == nodeMetadata {
			mm = append(mm, n.msg[f.start:f.end]...)
		}
		return nil
	})
	if nn.w.int8 {
		mm = appendStringField(mm, nodeOpType, "DynamicQuantizeMatMul")
		mm = appendStringField(mm, nodeDomain, "com.microsoft")
		return appendBytesField(dst, graphNode, mm)
	}
	mm = appendStringField(mm, nodeOpType, "MatMul")
	dst = appendBytesField(dst, graphNode, mm)
	if nn.addName == "" {
		return dst
	}
	var add []byte
	add = appendStringField(add, nodeInput, nn.matmulOut)
	add = appendStringField(add, nodeInput, n.inputs[nbitsBias])
	add = appendStringField(add, nodeOutput, n.outputs[0])
	add = appendStringField(add, nodeName, nn.addName)
	add = appendStringField(add, nodeOpType, "Add")
	return appendBytesField(dst, graphNode, add)
}

// pieces are W [K, N] as initializers: float32, or int8 followed by its
// column scales [N], computed as they are written.
func (w *weight) pieces() []Piece {
	k, n := int64(w.k), int64(w.n)
	if !w.int8 {
		return Initializer{w.name, dataTypeFloat, []int64{k, n}, 4 * k * n, w.writeTo}.pieces()
	}
	return append(Initializer{w.name, dataTypeInt8, []int64{k, n}, k * n, w.writeTo}.pieces(),
		Initializer{w.scaleName, dataTypeFloat, []int64{n}, 4 * n, w.writeScales}.pieces()...)
}

// writeScales writes the int8 weight's column scales, little-endian float32.
func (w *weight) writeScales(out io.Writer) error {
	raw := make([]byte, 0, 4*w.n)
	for _, s := range w.columnScales() {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(s))
	}
	_, err := out.Write(raw)
	return err
}

// columnScales are, for int8 weights, each column's largest |W[k][n]| / 127
// (1 for a column of zeros), computed once. Within a block W is monotonic in
// q, so its largest |value| is at the block's smallest or largest q.
func (w *weight) columnScales() []float32 {
	w.scaleOnce.Do(func() {
		w.colScales = make([]float32, w.n)
		blocks := (w.k + w.blockSize - 1) / w.blockSize
		blob := w.blockSize / 2
		for n := range w.n {
			var largest float32
			for blk := range blocks {
				row := w.b[(n*blocks+blk)*blob:]
				lo, hi := byte(0xf), byte(0)
				for j := range min(w.blockSize, w.k-blk*w.blockSize) {
					q := row[j/2] >> (4 * (j & 1)) & 0xf
					lo, hi = min(lo, q), max(hi, q)
				}
				scale, zp := w.blockParams(n, blk)
				largest = max(largest, abs32((float32(lo)-zp)*scale), abs32((float32(hi)-zp)*scale))
			}
			w.colScales[n] = 1
			if largest > 0 {
				w.colScales[n] = largest / 127
			}
		}
	})
	return w.colScales
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// blockParams are the scale and zero point of block blk of column n.
func (w *weight) blockParams(n, blk int) (scale, zp float32) {
	blocks := (w.k + w.blockSize - 1) / w.blockSize
	i := n*blocks + blk
	scale = math.Float32frombits(binary.LittleEndian.Uint32(w.scales[4*i:]))
	switch {
	case w.zpFloat:
		zp = math.Float32frombits(binary.LittleEndian.Uint32(w.zp[4*i:]))
	case w.zp != nil:
		zp = float32(w.zp[n*((blocks+1)/2)+blk/2] >> (4 * (blk & 1)) & 0xf)
	default:
		zp = defaultZeroPoint
	}
	return scale, zp
}

// elemSize is the bytes of one value of W as written.
func (w *weight) elemSize() int {
	if w.int8 {
		return 1
	}
	return 4
}

// writeTo writes W [K, N], little-endian float32 or int8, to out, in
// chunks of whole blocks of rows (dequantChunk bytes or one block,
// whichever is more), each filled by one goroutine per share of the
// columns for large weights.
func (w *weight) writeTo(out io.Writer) error {
	if w.int8 {
		w.columnScales()
	}
	blocks := (w.k + w.blockSize - 1) / w.blockSize
	blockBytes := w.elemSize() * w.blockSize * w.n
	perChunk := max(1, dequantChunk/blockBytes)
	tiles := (w.n + dequantTile - 1) / dequantTile
	workers := 1
	if w.k*w.n >= minParallelWeights {
		workers = min(runtime.GOMAXPROCS(0), tiles)
	}
	buf := make([]byte, min(perChunk, blocks)*blockBytes)
	for blk0 := 0; blk0 < blocks; blk0 += perChunk {
		blk1 := min(blocks, blk0+perChunk)
		raw := buf[:w.elemSize()*(min(w.k, blk1*w.blockSize)-blk0*w.blockSize)*w.n]
		var wg sync.WaitGroup
		for i := range workers {
			lo, hi := tiles*i/workers*dequantTile, min(w.n, tiles*(i+1)/workers*dequantTile)
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.dequantizeColumns(raw, blk0, blk1, lo, hi)
			}()
		}
		wg.Wait()
		if _, err := out.Write(raw); err != nil {
			return err
		}
	}
	return nil
}

// dequantizeColumns writes W's columns [lo, hi) of the rows of blocks
// [blk0, blk1) into raw (which starts at block blk0's first row). It goes
// column by column of each block: the column's 16 possible values are
// computed into a table, then its blob of B (blockSize/2 contiguous bytes)
// is looked up into the block's rows, so B is read in order and each of
// the block's rows is written left to right as the columns advance. Int8
// values are W / the column's scale, rounded to nearest, ties away from
// zero.
func (w *weight) dequantizeColumns(raw []byte, blk0, blk1, lo, hi int) {
	blocks := (w.k + w.blockSize - 1) / w.blockSize
	blob := w.blockSize / 2
	stride := w.elemSize() * w.n
	var table [16]uint32
	for blk := blk0; blk < blk1; blk++ {
		rows := min(w.blockSize, w.k-blk*w.blockSize)
		base := (blk - blk0) * w.blockSize * stride
		for n := lo; n < hi; n++ {
			scale, zp := w.blockParams(n, blk)
			src := w.b[(n*blocks+blk)*blob:][:blob]
			if w.int8 {
				inverse := 1 / w.colScales[n]
				for q := range table {
					table[q] = uint32(roundInt8((float32(q) - zp) * scale * inverse))
				}
				out := raw[base+n:]
				for j := range rows {
					out[j*stride] = byte(table[src[j/2]>>(4*(j&1))&0xf])
				}
				continue
			}
			for q := range table {
				table[q] = math.Float32bits((float32(q) - zp) * scale)
			}
			// Each byte of B holds two rows: the low nibble the even one.
			out := raw[base+4*n:]
			for i, b := range src[:rows/2] {
				row := out[2*i*stride:]
				binary.LittleEndian.PutUint32(row, table[b&0xf])
				binary.LittleEndian.PutUint32(row[stride:], table[b>>4])
			}
			if rows&1 == 1 {
				binary.LittleEndian.PutUint32(out[(rows-1)*stride:], table[src[rows/2]&0xf])
			}
		}
	}
}

// roundInt8 is v rounded to nearest, ties away from zero (math.Round), and
// clamped to [−127, 127], as a two's-complement byte.
func roundInt8(v float32) byte {
	r := float64(v) // v ± 0.5 is exact in float64
	if r < 0 {
		r = max(-127, r-0.5)
	} else {
		r = min(127, r+0.5)
	}
	return byte(int8(r))
}
