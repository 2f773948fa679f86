package onnxedit

import (
	"io"
	"os"
)

// Ops counts the nodes of a graph by operator, keyed "op_type" for the
// default domain and "domain.op_type" for others
// ("com.microsoft.MatMulNBits").
type Ops map[string]int

// Total is the number of nodes.
func (o Ops) Total() (n int) {
	for _, c := range o {
		n += c
	}
	return n
}

// OpCounts counts the nodes of the model's main graph by operator. It reads
// the graph's fields, never the initializers' data, so it is cheap on a
// large file: for comparing a graph with the one onnxruntime runs after its
// fusions.
func OpCounts(src io.ReaderAt, size int64) (Ops, error) {
	_, g, err := parseModelGraph(src, size)
	if err != nil {
		return nil, err
	}
	counts := Ops{}
	for _, n := range g.nodes {
		key := n.opType
		if n.domain != "" && n.domain != "ai.onnx" {
			key = n.domain + "." + n.opType
		}
		counts[key]++
	}
	return counts, nil
}

// OpCountsFile is OpCounts of the ONNX file at path.
func OpCountsFile(path string) (Ops, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return OpCounts(f, info.Size())
}
