package onnxedit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// updateGolden rewrites goldenFile from the rewrites as they are now.
var updateGolden = flag.Bool("update", false, "rewrite "+goldenFile+" from the current rewrites")

// goldenFile holds the sha256 of each rewrite's output on the fixture
// models, as the rewrites wrote them before PlanLastTokenLogits (commit
// 9389b3f): LastTokenLogits and DequantizeMatMulNBits must keep writing
// exactly those bytes.
const goldenFile = "testdata/golden.json"

// golden is one rewrite of one model: the sha256 of the input and of the
// output.
type golden struct {
	Model   string `json:"model"`
	Rewrite string `json:"rewrite"`
	Input   string `json:"input"`
	Output  string `json:"output"`
	Size    int    `json:"size"`
}

// goldenModel is a model kept in goldenFile. An optional one (the regrown
// full-size decoder, which bench/regrow writes) is skipped when absent or
// when it is another file than the one recorded.
type goldenModel struct {
	name     string // "fixture/…" (fixture.ModelDir), "bin/…" (fixture.Root) or "synthetic/…"
	optional bool
	rewrites []string
}

var goldenModels = []goldenModel{
	{name: "fixture/onnx/decoder_model_merged.onnx", rewrites: []string{"LastTokenLogits"}},
	{name: "fixture/onnx/decoder_model_merged_fp16.onnx", rewrites: []string{"LastTokenLogits"}},
	{name: "fixture/onnx/decoder_model_merged_q4.onnx", rewrites: []string{"LastTokenLogits", "DequantizeMatMulNBits"}},
	{name: "fixture/onnx/decoder_model_merged_q4f16.onnx", rewrites: []string{"LastTokenLogits", "DequantizeMatMulNBits"}},
	{name: "fixture/onnx/vision_encoder_q4.onnx", rewrites: []string{"DequantizeMatMulNBits"}},
	{name: "synthetic/matmul", rewrites: []string{"LastTokenLogits"}},
	{name: "synthetic/Cast", rewrites: []string{"LastTokenLogits"}},
	{name: "synthetic/Add", rewrites: []string{"LastTokenLogits"}},
	{name: "synthetic/Div,Tanh,Mul", rewrites: []string{"LastTokenLogits"}},
	{name: "bin/bench/smolvlm-256m-random/onnx/decoder_model_merged.onnx", optional: true, rewrites: []string{"LastTokenLogits"}},
	{name: "bin/bench/smolvlm-256m-random/onnx/decoder_model_merged_q4.onnx", optional: true, rewrites: []string{"LastTokenLogits", "DequantizeMatMulNBits"}},
}

var rewrites = map[string]func([]byte) ([]byte, error){
	"LastTokenLogits":       LastTokenLogits,
	"DequantizeMatMulNBits": DequantizeMatMulNBits,
}

// readGoldenModel reads or builds a goldenModel.
func readGoldenModel(t *testing.T, name string) ([]byte, error) {
	t.Helper()
	switch dir, rest, _ := strings.Cut(name, "/"); dir {
	case "fixture":
		d, err := fixture.ModelDir()
		if err != nil {
			t.Fatalf("fixture: %v", err)
		}
		return os.ReadFile(filepath.Join(d, rest))
	case "synthetic":
		var tail []string
		if rest != "matmul" {
			tail = strings.Split(rest, ",")
		}
		m := lmModel(tail...)
		if len(tail) == 0 {
			m.nodes[1].out = []string{LogitsOutput}
		}
		return m.encode(), nil
	}
	return os.ReadFile(filepath.Join(fixture.Root(), name))
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestGolden checks every rewrite's output against goldenFile; -update
// rewrites the file.
func TestGolden(t *testing.T) {
	want := map[[2]string]golden{}
	if !*updateGolden {
		raw, err := os.ReadFile(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		var gs []golden
		if err := json.Unmarshal(raw, &gs); err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			want[[2]string{g.Model, g.Rewrite}] = g
		}
	}
	var got []golden
	for _, gm := range goldenModels {
		if gm.optional && testing.Short() {
			continue
		}
		model, err := readGoldenModel(t, gm.name)
		if err != nil {
			if gm.optional {
				t.Logf("skip %s: %v", gm.name, err)
				continue
			}
			t.Fatal(err)
		}
		in := sha(model)
		for _, rw := range gm.rewrites {
			out, err := rewrites[rw](model)
			if err != nil {
				t.Errorf("%s(%s): %v", rw, gm.name, err)
				continue
			}
			g := golden{Model: gm.name, Rewrite: rw, Input: in, Output: sha(out), Size: len(out)}
			got = append(got, g)
			if *updateGolden {
				continue
			}
			w, ok := want[[2]string{gm.name, rw}]
			switch {
			case (!ok || w.Input != in) && gm.optional:
				t.Logf("skip %s: not the file %s records", gm.name, goldenFile)
			case !ok:
				t.Errorf("%s(%s): not in %s (go test ./onnxedit -run TestGolden -update)", rw, gm.name, goldenFile)
			case w.Input != in:
				t.Errorf("%s changed (sha256 %s, %s records %s): check the rewrite by the other tests, then go test ./onnxedit -run TestGolden -update",
					gm.name, in, goldenFile, w.Input)
			case g != w:
				t.Errorf("%s(%s): %d bytes, sha256 %s; want %d bytes, sha256 %s", rw, gm.name, g.Size, g.Output, w.Size, w.Output)
			default:
				t.Logf("%s(%s): %d bytes as recorded", rw, gm.name, g.Size)
			}
		}
	}
	if *updateGolden {
		raw, err := json.MarshalIndent(got, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countingReader counts the calls and bytes of ReadAt.
type countingReader struct {
	r            io.ReaderAt
	calls, bytes int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	c.bytes += int64(len(p))
	return c.r.ReadAt(p, off)
}

// checkPlan plans the rewrite of model through a counting reader, checks
// that it reads less than maxFraction of the file and that the plan
// assembles to LastTokenLogits' output, and returns the bytes read.
func checkPlan(t *testing.T, model []byte, maxFraction float64) {
	t.Helper()
	r := &countingReader{r: bytes.NewReader(model)}
	p, err := PlanLastTokenLogits(r, int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	frac := float64(r.bytes) / float64(len(model))
	t.Logf("planned from %d of %d bytes (%.3f%%; the parts it needs are %d) in %d reads; %d pieces, %d new bytes",
		r.bytes, len(model), 100*frac, neededBytes(t, model), r.calls, len(p.Pieces), newBytes(p))
	if frac >= maxFraction {
		t.Errorf("read %.3f%% of the file, want under %.3f%%", 100*frac, 100*maxFraction)
	}
	checkPieces(t, p, int64(len(model)))
	want, err := LastTokenLogits(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Apply(model); !bytes.Equal(got, want) {
		t.Errorf("Apply: %d bytes, sha256 %s; LastTokenLogits: %d bytes, sha256 %s", len(got), sha(got), len(want), sha(want))
	}
}

// neededBytes counts the bytes the planner must read: the graph's nodes,
// inputs, outputs and value infos, its small initializers whole and the
// large ones up to their data.
func neededBytes(t *testing.T, model []byte) int64 {
	t.Helper()
	m, err := parseModel(memSource(model))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	err = m.src.eachField(m.graph.payload, m.graph.end, func(f fileField) error {
		switch f.num {
		case graphNode, graphInput, graphOutput, graphValueInfo:
			n += f.end - f.start
		case graphInitializer:
			if f.end-f.payload <= maxSmallTensor {
				n += f.end - f.start
				return nil
			}
			return m.src.eachField(f.payload, f.end, func(tf fileField) error {
				if tf.num == tensorRawData {
					n += tf.payload - f.start
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newBytes counts a plan's bytes that are not ranges of the original.
func newBytes(p Plan) int {
	n := 0
	for _, pc := range p.Pieces {
		n += len(pc.Data)
	}
	return n
}

// checkPieces checks a plan's invariants: every range within the original
// file of size bytes, every Data piece's Len its length, the lengths adding
// up to Size.
func checkPieces(t *testing.T, p Plan, size int64) {
	t.Helper()
	var total int64
	for i, pc := range p.Pieces {
		switch {
		case pc.Fill != nil:
			t.Errorf("piece %d is generated", i)
		case pc.Data != nil && (pc.Off != 0 || pc.Len != int64(len(pc.Data))):
			t.Errorf("piece %d: %d bytes of Data, Off %d, Len %d", i, len(pc.Data), pc.Off, pc.Len)
		case pc.Data == nil && (pc.Off < 0 || pc.Len <= 0 || pc.Off+pc.Len > size):
			t.Errorf("piece %d: [%d, +%d) of a %d-byte file", i, pc.Off, pc.Len, size)
		}
		total += pc.Len
	}
	if total != p.Size {
		t.Errorf("pieces add up to %d bytes, Size is %d", total, p.Size)
	}
}

// TestPlanReads plans each fixture decoder's rewrite through a counting
// reader: the planner reads a small part of the file, and its plan is
// LastTokenLogits' output.
func TestPlanReads(t *testing.T) {
	for _, tc := range decoderVariants {
		t.Run("decoder"+tc.variant, func(t *testing.T) {
			checkPlan(t, readDecoder(t, tc.variant), 0.05)
		})
	}
}

// TestPlanReadsFullSize does the same on the full-size decoders: the
// regrown ones bench/regrow writes and, with SMOLVLM_SKELETON set, the
// skeleton's four refilled with random weights.
func TestPlanReadsFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full size: not in -short")
	}
	const maxFraction = 0.02
	for _, name := range []string{"decoder_model_merged.onnx", "decoder_model_merged_q4.onnx"} {
		t.Run("regrown/"+name, func(t *testing.T) {
			model, err := os.ReadFile(filepath.Join(fixture.Root(), "bin/bench/smolvlm-256m-random/onnx", name))
			if err != nil {
				t.Skipf("no regrown decoder: %v", err)
			}
			checkPlan(t, model, maxFraction)
		})
	}
	dir := os.Getenv("SMOLVLM_SKELETON")
	if dir == "" {
		t.Log("SMOLVLM_SKELETON not set: no refilled skeleton decoders")
		return
	}
	raw, err := os.ReadFile(filepath.Join(dir, "stripped.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stripped map[string]struct {
		Stripped []StrippedTensor `json:"stripped"`
	}
	if err := json.Unmarshal(raw, &stripped); err != nil {
		t.Fatal(err)
	}
	for _, tc := range decoderVariants {
		name := "decoder_model_merged" + tc.variant + ".onnx"
		t.Run("skeleton/"+name, func(t *testing.T) {
			skel, err := os.ReadFile(filepath.Join(dir, "onnx", name))
			if err != nil {
				t.Fatal(err)
			}
			model, err := Refill(skel, stripped[name].Stripped, 1)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, model, maxFraction)
		})
	}
}

// TestPlanUnchanged plans an already rewritten model: the original as it
// is, one piece.
func TestPlanUnchanged(t *testing.T) {
	out, err := LastTokenLogits(readDecoder(t, "_q4"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanLastTokenLogits(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Unchanged() || len(p.Pieces) != 1 || p.Pieces[0].Data != nil || p.Pieces[0].Off != 0 || p.Pieces[0].Len != int64(len(out)) {
		t.Errorf("plan of a rewritten model: %d pieces, Unchanged %v", len(p.Pieces), p.Unchanged())
	}
	if !bytes.Equal(p.Apply(out), out) {
		t.Error("Apply of the unchanged plan differs")
	}
}

// failingReader fails every read that reaches past limit.
type failingReader struct {
	r     io.ReaderAt
	limit int64
}

var errDisk = errors.New("disk on fire")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// TestPlanHostile gives the planner truncated files, sizes past the end of
// the data and failing readers: errors, never a panic.
func TestPlanHostile(t *testing.T) {
	valid := lmModel("Cast").encode()
	for n := range len(valid) {
		// Cut after the graph, the model is whole but lacks its opset.
		if _, err := PlanLastTokenLogits(bytes.NewReader(valid[:n]), int64(n)); !errors.Is(err, ErrNotONNX) && !errors.Is(err, ErrUnexpectedStructure) {
			t.Fatalf("%d of %d bytes: error %v, want ErrNotONNX or ErrUnexpectedStructure", n, len(valid), err)
		}
		// The size says more than there is: the missing bytes fail to
		// read.
		if _, err := PlanLastTokenLogits(bytes.NewReader(valid[:n]), int64(len(valid))); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d of %d bytes, full size: error %v, want io.ErrUnexpectedEOF", n, len(valid), err)
		}
	}
	decoder := readDecoder(t, "_q4")
	for _, limit := range []int64{0, 1, 100, 5000, int64(len(decoder)) / 2, int64(len(decoder)) - 1} {
		_, err := PlanLastTokenLogits(failingReader{bytes.NewReader(decoder), limit}, int64(len(decoder)))
		if !errors.Is(err, errDisk) {
			t.Errorf("reads fail past byte %d: error %v, want %v", limit, err, errDisk)
		}
	}
	for _, size := range []int64{-1, 0} {
		if _, err := PlanLastTokenLogits(bytes.NewReader(decoder), size); !errors.Is(err, ErrNotONNX) {
			t.Errorf("size %d: error %v, want ErrNotONNX", size, err)
		}
	}
	// A length prefix past the end of its message, at each level the
	// planner walks: the model, the graph, a node, a large initializer's
	// fields, which it reads one by one.
	ir := appendVarintField(nil, modelIRVersion, 8)
	withGraph := func(g []byte) []byte { return appendBytesField(slices.Clone(ir), modelGraph, g) }
	overrun := func(num int, n uint64, payload []byte) []byte {
		return append(appendVarint(appendTag(nil, num, wireBytes), n), payload...)
	}
	bigTensor := func(fields ...[]byte) []byte {
		t := appendStringField(nil, tensorName, "w")
		t = appendBytesField(t, tensorRawData, make([]byte, 2*maxSmallTensor))
		for _, f := range fields {
			t = append(t, f...)
		}
		return appendBytesField(nil, graphInitializer, t)
	}
	for _, tc := range []struct {
		name  string
		model []byte
		want  error
	}{
		{"graph", append(slices.Clone(ir), overrun(modelGraph, 1<<40, []byte("abc"))...), ErrNotONNX},
		{"graph 2^64-1", append(slices.Clone(ir), overrun(modelGraph, math.MaxUint64, []byte("abc"))...), ErrNotONNX},
		{"node", withGraph(overrun(graphNode, 1000, []byte("abc"))), ErrUnexpectedStructure},
		{"output", withGraph(overrun(graphOutput, 1<<62, nil)), ErrUnexpectedStructure},
		{"initializer", withGraph(overrun(graphInitializer, 3*maxSmallTensor, make([]byte, 2*maxSmallTensor))), ErrUnexpectedStructure},
		{"initializer's name", withGraph(bigTensor(overrun(tensorName, 100, []byte("x")))), ErrUnexpectedStructure},
		{"initializer's data", withGraph(bigTensor(overrun(tensorRawData, 1<<33, make([]byte, 10)))), ErrUnexpectedStructure},
		{"initializer's bad tag", withGraph(bigTensor([]byte{0x07})), ErrUnexpectedStructure},
		{"initializer's truncated varint", withGraph(bigTensor([]byte{0x10, 0x80})), ErrUnexpectedStructure},
	} {
		_, err := PlanLastTokenLogits(bytes.NewReader(tc.model), int64(len(tc.model)))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

// ExamplePlan assembles a rewritten decoder from its plan, as a caller does
// whose file lives elsewhere: a copy of each range of the original, and the
// new bytes.
func ExamplePlan() {
	d, err := fixture.ModelDir()
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := os.Open(filepath.Join(d, "onnx", "decoder_model_merged_q4.onnx"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := PlanLastTokenLogits(f, st.Size())
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	for _, pc := range p.Pieces {
		if pc.Data != nil {
			out.Write(pc.Data)
			continue
		}
		if _, err := io.Copy(&out, io.NewSectionReader(f, pc.Off, pc.Len)); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(int64(out.Len()) == p.Size, IsLastTokenLogits(out.Bytes()))
	// Output: true true
}
