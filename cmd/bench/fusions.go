//go:build !js

package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/onnxedit"
	"github.com/pocketvlm/smolvlm/pipeline"
)

// graphOps is what one ONNX file becomes in the session that runs it, on
// one execution provider: the nodes of each operator in the export and in
// the graph onnxruntime runs, after our own rewrites (pipeline's, such as
// the decoder's grouped attention and single-node normalizations) and
// onnxruntime's graph optimizer. onnxruntime-web runs the same optimizer
// (its default level is "all", as ours natively), so this shows which
// fusions the browser's sessions get, attention's among them.
type graphOps struct {
	File   string       `json:"file"`
	Device string       `json:"device"`
	Before onnxedit.Ops `json:"before"`
	After  onnxedit.Ops `json:"after"`
	Error  string       `json:"error,omitempty"`
}

// fusions loads the model's three sessions on device as the app does
// (pipeline.LoadModel, in variant), with
// ortnative.Options.OptimizedGraphs, and counts each file's operators
// before and after.
func fusions(ctx context.Context, modelDir, variant string, files []string, device string) []graphOps {
	out := make([]graphOps, len(files))
	for i, file := range files {
		out[i] = graphOps{File: file, Device: device}
	}
	failAll := func(err error) []graphOps {
		for i := range out {
			out[i].Error = firstLine(err.Error())
		}
		return out
	}
	tmp, err := os.MkdirTemp("", "optimized-")
	if err != nil {
		return failAll(err)
	}
	defer os.RemoveAll(tmp)
	e, err := ortnative.New(ortnative.Options{Device: device, OptimizedGraphs: tmp})
	if err != nil {
		return failAll(err)
	}
	defer e.Close()
	p, err := pipeline.Open(modelconfig.Dir(modelDir))
	if err != nil {
		return failAll(err)
	}
	if err := p.LoadModel(ctx, e, modelconfig.SameVariant(variant)); err != nil {
		return failAll(err)
	}
	p.Close()
	for i := range out {
		g := &out[i]
		var err error
		if g.Before, err = onnxedit.OpCountsFile(filepath.Join(modelDir, "onnx", g.File)); err == nil {
			g.After, err = onnxedit.OpCountsFile(filepath.Join(tmp, g.File))
		}
		if err != nil {
			g.Error = firstLine(err.Error())
		}
	}
	return out
}

// fusionsMarkdown lists, for each file and device, the operators whose
// count our rewrites and the optimizer changed.
func fusionsMarkdown(graphs []graphOps) string {
	if len(graphs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### What each session runs: our rewrites, then onnxruntime's graph optimizer (level all, as onnxruntime-web)\n\n")
	b.WriteString("| file | execution provider | nodes exported → run | operators whose count changed (exported → run) |\n|---|---|---:|---|\n")
	for _, g := range graphs {
		if g.Error != "" {
			fmt.Fprintf(&b, "| %s | %s | | failed: %s |\n", g.File, g.Device, strings.ReplaceAll(g.Error, "|", "/"))
			continue
		}
		var changed []string
		ops := slices.Sorted(maps.Keys(g.Before))
		for op := range g.After {
			if _, ok := g.Before[op]; !ok {
				ops = append(ops, op)
			}
		}
		slices.Sort(ops)
		for _, op := range ops {
			if g.Before[op] != g.After[op] {
				changed = append(changed, fmt.Sprintf("%s %d → %d", op, g.Before[op], g.After[op]))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d → %d | %s |\n", g.File, g.Device, g.Before.Total(), g.After.Total(), strings.Join(changed, ", "))
	}
	return b.String()
}
