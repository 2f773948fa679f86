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
	File   string         `json:"file"`
	Device string         `json:"device"`
	Before map[string]int `json:"before"`
	After  map[string]int `json:"after"`
	Error  string         `json:"error,omitempty"`
}

// fusions loads each file of the model on device with
// ortnative.Options.OptimizedGraphs and counts the operators before and
// after onnxruntime's optimizations.
func fusions(ctx context.Context, modelDir string, files []string, device string) []graphOps {
	out := make([]graphOps, len(files))
	tmp, err := os.MkdirTemp("", "optimized-")
	if err == nil {
		defer os.RemoveAll(tmp)
	}
	var e *ortnative.Engine
	if err == nil {
		e, err = ortnative.New(ortnative.Options{Device: device, OptimizedGraphs: tmp})
	}
	if err == nil {
		defer e.Close()
	}
	for i, file := range files {
		g := graphOps{File: file, Device: device}
		if err != nil {
			g.Error = firstLine(err.Error())
			out[i] = g
			continue
		}
		var ferr error
		g.Before, g.After, ferr = optimize(ctx, e, filepath.Join(modelDir, "onnx", file), tmp)
		if ferr != nil {
			g.Error = firstLine(ferr.Error())
		}
		out[i] = g
	}
	return out
}

// optimize counts the operators of the file at path, loads it on e, and
// counts those of the graph onnxruntime wrote to folder.
func optimize(ctx context.Context, e *ortnative.Engine, path, folder string) (before, after map[string]int, err error) {
	if before, err = countOps(path); err != nil {
		return nil, nil, err
	}
	s, err := e.LoadSession(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	s.Release()
	after, err = countOps(filepath.Join(folder, filepath.Base(path)))
	return before, after, err
}

func countOps(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return onnxedit.OpCounts(f, info.Size())
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
		fmt.Fprintf(&b, "| %s | %s | %d → %d | %s |\n", g.File, g.Device, sum(g.Before), sum(g.After), strings.Join(changed, ", "))
	}
	return b.String()
}

func sum(counts map[string]int) (n int) {
	for _, c := range counts {
		n += c
	}
	return n
}
