package onnxedit

import "io"

// OpCounts counts the nodes of the model's main graph by operator, keyed
// "op_type" for the default domain and "domain.op_type" for others
// ("com.microsoft.MatMulNBits"). It reads the graph's fields, never the
// initializers' data, so it is cheap on a large file: for comparing a graph
// with the one onnxruntime runs after its fusions.
func OpCounts(src io.ReaderAt, size int64) (map[string]int, error) {
	m, err := parseModel(newSource(src, size))
	if err != nil {
		return nil, err
	}
	g, err := m.parseGraph()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, n := range g.nodes {
		key := n.opType
		if n.domain != "" && n.domain != "ai.onnx" {
			key = n.domain + "." + n.opType
		}
		counts[key]++
	}
	return counts, nil
}
