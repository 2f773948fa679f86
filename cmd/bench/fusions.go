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
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// graphOps is what onnxruntime's graph optimizer made of one ONNX file on
// one execution provider: the nodes of each operator in the export and in
// the graph it runs. onnxruntime-web runs the same optimizer (its default
// level is "all", as ours natively), so this shows which fusions the
// browser's sessions get, attention's among them.
type graphOps struct {
	File   string       `json:"file"`
	Device string       `json:"device"`
	Before onnxedit.Ops `json:"before"`
	After  onnxedit.Ops `json:"after"`
	Error  string       `json:"error,omitempty"`
}

// fusions loads each file of the model on device with
// ortnative.Options.OptimizedGraphs and counts the operators before and
// after onnxruntime's optimizations.
func fusions(ctx context.Context, modelDir string, files []string, device string) []graphOps {
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
	for i := range out {
		g := &out[i]
		var err error
		if g.Before, g.After, err = optimize(ctx, e, filepath.Join(modelDir, "onnx", g.File), tmp); err != nil {
			g.Error = firstLine(err.Error())
		}
	}
	return out
}

// optimize counts the operators of the file at path, loads it on e, and
// counts those of the graph onnxruntime wrote to folder.
func optimize(ctx context.Context, e *ortnative.Engine, path, folder string) (before, after onnxedit.Ops, err error) {
	if before, err = onnxedit.OpCountsFile(path); err != nil {
		return nil, nil, err
	}
	s, err := e.LoadSession(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	s.Release()
	after, err = onnxedit.OpCountsFile(filepath.Join(folder, filepath.Base(path)))
	return before, after, err
}

// fusionsMarkdown lists, for each file and device, the operators whose
// count the optimizer changed.
func fusionsMarkdown(graphs []graphOps) string {
	if len(graphs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### What onnxruntime's graph optimizer fuses (level all, as onnxruntime-web)\n\n")
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
