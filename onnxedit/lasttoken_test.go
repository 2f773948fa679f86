package onnxedit

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// decoderVariants are the fixture's decoder exports and where their lm_head
// is: the logits output comes straight from it in every variant.
var decoderVariants = []struct {
	variant, op, name string
}{
	{"", "MatMul", "/head/MatMul"},
	{"_fp16", "MatMul", "/head/MatMul"},
	{"_q4", "MatMulNBits", "/head/MatMul_Q4"},
	{"_q4f16", "MatMulNBits", "/head/MatMul_Q4"},
}

// readDecoder reads a fixture decoder file.
func readDecoder(tb testing.TB, variant string) []byte {
	tb.Helper()
	dir, err := fixture.ModelDir()
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "onnx", "decoder_model_merged"+variant+".onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestLastTokenLogitsFixture(t *testing.T) {
	for _, tc := range decoderVariants {
		t.Run("decoder"+tc.variant, func(t *testing.T) {
			orig := readDecoder(t, tc.variant)
			_, g, head, err := locate(memSource(orig))
			if err != nil {
				t.Fatal(err)
			}
			if head.node.opType != tc.op || head.node.name != tc.name || !slices.Equal(head.chain, []string{LogitsOutput}) {
				t.Errorf("lm_head %s %q via %q, want %s %q straight to logits", head.node.opType, head.node.name, head.chain, tc.op, tc.name)
			}
			t.Logf("lm_head: node %d of %d, %s %q (domain %q), reads %q", g.producer[head.node.outputs[0]],
				len(g.nodes), head.node.opType, head.node.name, head.node.domain, head.hidden())
			if IsLastTokenLogits(orig) {
				t.Fatal("IsLastTokenLogits(original) = true")
			}
			out, err := LastTokenLogits(orig)
			if err != nil {
				t.Fatal(err)
			}
			checkRewrite(t, orig, out, head.chain)
			t.Logf("%d bytes → %d bytes", len(orig), len(out))
		})
	}
}

// checkRewrite checks out against orig: the Slice and its Constants right
// before the lm_head, the lm_head reading the Slice, the values in chain
// declared with a sequence dimension of 1, every other byte as it was, and
// a second rewrite a no-op.
func checkRewrite(t *testing.T, orig, out []byte, chain []string) {
	t.Helper()
	if !IsLastTokenLogits(out) {
		t.Error("IsLastTokenLogits(rewritten) = false")
	}
	again, err := LastTokenLogits(out)
	if err != nil || unsafe.SliceData(again) != unsafe.SliceData(out) || len(again) != len(out) {
		t.Errorf("second rewrite: err %v, returned the input unchanged: %v", err, unsafe.SliceData(again) == unsafe.SliceData(out))
	}
	mo, err := parseModel(memSource(orig))
	if err != nil {
		t.Fatal(err)
	}
	mr, err := parseModel(memSource(out))
	if err != nil {
		t.Fatalf("rewritten model: %v", err)
	}
	if !bytes.Equal(orig[:mo.graph.start], out[:mr.graph.start]) || !bytes.Equal(orig[mo.graph.end:], out[mr.graph.end:]) {
		t.Error("bytes outside the graph changed")
	}
	gr, err := mr.parseGraph()
	if err != nil {
		t.Fatal(err)
	}
	headOrig, headNew := mustHead(t, orig), mustHead(t, out)
	slice := gr.nodes[gr.producer[headNew.hidden()]]
	if !slice.is("Slice") || slice.inputs[0] != headOrig.hidden() {
		t.Fatalf("lm_head reads %s(%q), want Slice(%q)", slice.opType, slice.inputs, headOrig.hidden())
	}
	for i, want := range []int64{-1, math.MaxInt64, 1} {
		if v, ok := gr.constInt64s(slice.inputs[i+1]); !ok || !slices.Equal(v, []int64{want}) {
			t.Errorf("Slice input %d = %v (ok %v), want [%d]", i+1, v, ok, want)
		}
	}

	// Field by field, the graphs differ only in the four new nodes, the
	// lm_head and the value infos of chain.
	gOrig, gNew := orig[mo.graph.payload:mo.graph.end], out[mr.graph.payload:mr.graph.end]
	fo, fr := graphFields(t, gOrig), graphFields(t, gNew)
	if len(fr) != len(fo)+4 {
		t.Fatalf("rewritten graph has %d fields, want %d + 4", len(fr), len(fo))
	}
	j := 0
	for _, f := range fo {
		switch {
		case f.num == graphNode && mo.graph.payload+int64(f.start) == headOrig.node.at.start:
			var added []string
			for _, n := range fr[j : j+4] {
				nn, _ := parseNode(n.data)
				added = append(added, nn.opType)
			}
			if !slices.Equal(added, []string{"Constant", "Constant", "Constant", "Slice"}) {
				t.Errorf("nodes before the lm_head: %q", added)
			}
			j += 4
			lm, _ := parseNode(fr[j].data)
			if lm.name != headOrig.node.name || !slices.Equal(lm.inputs[1:], headOrig.node.inputs[1:]) {
				t.Errorf("lm_head became %q %q", lm.name, lm.inputs)
			}
		case (f.num == graphOutput || f.num == graphValueInfo) && slices.Contains(chain, mustString(t, f.data, valueInfoName)):
			want := dims(t, f.data)
			want[1] = "1"
			if got := dims(t, fr[j].data); !slices.Equal(got, want) {
				t.Errorf("%q declared %v, want %v", mustString(t, f.data, valueInfoName), got, want)
			}
		default:
			if !bytes.Equal(gOrig[f.start:f.end], gNew[fr[j].start:fr[j].end]) {
				t.Errorf("graph field %d (#%d) changed", f.num, j)
			}
		}
		j++
	}
}

func mustHead(t *testing.T, model []byte) lmHead {
	t.Helper()
	_, _, head, err := locate(memSource(model))
	if err != nil {
		t.Fatal(err)
	}
	return head
}

func graphFields(t *testing.T, g []byte) []field {
	t.Helper()
	var fs []field
	if err := eachField(g, func(f field) error { fs = append(fs, f); return nil }); err != nil {
		t.Fatal(err)
	}
	return fs
}

func mustString(t *testing.T, msg []byte, num int) string {
	t.Helper()
	s, err := stringField(msg, num)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dims reads a tensor ValueInfoProto's shape as strings: a dim_value's
// digits or a dim_param's name.
func dims(t *testing.T, vi []byte) []string {
	t.Helper()
	var out []string
	var walk func(msg []byte, path []int)
	walk = func(msg []byte, path []int) {
		err := eachField(msg, func(f field) error {
			if len(path) > 0 {
				if f.num == path[0] {
					walk(f.data, path[1:])
				}
				return nil
			}
			if f.num != shapeDim {
				return nil
			}
			return eachField(f.data, func(d field) error {
				switch d.num {
				case dimValue:
					out = append(out, itoa(d.u))
				case 2:
					out = append(out, string(d.data))
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk(vi, []int{valueInfoType, typeTensor, tensorShape})
	return out
}

func itoa(u uint64) string {
	if u == 0 {
		return "0"
	}
	var b []byte
	for ; u > 0; u /= 10 {
		b = append([]byte{byte('0' + u%10)}, b...)
	}
	return string(b)
}

// TestLastTokenLogitsTail covers element-wise nodes between the lm_head and
// logits, whose declared shapes change too.
func TestLastTokenLogitsTail(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tail  []string
		chain []string
	}{
		{"matmul", nil, []string{"logits"}},
		{"cast", []string{"Cast"}, []string{"logits", "head_out"}},
		{"bias", []string{"Add"}, []string{"logits", "head_out"}},
		{"softcap", []string{"Div", "Tanh", "Mul"}, []string{"logits", "head_out/Div/Tanh", "head_out/Div", "head_out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := lmModel(tc.tail...)
			if len(tc.tail) == 0 {
				m.nodes[1].out = []string{LogitsOutput}
			}
			orig := m.encode()
			head := mustHead(t, orig)
			if !slices.Equal(head.chain, tc.chain) {
				t.Errorf("chain %q, want %q", head.chain, tc.chain)
			}
			out, err := LastTokenLogits(orig)
			if err != nil {
				t.Fatal(err)
			}
			checkRewrite(t, orig, out, head.chain)
		})
	}
}

// TestIsLastTokenLogitsExported accepts a Slice the export made itself,
// with initializers for starts, ends and axes.
func TestIsLastTokenLogitsExported(t *testing.T) {
	m := lmModel()
	m.int64Inits = map[string][]int64{"starts": {-1}, "ends": {math.MaxInt32}, "axes": {1}, "steps": {1}}
	m.nodes = slices.Insert(m.nodes, 1, tnode{op: "Slice", name: "/Slice", in: []string{"normed", "starts", "ends", "axes", "steps"}, out: []string{"last"}})
	m.nodes[2].in[0], m.nodes[2].out = "last", []string{LogitsOutput}
	model := m.encode()
	if !IsLastTokenLogits(model) {
		t.Fatal("IsLastTokenLogits = false")
	}
	if out, err := LastTokenLogits(model); err != nil || !bytes.Equal(out, model) {
		t.Errorf("LastTokenLogits changed an already sliced model (err %v)", err)
	}
	m.int64Inits["starts"] = []int64{0}
	if IsLastTokenLogits(m.encode()) {
		t.Error("a Slice from 0 counts as the last token")
	}
}

// TestFreshNames keeps the added names clear of names the model uses.
func TestFreshNames(t *testing.T) {
	m := lmModel()
	m.nodes[1].out = []string{LogitsOutput}
	m.nodes[0].out = []string{namePrefix + "/hidden"}
	m.nodes[1].in[0] = namePrefix + "/hidden"
	out, err := LastTokenLogits(m.encode())
	if err != nil {
		t.Fatal(err)
	}
	head := mustHead(t, out)
	if want := namePrefix + "_2/hidden"; head.hidden() != want {
		t.Errorf("lm_head reads %q, want %q", head.hidden(), want)
	}
}

func TestLastTokenLogitsErrors(t *testing.T) {
	noLogits := lmModel("Cast")
	noLogits.outputs[0].name = "scores"
	fromSoftmax := lmModel("Softmax")
	consumed := lmModel("Cast")
	consumed.nodes = append(consumed.nodes, tnode{op: "Identity", in: []string{LogitsOutput}, out: []string{"copy"}})
	headShared := lmModel("Cast")
	headShared.outputs = append(headShared.outputs, tvalue{"head_out", 1, logitsShape})
	twoVarying := lmModel("Add")
	twoVarying.nodes[2].in[1] = "normed"
	fromInput := lmModel("Identity")
	fromInput.inputs = append(fromInput.inputs, tvalue{"other", 1, logitsShape})
	fromInput.nodes[2].in[0] = "other"
	oldOpset := lmModel()
	oldOpset.nodes[1].out = []string{LogitsOutput}
	oldOpset.opset = 9
	valid := lmModel("Cast").encode()

	for _, tc := range []struct {
		name  string
		model []byte
		want  error
	}{
		{"empty", nil, ErrNotONNX},
		{"text", []byte("hello, world"), ErrNotONNX},
		{"truncated", valid[:len(valid)/2], ErrNotONNX},
		{"graph only", appendBytesField(nil, modelGraph, nil), ErrNotONNX},
		{"no logits", noLogits.encode(), ErrNoLogits},
		{"softmax", fromSoftmax.encode(), ErrUnexpectedStructure},
		{"logits consumed", consumed.encode(), ErrUnexpectedStructure},
		{"head output shared", headShared.encode(), ErrUnexpectedStructure},
		{"two varying inputs", twoVarying.encode(), ErrUnexpectedStructure},
		{"from graph input", fromInput.encode(), ErrUnexpectedStructure},
		{"opset 9", oldOpset.encode(), ErrUnexpectedStructure},
		{"two graphs", append(slices.Clone(valid), appendBytesField(nil, modelGraph, nil)...), ErrUnexpectedStructure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := LastTokenLogits(tc.model)
			if !errors.Is(err, tc.want) || out != nil {
				t.Fatalf("got %d bytes, error %v; want error %v", len(out), err, tc.want)
			}
			t.Logf("%v", err)
			if IsLastTokenLogits(tc.model) {
				t.Error("IsLastTokenLogits = true")
			}
		})
	}
}

// FuzzLastTokenLogits feeds hostile bytes: nothing may panic, and whatever
// is rewritten must parse, count as rewritten, and rewrite to itself. The
// plan must hold ranges of the file only and add up to its size; planned
// with a size past the end of the bytes, it must fail to read them.
// DequantizeMatMulNBits, on the same parser, must not panic either.
func FuzzLastTokenLogits(f *testing.F) {
	for _, tail := range [][]string{nil, {"Cast"}, {"Div", "Tanh", "Mul"}} {
		m := lmModel(tail...)
		if len(tail) == 0 {
			m.nodes[1].out = []string{LogitsOutput}
		}
		b := m.encode()
		f.Add(b)
		for _, n := range []int{1, 2, 10, len(b) / 2, len(b) - 1} {
			f.Add(b[:n])
		}
		if out, err := LastTokenLogits(b); err == nil {
			f.Add(out)
		}
	}
	// The fixture decoder's opening bytes: its header and first nodes.
	dir, err := fixture.ModelDir()
	if err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "onnx", "decoder_model_merged_q4f16.onnx")); err == nil {
			f.Add(b[:4096])
			f.Add(b[:64])
		}
	}
	f.Fuzz(func(t *testing.T, model []byte) {
		_, _ = DequantizeMatMulNBits(model)
		if _, err := PlanLastTokenLogits(bytes.NewReader(model), int64(len(model))+1); err == nil {
			t.Fatal("planned with a size past the end of the bytes")
		}
		out, err := LastTokenLogits(model)
		is := IsLastTokenLogits(model)
		if err != nil {
			if is {
				t.Fatalf("IsLastTokenLogits true but LastTokenLogits failed: %v", err)
			}
			return
		}
		p, err := PlanLastTokenLogits(bytes.NewReader(model), int64(len(model)))
		if err != nil {
			t.Fatal(err)
		}
		checkPieces(t, p, int64(len(model)))
		if !IsLastTokenLogits(out) {
			t.Fatal("rewritten model is not IsLastTokenLogits")
		}
		again, err := LastTokenLogits(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second rewrite changed the model (err %v)", err)
		}
	})
}

// BenchmarkLastTokenLogits rewrites the largest fixture decoder and a
// synthetic one of the real fp32 decoder's size (the fixture's graph with a
// 520 MB initializer added): the cost is one copy of the file.
func BenchmarkLastTokenLogits(b *testing.B) {
	fixtureModel := readDecoder(b, "")
	b.Run("fixture-fp32", func(b *testing.B) { benchRewrite(b, fixtureModel) })
	b.Run("synthetic-540MB", func(b *testing.B) {
		const padding = 520 << 20
		var t []byte
		t = appendBytesField(t, tensorDims, appendVarint(nil, padding/4))
		t = appendVarintField(t, tensorDataType, 1)
		t = appendStringField(t, tensorName, "padding")
		t = appendBytesField(t, tensorRawData, make([]byte, padding))
		m, err := parseModel(memSource(fixtureModel))
		if err != nil {
			b.Fatal(err)
		}
		end := m.graph.end
		model, err := withEdits(fixtureModel, edit{end, end, []Piece{literal(appendBytesField(nil, graphInitializer, t))}})
		if err != nil {
			b.Fatal(err)
		}
		benchRewrite(b, model)
	})
}

func benchRewrite(b *testing.B, model []byte) {
	b.SetBytes(int64(len(model)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LastTokenLogits(model); err != nil {
			b.Fatal(err)
		}
	}
}
