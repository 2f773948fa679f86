package onnxedit

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// Tolerances. The dequantized weights must equal the reference formula
// bit for bit (it is one float32 multiplication either way). Model outputs
// differ only by summation order and onnxruntime's 4-bit kernel, which may
// compute q·scale − zp·scale: tolDequantRel of the largest output.
const (
	tolDequantRel = 1e-4
	// tolRefRel bounds a float32 matmul's error against float64.
	tolRefRel = 1e-5
)

// int8ABound bounds, for each output, the error of a MatMulNBits at
// accuracy level 4, which quantizes A to int8 and rounds to nearest, either
// in blocks of a row with a scale of the block's largest |a| / 127 (MLAS on
// x86) or per row with (max − min) / 255 (KleidiAI on Arm): each a moves by
// at most max|a[i]| / 254, so y[i][j] by at most that times Σk |W[k][j]|.
func int8ABound(a, w []float32, m, k, n int) []float64 {
	bound := make([]float64, m*n)
	for i := range m {
		amax := 0.0
		for _, v := range a[i*k : (i+1)*k] {
			amax = max(amax, math.Abs(float64(v)))
		}
		for j := range n {
			sum := 0.0
			for kk := range k {
				sum += math.Abs(float64(w[kk*n+j]))
			}
			bound[i*n+j] = amax / 254 * sum
		}
	}
	return bound
}

// fullSizeQ4Decoder is the regrown (random-weight) full-size q4 decoder that
// bench/regrow writes; TestDequantizeFullSize skips without it.
const fullSizeQ4Decoder = "bin/bench/smolvlm-256m-random/onnx/decoder_model_merged_q4.onnx"

// qcase is a hand-built MatMulNBits node: Y = A [m, k] × W.
type qcase struct {
	name                string
	m, k, n, blockSize  int
	zp                  string // "", "packed" or "float"
	bias                bool
	accuracyLevel       int64
	wantRewrite         bool
	bits, prepacked     int64
	gIdx, f16, bAsInput bool
	// scalesAlsoOut makes scales a graph output too, so it must stay.
	scalesAlsoOut bool
}

// qnode holds a hand-built node's unpacked values and their encoding.
type qnode struct {
	qcase
	q      [][]uint8 // [n][k]
	zps    [][]float32
	scales [][]float32 // [n][block]
	biasV  []float32
	model  []byte
}

func (c qcase) blocks() int { return (c.k + c.blockSize - 1) / c.blockSize }

// buildQNode makes random values for c and encodes them as onnxruntime
// packs them: B [n, blocks, blockSize/2] low nibble first, scales [n·blocks],
// zero points [n, ceil(blocks/2)] low nibble first or [n·blocks] floats.
func buildQNode(c qcase, rng *rand.Rand) qnode {
	if c.bits == 0 {
		c.bits = quantBits
	}
	qn := qnode{qcase: c}
	blocks := c.blocks()
	blob := c.blockSize / 2
	b := make([]byte, c.n*blocks*blob)
	zpPacked := make([]byte, c.n*((blocks+1)/2))
	var scales, zpFloats []byte
	for n := range c.n {
		row := make([]uint8, c.k)
		zrow := make([]float32, blocks)
		srow := make([]float32, blocks)
		for k := range c.k {
			row[k] = uint8(rng.IntN(16))
			i := n*blocks*blob + (k/c.blockSize)*blob + (k%c.blockSize)/2
			b[i] |= row[k] << (4 * (k % 2))
		}
		// Padding nibbles past K are garbage the rewrite must ignore.
		for k := c.k; k < blocks*c.blockSize; k++ {
			i := n*blocks*blob + (k/c.blockSize)*blob + (k%c.blockSize)/2
			b[i] |= 0xf << (4 * (k % 2))
		}
		for blk := range blocks {
			srow[blk] = float32(rng.Float64()*0.2 + 0.01)
			scales = binary.LittleEndian.AppendUint32(scales, math.Float32bits(srow[blk]))
			switch c.zp {
			case "packed":
				z := uint8(rng.IntN(16))
				zrow[blk] = float32(z)
				zpPacked[n*((blocks+1)/2)+blk/2] |= z << (4 * (blk % 2))
			case "float":
				zrow[blk] = float32(rng.Float64() * 15)
				zpFloats = binary.LittleEndian.AppendUint32(zpFloats, math.Float32bits(zrow[blk]))
			default:
				zrow[blk] = defaultZeroPoint
			}
		}
		qn.q, qn.zps, qn.scales = append(qn.q, row), append(qn.zps, zrow), append(qn.scales, srow)
	}
	var g []byte
	g = appendStringField(g, 2, "qnode") // GraphProto.name
	inputs := []string{"A", "B", "scales", "", "", ""}
	sType := dataTypeFloat
	if c.f16 {
		sType = dataTypeFloat16
		half := make([]byte, 0, len(scales)/2)
		for i := 0; i < len(scales); i += 4 {
			half = binary.LittleEndian.AppendUint16(half, 0x2e66) // 0.1
		}
		scales = half
	}
	g = appendBytesField(g, graphInitializer, testTensor("B", dataTypeUint8, []int{c.n, blocks, blob}, b))
	g = appendBytesField(g, graphInitializer, testTensor("scales", sType, []int{c.n * blocks}, scales))
	switch c.zp {
	case "packed":
		inputs[nbitsZeroPoints] = "zp"
		g = appendBytesField(g, graphInitializer, testTensor("zp", dataTypeUint8, []int{c.n * ((blocks + 1) / 2)}, zpPacked))
	case "float":
		inputs[nbitsZeroPoints] = "zp"
		g = appendBytesField(g, graphInitializer, testTensor("zp", dataTypeFloat, []int{c.n * blocks}, zpFloats))
	}
	if c.gIdx {
		inputs[nbitsGIdx] = "g_idx"
	}
	if c.bias {
		inputs[nbitsBias] = "bias"
		var raw []byte
		for range c.n {
			v := float32(rng.NormFloat64())
			qn.biasV = append(qn.biasV, v)
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		g = appendBytesField(g, graphInitializer, testTensor("bias", dataTypeFloat, []int{c.n}, raw))
	}
	for len(inputs) > 3 && inputs[len(inputs)-1] == "" {
		inputs = inputs[:len(inputs)-1]
	}
	var nb []byte
	for _, in := range inputs {
		nb = appendStringField(nb, nodeInput, in)
	}
	nb = appendStringField(nb, nodeOutput, "Y")
	nb = appendStringField(nb, nodeName, "/q/MatMul_Q4")
	nb = appendStringField(nb, nodeOpType, "MatMulNBits")
	for _, a := range []struct {
		name string
		v    int64
	}{{"K", int64(c.k)}, {"N", int64(c.n)}, {"bits", c.bits}, {"block_size", int64(c.blockSize)},
		{"accuracy_level", c.accuracyLevel}, {"weight_prepacked", c.prepacked}} {
		if a.name == "weight_prepacked" && a.v == 0 {
			continue
		}
		var attr []byte
		attr = appendStringField(attr, attrName, a.name)
		attr = appendVarintField(attr, attrInt, uint64(a.v))
		attr = appendVarintField(attr, attrType, 2) // INT
		nb = appendBytesField(nb, nodeAttribute, attr)
	}
	nb = appendStringField(nb, nodeDomain, "com.microsoft")
	// Nodes first, as exporters write them.
	g = append(appendBytesField(nil, graphNode, nb), g...)
	g = appendBytesField(g, graphInput, tvalue{"A", dataTypeFloat, []any{"m", c.k}}.encode())
	if c.bAsInput {
		g = appendBytesField(g, graphInput, tvalue{"B", dataTypeUint8, []any{c.n, blocks, blob}}.encode())
	}
	g = appendBytesField(g, graphOutput, tvalue{"Y", dataTypeFloat, []any{"m", c.n}}.encode())
	if c.scalesAlsoOut {
		g = appendBytesField(g, graphOutput, tvalue{"scales", dataTypeFloat, []any{c.n * blocks}}.encode())
	}
	var mb []byte
	mb = appendVarintField(mb, modelIRVersion, 8)
	mb = appendStringField(mb, 2, "onnxedit-test")
	mb = appendBytesField(mb, modelGraph, g)
	for _, op := range []struct {
		domain  string
		version uint64
	}{{"", 17}, {"com.microsoft", 1}} {
		var o []byte
		o = appendStringField(o, opsetDomain, op.domain)
		o = appendVarintField(o, opsetVersion, op.version)
		mb = appendBytesField(mb, modelOpsetImport, o)
	}
	qn.model = mb
	return qn
}

// testTensor encodes a TensorProto with raw_data.
func testTensor(name string, dataType int, dims []int, raw []byte) []byte {
	var t []byte
	for _, d := range dims {
		t = appendVarintField(t, tensorDims, uint64(d))
	}
	t = appendVarintField(t, tensorDataType, uint64(dataType))
	t = appendStringField(t, tensorName, name)
	return appendBytesField(t, tensorRawData, raw)
}

// refWeight is the contract's formula, value by value: W[k][n] =
// (q[n][k] − zp[n][k/bs]) · scale[n][k/bs].
func (qn qnode) refWeight() []float32 {
	w := make([]float32, qn.k*qn.n)
	for n := range qn.n {
		for k := range qn.k {
			blk := k / qn.blockSize
			w[k*qn.n+n] = (float32(qn.q[n][k]) - qn.zps[n][blk]) * qn.scales[n][blk]
		}
	}
	return w
}

// initFloats reads the float32 initializer called name, and its dims.
func initFloats(t *testing.T, model []byte, name string) ([]float32, []int64) {
	t.Helper()
	_, g, err := parseModelGraph(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	msg, ok, err := g.tensor(name)
	if !ok || err != nil {
		t.Fatalf("no initializer %q", name)
	}
	var dims []int64
	_ = eachField(msg, func(f field) error {
		if f.num == tensorDims {
			if f.typ != wireVarint {
				t.Errorf("%s: packed dims; want unpacked", name)
			}
			dims, _ = f.int64s(dims)
		}
		return nil
	})
	raw, dt, ok := g.initData(name)
	if !ok || dt != dataTypeFloat {
		t.Fatalf("%s: data type %d, readable %v", name, dt, ok)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, dims
}

// graphSummary counts the main graph's operators and initializers, and
// the MatMulNBits nodes inside subgraphs.
type graphSummary struct {
	ops           map[string]int
	inits         []string
	subgraphNBits int
	// kinds counts the MatMulNBits nodes by their attributes and inputs.
	kinds map[string]int
}

func summarize(t *testing.T, model []byte) graphSummary {
	t.Helper()
	_, g, err := parseModelGraph(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	s := graphSummary{ops: map[string]int{}, kinds: map[string]int{}}
	for _, n := range g.nodes {
		s.ops[n.opType]++
		if n.opType == "MatMulNBits" {
			a, err := intAttrs(&n)
			if err != nil {
				t.Fatal(err)
			}
			s.kinds[fmt.Sprintf("block_size=%d accuracy_level=%d zero_points=%v bias=%v",
				a["block_size"], a["accuracy_level"], hasInput(&n, nbitsZeroPoints), hasInput(&n, nbitsBias))]++
		}
		s.subgraphNBits += countSubgraphOps(t, n.msg, "MatMulNBits")
	}
	for name := range g.inits {
		s.inits = append(s.inits, name)
	}
	slices.Sort(s.inits)
	return s
}

func countSubgraphOps(t *testing.T, node []byte, op string) int {
	count := 0
	err := eachField(node, func(f field) error {
		if f.num != nodeAttribute {
			return nil
		}
		return eachField(f.data, func(f field) error {
			if f.num != attrGraph && f.num != attrGraphs {
				return nil
			}
			return eachField(f.data, func(f field) error {
				if f.num == graphNode {
					n, err := parseNode(f.data)
					if n.opType == op {
						count++
					}
					count += countSubgraphOps(t, f.data, op)
					return err
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return count
}

func newEngine(tb testing.TB) *ortnative.Engine {
	tb.Helper()
	e, err := ortnative.New(ortnative.Options{})
	if err != nil {
		tb.Skipf("no native onnxruntime: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func loadBytes(tb testing.TB, e *ortnative.Engine, name string, model []byte) engine.Session {
	tb.Helper()
	s, err := e.LoadSessionBytes(context.Background(), name, model)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Release)
	return s
}

func runAll(tb testing.TB, s engine.Session, in map[string]engine.Tensor) map[string][]float32 {
	tb.Helper()
	out, err := s.Run(context.Background(), in, nil)
	if err != nil {
		tb.Fatal(err)
	}
	vals := map[string][]float32{}
	for name, t := range out {
		n, err := engine.NumElements(t.Shape())
		if err != nil {
			tb.Fatal(err)
		}
		if vals[name], err = t.Float32s(0, n); err != nil {
			tb.Fatal(err)
		}
		t.Release()
	}
	return vals
}

// maxDiff is the largest |a[i]-b[i]| and the largest |a[i]|.
func maxDiff(a, b []float32) (diff, scale float64) {
	for i := range a {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(a[i])))
	}
	return diff, scale
}

// checkWithin checks |want[i] − got[i]| ≤ bound[i] (plus float32
// rounding of the largest value) for every output value.
func checkWithin(t *testing.T, name string, want, got []float32, bound []float64) {
	t.Helper()
	diff, scale := maxDiff(want, got)
	worst := 0.0
	for i := range want {
		diff := math.Abs(float64(want[i]) - float64(got[i]))
		worst = max(worst, diff/bound[i])
		if diff > bound[i]+tolRefRel*scale {
			t.Errorf("%s: value %d off by %.3g, bound %.3g", name, i, diff, bound[i])
			return
		}
	}
	t.Logf("%s: max abs diff %.3g (largest %.3g), worst error %.2f of its bound", name, diff, scale, worst)
}

// checkClose compares two runs' outputs within tol of each output's
// largest value.
func checkClose(t *testing.T, tol float64, want, got map[string][]float32) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	worst := 0.0
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		w, g := want[name], got[name]
		if len(w) != len(g) {
			t.Fatalf("%s: %d values, want %d", name, len(g), len(w))
		}
		diff, scale := maxDiff(w, g)
		if scale > 0 {
			worst = max(worst, diff/scale)
		}
		if diff > tol*scale {
			t.Errorf("%s: max abs diff %.3g, largest value %.3g, tolerance %.3g", name, diff, scale, tol*scale)
		}
	}
	t.Logf("%d outputs: worst max abs diff %.3g of the largest value", len(want), worst)
}

func TestDequantizeHandBuilt(t *testing.T) {
	cases := []qcase{
		{name: "packed zero points, odd blocks, K not a multiple", m: 3, k: 40, n: 5, blockSize: 16, zp: "packed", wantRewrite: true},
		{name: "default zero point", m: 2, k: 64, n: 7, blockSize: 32, wantRewrite: true},
		{name: "K odd: a last block of odd rows", m: 2, k: 41, n: 3, blockSize: 16, zp: "packed", wantRewrite: true},
		{name: "float zero points", m: 2, k: 48, n: 3, blockSize: 16, zp: "float", wantRewrite: true},
		{name: "bias", m: 4, k: 32, n: 6, blockSize: 16, zp: "packed", bias: true, wantRewrite: true},
		{name: "accuracy level 4", m: 2, k: 96, n: 9, blockSize: 32, zp: "packed", accuracyLevel: 4, wantRewrite: true},
		{name: "scales also an output", m: 1, k: 32, n: 2, blockSize: 16, scalesAlsoOut: true, wantRewrite: true},
		{name: "8 bits: left", m: 1, k: 32, n: 2, blockSize: 16, bits: 8},
		{name: "prepacked: left", m: 1, k: 32, n: 2, blockSize: 16, prepacked: 1},
		{name: "g_idx: left", m: 1, k: 32, n: 2, blockSize: 16, gIdx: true},
		{name: "float16 scales: left", m: 1, k: 32, n: 2, blockSize: 16, f16: true},
		{name: "B a graph input: left", m: 1, k: 32, n: 2, blockSize: 16, bAsInput: true},
	}
	e := newEngine(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qn := buildQNode(c, rand.New(rand.NewPCG(uint64(i), 7)))
			out, err := DequantizeMatMulNBits(qn.model)
			if err != nil {
				t.Fatal(err)
			}
			if !c.wantRewrite {
				if unsafe.SliceData(out) != unsafe.SliceData(qn.model) || !HasMatMulNBits(out) {
					t.Error("a node to leave was rewritten")
				}
				return
			}
			if HasMatMulNBits(out) || !HasMatMulNBits(qn.model) {
				t.Fatalf("HasMatMulNBits: original %v, rewritten %v", HasMatMulNBits(qn.model), HasMatMulNBits(out))
			}
			s := summarize(t, out)
			wantInits := []string{"B"}
			if c.bias {
				wantInits = append(wantInits, "bias")
			}
			if c.scalesAlsoOut {
				wantInits = append(wantInits, "scales")
			}
			wantInits[0] = "B_fp32"
			slices.Sort(wantInits)
			if !slices.Equal(s.inits, wantInits) {
				t.Errorf("initializers %q, want %q", s.inits, wantInits)
			}
			wantOps := map[string]int{"MatMul": 1}
			if c.bias {
				wantOps["Add"] = 1
			}
			if fmt.Sprint(s.ops) != fmt.Sprint(wantOps) {
				t.Errorf("operators %v, want %v", s.ops, wantOps)
			}
			w, dims := initFloats(t, out, "B_fp32")
			if !slices.Equal(dims, []int64{int64(c.k), int64(c.n)}) {
				t.Errorf("W dims %v, want [%d %d]", dims, c.k, c.n)
			}
			ref := qn.refWeight()
			for i := range ref {
				if math.Float32bits(w[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("W[%d][%d] = %g, want %g", i/c.n, i%c.n, w[i], ref[i])
				}
			}
			// onnxruntime running the original node is the real contract.
			a := make([]float32, c.m*c.k)
			for i := range a {
				a[i] = float32(rand.NormFloat64())
			}
			at, err := e.NewTensor(engine.Float32, []int64{int64(c.m), int64(c.k)}, a)
			if err != nil {
				t.Fatal(err)
			}
			defer at.Release()
			in := map[string]engine.Tensor{"A": at}
			want := runAll(t, loadBytes(t, e, "original", qn.model), in)
			got := runAll(t, loadBytes(t, e, "rewritten", out), in)
			// And both against A × W in float64. With accuracy level 4,
			// onnxruntime quantizes A to int8: the original is off by up
			// to int8ABound, the rewrite is exact as ever.
			y := make([]float32, c.m*c.n)
			for i := range c.m {
				for j := range c.n {
					sum := 0.0
					for k := range c.k {
						sum += float64(a[i*c.k+k]) * float64(ref[k*c.n+j])
					}
					if c.bias {
						sum += float64(qn.biasV[j])
					}
					y[i*c.n+j] = float32(sum)
				}
			}
			if c.accuracyLevel != 4 {
				checkClose(t, tolRefRel, want, got)
			} else {
				checkWithin(t, "onnxruntime original", y, want["Y"], int8ABound(a, ref, c.m, c.k, c.n))
			}
			diff, scale := maxDiff(y, got["Y"])
			t.Logf("onnxruntime rewritten vs A×W in float64: max abs diff %.3g (largest %.3g)", diff, scale)
			if diff > tolRefRel*scale {
				t.Errorf("onnxruntime rewritten differs from A×W by %.3g, tolerance %.3g", diff, tolRefRel*scale)
			}
		})
	}
}

// A weight shared by two nodes is written once; an initializer that
// another node reads stays.
func TestDequantizeShared(t *testing.T) {
	qn := buildQNode(qcase{m: 1, k: 32, n: 4, blockSize: 16, zp: "packed"}, rand.New(rand.NewPCG(1, 1)))
	m, _ := parseModel(memSource(qn.model))
	g, _ := m.parseGraph()
	first := g.nodes[0]
	second := slices.Clone(first.msg)
	second, _, _ = replaceNth(second, nodeOutput, 0, func([]byte) ([]byte, error) { return []byte("Y2"), nil })
	second, _, _ = replaceNth(second, nodeName, 0, func([]byte) ([]byte, error) { return []byte("/q2/MatMul_Q4"), nil })
	// Cast(zp, to=FLOAT) reads zp.
	var to []byte
	to = appendStringField(to, attrName, "to")
	to = appendVarintField(to, attrInt, dataTypeFloat)
	to = appendVarintField(to, attrType, 2) // INT
	cast := appendBytesField(tnode{op: "Cast", name: "/keep", in: []string{"zp"}, out: []string{"zp_float"}}.encode(), nodeAttribute, to)
	extra := appendBytesField(appendBytesField(nil, graphNode, second), graphNode, cast)
	extra = appendBytesField(extra, graphOutput, tvalue{"Y2", dataTypeFloat, []any{"m", 4}}.encode())
	extra = appendBytesField(extra, graphOutput, tvalue{"zp_float", dataTypeFloat, []any{4}}.encode())
	model, err := withEdits(qn.model, edit{first.at.end, first.at.end, []Piece{literal(extra)}})
	if err != nil {
		t.Fatal(err)
	}

	out, err := DequantizeMatMulNBits(model)
	if err != nil {
		t.Fatal(err)
	}
	s := summarize(t, out)
	if want := []string{"B_fp32", "zp"}; !slices.Equal(s.inits, want) {
		t.Errorf("initializers %q, want %q", s.inits, want)
	}
	if s.ops["MatMul"] != 2 || s.ops["MatMulNBits"] != 0 {
		t.Errorf("operators %v, want two MatMuls", s.ops)
	}
	e := newEngine(t)
	at, err := e.NewTensor(engine.Float32, []int64{1, 32}, make([]float32, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	in := map[string]engine.Tensor{"A": at}
	checkClose(t, tolDequantRel, runAll(t, loadBytes(t, e, "original", model), in), runAll(t, loadBytes(t, e, "rewritten", out), in))
}

func TestDequantizeErrors(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not onnx"), {0x0a, 0xff}} {
		if _, err := DequantizeMatMulNBits(b); err == nil {
			t.Errorf("DequantizeMatMulNBits(%q): no error", b)
		}
		if HasMatMulNBits(b) {
			t.Errorf("HasMatMulNBits(%q) = true", b)
		}
	}
	// Every truncation of a valid model errors or returns a model; none
	// panics.
	qn := buildQNode(qcase{m: 1, k: 32, n: 2, blockSize: 16, zp: "packed", bias: true}, rand.New(rand.NewPCG(2, 2)))
	for i := range len(qn.model) {
		_, _ = DequantizeMatMulNBits(qn.model[:i])
	}
}

// fixtureInputs builds one run's inputs for a fixture model: for the
// decoder a 7-token prefill of random embeddings and an empty cache, for
// the vision encoder one random image of the configured size.
func fixtureInputs(t *testing.T, e *ortnative.Engine, s engine.Session, dir string) map[string]engine.Tensor {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Text struct {
			Hidden  int64 `json:"hidden_size"`
			KVHeads int64 `json:"num_key_value_heads"`
			HeadDim int64 `json:"head_dim"`
		} `json:"text_config"`
		Vision struct {
			ImageSize int64 `json:"image_size"`
		} `json:"vision_config"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	const seq = 7
	rng := rand.New(rand.NewPCG(5, 6))
	tensor := func(dt engine.DType, shape []int64, data any) engine.Tensor {
		tt, err := e.NewTensor(dt, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tt.Release)
		return tt
	}
	randoms := func(n int64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	in := map[string]engine.Tensor{}
	for _, info := range s.Inputs() {
		img := cfg.Vision.ImageSize
		switch {
		case info.Name == "inputs_embeds":
			in[info.Name] = tensor(engine.Float32, []int64{1, seq, cfg.Text.Hidden}, randoms(seq*cfg.Text.Hidden))
		case info.Name == "attention_mask":
			in[info.Name] = tensor(engine.Int64, []int64{1, seq}, slices.Repeat([]int64{1}, seq))
		case info.Name == "position_ids":
			in[info.Name] = tensor(engine.Int64, []int64{1, seq}, []int64{0, 1, 2, 3, 4, 5, 6})
		case strings.HasPrefix(info.Name, "past_key_values."):
			in[info.Name] = tensor(engine.Float32, []int64{1, cfg.Text.KVHeads, 0, cfg.Text.HeadDim}, []float32{})
		case info.Name == "pixel_values":
			in[info.Name] = tensor(engine.Float32, []int64{1, 1, 3, img, img}, randoms(3*img*img))
		case info.Name == "pixel_attention_mask":
			in[info.Name] = tensor(engine.Bool, []int64{1, 1, img, img}, slices.Repeat([]bool{true}, int(img*img)))
		default:
			t.Fatalf("unexpected input %q %v", info.Name, info.Shape)
		}
	}
	return in
}

// TestDequantizeFixture rewrites the tiny fixture's q4 models and runs
// each against its original on onnxruntime.
func TestDequantizeFixture(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	e := newEngine(t)
	for _, name := range []string{"vision_encoder_q4", "decoder_model_merged_q4", "embed_tokens_q4"} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join(dir, "onnx", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := DequantizeMatMulNBits(orig)
			if err != nil {
				t.Fatal(err)
			}
			before, after := summarize(t, orig), summarize(t, out)
			t.Logf("%d → %d bytes; MatMulNBits %d → %d, MatMul %d → %d, Add %d → %d; If nodes %d, MatMulNBits in subgraphs %d",
				len(orig), len(out), before.ops["MatMulNBits"], after.ops["MatMulNBits"], before.ops["MatMul"], after.ops["MatMul"],
				before.ops["Add"], after.ops["Add"], before.ops["If"], before.subgraphNBits)
			t.Logf("MatMulNBits nodes: %v", before.kinds)
			if HasMatMulNBits(out) {
				t.Errorf("%d MatMulNBits left", after.ops["MatMulNBits"])
			}
			if before.ops["MatMulNBits"] == 0 {
				if unsafe.SliceData(out) != unsafe.SliceData(orig) {
					t.Error("a model without MatMulNBits was copied")
				}
				return
			}
			if after.ops["MatMul"] != before.ops["MatMul"]+before.ops["MatMulNBits"] {
				t.Errorf("%d MatMuls, want %d", after.ops["MatMul"], before.ops["MatMul"]+before.ops["MatMulNBits"])
			}
			again, err := DequantizeMatMulNBits(out)
			if err != nil || unsafe.SliceData(again) != unsafe.SliceData(out) {
				t.Errorf("second rewrite: err %v, returned as it is: %v", err, unsafe.SliceData(again) == unsafe.SliceData(out))
			}
			so, sr := loadBytes(t, e, "original", orig), loadBytes(t, e, "rewritten", out)
			in := fixtureInputs(t, e, so, dir)
			checkClose(t, tolDequantRel, runAll(t, so, in), runAll(t, sr, in))
		})
	}
}

// TestDequantizeFullSize rewrites the regrown full-size q4 decoder (random
// weights of the real shapes) and loads the result in onnxruntime.
func TestDequantizeFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full size: not in -short")
	}
	path := filepath.Join(fixture.Root(), fullSizeQ4Decoder)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no regrown q4 decoder: %v", err)
	}
	start := time.Now()
	out, err := DequantizeMatMulNBits(orig)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	before, after := summarize(t, orig), summarize(t, out)
	t.Logf("rewrite: %d → %d bytes (%.1f MB → %.1f MB) in %v; MatMulNBits %d → %d, MatMul %d → %d; MatMulNBits in subgraphs %d",
		len(orig), len(out), float64(len(orig))/1e6, float64(len(out))/1e6, took,
		before.ops["MatMulNBits"], after.ops["MatMulNBits"], before.ops["MatMul"], after.ops["MatMul"], before.subgraphNBits)
	t.Logf("MatMulNBits nodes: %v; If nodes %d", before.kinds, before.ops["If"])
	if HasMatMulNBits(out) {
		t.Errorf("%d MatMulNBits left", after.ops["MatMulNBits"])
	}
	orig = nil
	e := newEngine(t)
	start = time.Now()
	s := loadBytes(t, e, "rewritten", out)
	t.Logf("onnxruntime loads it in %v: %d inputs, %d outputs", time.Since(start), len(s.Inputs()), len(s.Outputs()))
}

// TestDequantizeSkeleton reports the node structure of the full-size q4
// graphs (their large initializers stripped, so nothing is rewritten) named
// by skeletonEnv.
func TestDequantizeSkeleton(t *testing.T) {
	dir := os.Getenv("SMOLVLM_SKELETON")
	if dir == "" {
		t.Skip("set SMOLVLM_SKELETON to an unpacked smolvlm-256m-skeleton folder")
	}
	for _, name := range []string{"vision_encoder_q4", "decoder_model_merged_q4", "embed_tokens_q4"} {
		b, err := os.ReadFile(filepath.Join(dir, "onnx", name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		s := summarize(t, b)
		t.Logf("%s: MatMulNBits %d (%v), MatMul %d, If %d, Loop %d, MatMulNBits in subgraphs %d",
			name, s.ops["MatMulNBits"], s.kinds, s.ops["MatMul"], s.ops["If"], s.ops["Loop"], s.subgraphNBits)
	}
}

// BenchmarkDequantizeFullSize times the rewrite of the regrown q4 decoder.
func BenchmarkDequantizeFullSize(b *testing.B) {
	orig, err := os.ReadFile(filepath.Join(fixture.Root(), fullSizeQ4Decoder))
	if err != nil {
		b.Skipf("no regrown q4 decoder: %v", err)
	}
	for _, bc := range []struct {
		name    string
		rewrite func([]byte) ([]byte, error)
	}{{"float32", DequantizeMatMulNBits}, {"int8", RequantizeMatMulNBitsInt8}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := bc.rewrite(orig)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(out)))
			}
		})
	}
}

// chunkRecorder is an io.Writer that keeps what it is given and the size
// of the largest write.
type chunkRecorder struct {
	out     []byte
	largest int
}

func (w *chunkRecorder) Write(b []byte) (int, error) {
	w.out = append(w.out, b...)
	w.largest = max(w.largest, len(b))
	return len(b), nil
}

// TestPlanDequantizeStreams plans the rewrite of a weight several chunks
// large through an io.ReaderAt and assembles it piece by piece: the bytes
// are DequantizeMatMulNBits's, the planner reads the file about once, the
// float32 weight comes in chunks of at most dequantChunk (or one block of
// rows), and the Go heap never holds the float32 weight whole.
func TestPlanDequantizeStreams(t *testing.T) {
	c := qcase{m: 1, k: 1000, n: 8200, blockSize: 16, zp: "packed", bias: true}
	qn := buildQNode(c, rand.New(rand.NewPCG(3, 3)))
	want, err := DequantizeMatMulNBits(qn.model)
	if err != nil {
		t.Fatal(err)
	}
	weightBytes := 4 * c.k * c.n
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := &countingReader{r: bytes.NewReader(qn.model)}
	p, err := PlanDequantizeMatMulNBits(r, int64(len(qn.model)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != int64(len(want)) {
		t.Fatalf("plan of %d bytes, DequantizeMatMulNBits wrote %d", p.Size, len(want))
	}
	got := make([]byte, 0, p.Size)
	fills, largest, test := 0, 0, int64(p.Size)
	for _, pc := range p.Pieces {
		switch {
		case pc.Fill != nil:
			fills++
			rec := &chunkRecorder{out: make([]byte, 0, pc.Len)}
			test += pc.Len
			if err := pc.Fill(rec); err != nil {
				t.Fatal(err)
			}
			if int64(len(rec.out)) != pc.Len {
				t.Fatalf("a fill wrote %d bytes, its Len is %d", len(rec.out), pc.Len)
			}
			largest = max(largest, rec.largest)
			got = append(got, rec.out...)
			rec.out = nil
		case pc.Data != nil:
			got = append(got, pc.Data...)
		default:
			got = append(got, qn.model[pc.Off:pc.Off+pc.Len]...)
		}
	}
	runtime.ReadMemStats(&after)
	if !bytes.Equal(got, want) {
		t.Fatalf("assembled plan: %d bytes, sha256 %s; DequantizeMatMulNBits: %d bytes, sha256 %s", len(got), sha(got), len(want), sha(want))
	}
	if fills != 1 {
		t.Errorf("%d computed pieces, want 1 (one weight)", fills)
	}
	if maxChunk := max(dequantChunk, 4*c.blockSize*c.n); largest > maxChunk || largest < dequantChunk/2 {
		t.Errorf("largest chunk %d bytes, want %d at most and more than %d", largest, maxChunk, dequantChunk/2)
	}
	if r.bytes > int64(len(qn.model))*11/10 {
		t.Errorf("read %d bytes of a %d-byte file", r.bytes, len(qn.model))
	}
	// What the test itself keeps (got, the recorder's copy) is twice the
	// float32 weight; the rewrite's own allocations are the file it read and
	// a chunk or two, far less than the weight (the whole file assembled in
	// Go, as DequantizeMatMulNBits does, is more than that).
	own := int64(after.TotalAlloc-before.TotalAlloc) - test
	t.Logf("%d-byte file, %d-byte float32 weight: read %d bytes in %d reads; largest chunk %d bytes; allocated %d bytes besides the test's copy",
		len(qn.model), weightBytes, r.bytes, r.calls, largest, own)
	if limit := int64(len(qn.model)) + 2*dequantChunk + 1<<20; own > limit || limit > int64(weightBytes) {
		t.Errorf("allocated %d bytes for a %d-byte float32 weight, want at most %d", own, weightBytes, limit)
	}
}

// TestPlanDequantizeAfterLastToken composes the two rewrites the browser
// applies to a q4 decoder: the plan assembles to the bytes of the one after
// the other, and a plan with computed pieces cannot go first.
func TestPlanDequantizeAfterLastToken(t *testing.T) {
	model := readDecoder(t, "_q4")
	last, err := LastTokenLogits(model)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DequantizeMatMulNBits(last)
	if err != nil {
		t.Fatal(err)
	}
	src := bytes.NewReader(model)
	first, err := PlanLastTokenLogits(src, int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := first.Then(src, PlanDequantizeMatMulNBits)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Apply(model); !bytes.Equal(got, want) {
		t.Errorf("composed plan: %d bytes, sha256 %s; one after the other: %d bytes, sha256 %s", len(got), sha(got), len(want), sha(want))
	}
	if _, err := p.Then(src, PlanLastTokenLogits); err == nil {
		t.Error("a plan with computed pieces composed as the first of two")
	}
}

// int8Bound bounds, for each output, the error of DynamicQuantizeMatMul
// with W8 = round(W / cs) per column (each weight off by at most cs[j]/2)
// and A quantized to uint8 per tensor with scale (max(0, max a) −
// min(0, min a)) / 255 (each a off by at most half that): |Δy[i][j]| ≤
// Σk |a[i][k]|·cs[j]/2 + sa/2·Σk (|W[k][j]| + cs[j]/2).
func int8Bound(a, w, cs []float32, m, k, n int) []float64 {
	lo, hi := 0.0, 0.0
	for _, v := range a {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	sa := (hi - lo) / 255
	bound := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var sumA, sumW float64
			for kk := range k {
				sumA += math.Abs(float64(a[i*k+kk]))
				sumW += math.Abs(float64(w[kk*n+j])) + float64(cs[j])/2
			}
			bound[i*n+j] = sumA*float64(cs[j])/2 + sa/2*sumW
		}
	}
	return bound
}

// TestRequantizeInt8HandBuilt checks the int8 rewrite's weights against
// the formula, and onnxruntime running it against A × W in float64 within
// the error its two quantizations allow.
func TestRequantizeInt8HandBuilt(t *testing.T) {
	cases := []qcase{
		{name: "packed zero points, odd blocks, K not a multiple", m: 3, k: 40, n: 5, blockSize: 16, zp: "packed"},
		{name: "default zero point", m: 2, k: 64, n: 7, blockSize: 32},
		{name: "float zero points", m: 2, k: 48, n: 3, blockSize: 16, zp: "float"},
		{name: "bias", m: 4, k: 32, n: 6, blockSize: 16, zp: "packed", bias: true},
		{name: "wide", m: 5, k: 256, n: 300, blockSize: 32, zp: "packed", bias: true},
	}
	e := newEngine(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qn := buildQNode(c, rand.New(rand.NewPCG(uint64(i), 11)))
			out, err := RequantizeMatMulNBitsInt8(qn.model)
			if err != nil {
				t.Fatal(err)
			}
			s := summarize(t, out)
			wantInits := []string{"B_int8", "B_int8_scale"}
			if c.bias {
				wantInits = append(wantInits, "bias")
			}
			if !slices.Equal(s.inits, wantInits) {
				t.Errorf("initializers %q, want %q", s.inits, wantInits)
			}
			if want := map[string]int{"DynamicQuantizeMatMul": 1}; fmt.Sprint(s.ops) != fmt.Sprint(want) {
				t.Errorf("operators %v, want %v", s.ops, want)
			}
			ref := qn.refWeight()
			cs := make([]float32, c.n)
			for j := range c.n {
				var largest float32
				for k := range c.k {
					largest = max(largest, float32(math.Abs(float64(ref[k*c.n+j]))))
				}
				cs[j] = largest / 127
			}
			gotScales, dims := initFloats(t, out, "B_int8_scale")
			if !slices.Equal(gotScales, cs) || !slices.Equal(dims, []int64{int64(c.n)}) {
				t.Fatalf("scales %v %v, want %v [%d]", gotScales, dims, cs, c.n)
			}
			m, _ := parseModel(memSource(out))
			g, _ := m.parseGraph()
			w8, dt, ok := g.initData("B_int8")
			if !ok || dt != dataTypeInt8 || len(w8) != c.k*c.n {
				t.Fatalf("B_int8: type %d, %d bytes, readable %v", dt, len(w8), ok)
			}
			for idx, v := range ref {
				want := int8(math.Round(float64(v * (1 / cs[idx%c.n]))))
				if got := int8(w8[idx]); got != want {
					t.Fatalf("W8[%d][%d] = %d, want %d", idx/c.n, idx%c.n, got, want)
				}
			}
			a := make([]float32, c.m*c.k)
			for i := range a {
				a[i] = float32(rand.NormFloat64())
			}
			at, err := e.NewTensor(engine.Float32, []int64{int64(c.m), int64(c.k)}, a)
			if err != nil {
				t.Fatal(err)
			}
			defer at.Release()
			got := runAll(t, loadBytes(t, e, "rewritten", out), map[string]engine.Tensor{"A": at})
			y := make([]float32, c.m*c.n)
			for i := range c.m {
				for j := range c.n {
					sum := 0.0
					for k := range c.k {
						sum += float64(a[i*c.k+k]) * float64(ref[k*c.n+j])
					}
					if c.bias {
						sum += float64(qn.biasV[j])
					}
					y[i*c.n+j] = float32(sum)
				}
			}
			checkWithin(t, "onnxruntime rewritten", y, got["Y"], int8Bound(a, ref, cs, c.m, c.k, c.n))
		})
	}
}

// relRMS is the root mean square of want − got over that of want.
func relRMS(want, got []float32) float64 {
	var d, w float64
	for i := range want {
		d += (float64(want[i]) - float64(got[i])) * (float64(want[i]) - float64(got[i]))
		w += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(d / w)
}

// TestRequantizeInt8Fixture rewrites the tiny fixture's q4 models to int8
// weights and measures how far their outputs move from the q4 originals'
// on onnxruntime, against how far q4's move from fp32's: int8 must add at
// most a third of the error the 4-bit quantization itself makes (measured:
// 0.11–0.18 of it).
func TestRequantizeInt8Fixture(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	e := newEngine(t)
	for _, name := range []string{"vision_encoder_q4", "decoder_model_merged_q4"} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join(dir, "onnx", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := RequantizeMatMulNBitsInt8(orig)
			if err != nil {
				t.Fatal(err)
			}
			if HasMatMulNBits(out) {
				t.Error("MatMulNBits left")
			}
			so, sr := loadBytes(t, e, "original", orig), loadBytes(t, e, "rewritten", out)
			in := fixtureInputs(t, e, so, dir)
			want, got := runAll(t, so, in), runAll(t, sr, in)
			// The yardstick: how far q4 itself is from fp32.
			fp32, err := os.ReadFile(filepath.Join(dir, "onnx", strings.TrimSuffix(name, "_q4")+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			ref := runAll(t, loadBytes(t, e, "fp32", fp32), in)
			for _, k := range slices.Sorted(maps.Keys(want)) {
				if strings.HasPrefix(k, "present.") && k != "present.0.key" {
					continue
				}
				diff, scale := maxDiff(want[k], got[k])
				int8Err, q4Err := relRMS(want[k], got[k]), relRMS(ref[k], want[k])
				t.Logf("%s: int8 against q4: rms error %.3g of rms, max abs diff %.3g of largest %.3g; q4 against fp32: rms error %.3g",
					k, int8Err, diff, scale, q4Err)
				if int8Err > q4Err/3 {
					t.Errorf("%s: int8 moves %.3g (rms) from q4, more than a third of q4's own %.3g from fp32", k, int8Err, q4Err)
				}
			}
		})
	}
}
