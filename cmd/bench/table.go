//go:build !js

package main

import (
	"fmt"
	"slices"
	"strings"
)

// metric is one column of the table.
type metric struct {
	head         string
	get          func(result) *float64
	digits       int
	higherBetter bool
}

var metrics = []metric{
	{"load ms", func(r result) *float64 { return r.LoadMs }, 0, false},
	{"preprocess ms", func(r result) *float64 { return r.PreprocessMs }, 0, false},
	{"vision ms", func(r result) *float64 { return r.VisionMs }, 0, false},
	{"first token ms", func(r result) *float64 { return r.TTFTMs }, 0, false},
	{"decode tokens/s", func(r result) *float64 { return r.DecodeTps }, 1, true},
	{"peak memory MB", func(r result) *float64 { return r.PeakMemMB }, 0, false},
	{"downloaded MB", func(r result) *float64 { return r.DownloadedMB }, 1, false},
}

// markdown renders the last run of every measurement, one table per picture
// and backend, with our ratio against the best alternative: above 1× we are
// better (faster, smaller), below 1× worse.
func markdown(rep report, cfg config) string {
	var b strings.Builder
	m := rep.Machine
	fmt.Fprintf(&b, "## Benchmark, %s\n\n", rep.Date)
	machine := []string{fmt.Sprintf("%s, %s cores, %s", m["cpu"], m["cores"], m["memory"])}
	if m["browser"] != "" {
		machine = append(machine, m["browser"])
	}
	fmt.Fprintf(&b, "%s.\n", strings.Join(append(machine, m["go"]), "; "))
	fmt.Fprintf(&b, "SmolVLM-256M graphs with random weights (%s), %d new tokens, greedy, \"%s\"; run %d of %d reported",
		cfg.variant, cfg.tokens, cfg.prompt, cfg.runs, cfg.runs)
	if m["browser"] != "" {
		// The browser runs with Chromium's software WebGPU (internal/chromium).
		b.WriteString(", each in a fresh browser context; WebGPU in the browser is SwiftShader (the CPU)")
	}
	b.WriteString(".\n")
	last := map[[3]string]result{}
	var order [][2]string
	seen := map[[2]string]bool{}
	for _, r := range rep.Results {
		if r.Run != cfg.runs {
			continue
		}
		last[[3]string{r.Case, r.Backend, r.Contestant}] = r
		if k := [2]string{r.Case, r.Backend}; !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
	}
	for _, k := range order {
		name, backend := k[0], k[1]
		title := backend
		switch backend {
		case "cpu":
			title = "native onnxruntime, CPU"
		case "webgpu-native":
			title = "native onnxruntime, WebGPU execution provider"
		}
		fmt.Fprintf(&b, "\n### %s · %s\n\n", pictureCases[name].Label, title)
		b.WriteString("| contestant |")
		for _, mt := range metrics {
			b.WriteString(" " + mt.head + " |")
		}
		b.WriteString("\n|---|" + strings.Repeat("---:|", len(metrics)) + "\n")
		var rows []result
		for _, who := range append(append([]string{}, cfg.contestants...), nativeContestants(cfg.native)...) {
			if r, ok := last[[3]string{name, backend, who}]; ok {
				rows = append(rows, r)
			}
		}
		for _, r := range rows {
			label := contestantName(r.Contestant)
			if r.Unpacked != "" {
				label += ", 4-bit weights unpacked (" + r.Unpacked + ")"
			}
			fmt.Fprintf(&b, "| %s |", label)
			if r.Error != "" {
				fmt.Fprintf(&b, " failed: %s |%s\n", strings.ReplaceAll(r.Error, "|", "/"), strings.Repeat(" |", len(metrics)-1))
				continue
			}
			for _, mt := range metrics {
				fmt.Fprintf(&b, " %s |", num(mt.get(r), mt.digits))
			}
			b.WriteString("\n")
		}
		// The alternatives of a variant of ours are theirs with the same
		// option where they were run (transformers@load=cached for
		// ours@load=cached), else the plain ones.
		alternatives := func(who string) []result {
			_, option, _ := strings.Cut(who, "@")
			var alts, plain []result
			for _, alt := range []string{"transformers", "ortloop"} {
				if r, ok := last[[3]string{name, backend, alt + "@" + option}]; ok && option != "" && r.Error == "" {
					alts = append(alts, r)
				}
				if r, ok := last[[3]string{name, backend, alt}]; ok && r.Error == "" {
					plain = append(plain, r)
				}
			}
			if len(alts) == 0 {
				return plain
			}
			return alts
		}
		nat, haveNative := last[[3]string{name, "cpu", "native"}]
		haveNative = haveNative && nat.Error == ""
		// A ratio row for ours and for each variant of ours (ours@…).
		for _, who := range cfg.contestants {
			ours, ok := last[[3]string{name, backend, who}]
			if !ok || ours.Error != "" || (who != "ours" && !strings.HasPrefix(who, "ours@")) {
				continue
			}
			label := contestantName(who)
			if who == "ours" {
				label = "ours"
			}
			if alts := alternatives(who); len(alts) > 0 {
				head := label + " ÷ best alternative"
				if who == "ours" {
					head = "**" + head + "**"
				}
				ratioRow(&b, head, func(mt metric) string { return ratio(mt, ours, alts) })
			}
			if haveNative {
				ratioRow(&b, label+" ÷ native CLI", func(mt metric) string {
					if mt.head == "first token ms" || mt.head == "decode tokens/s" || mt.head == "vision ms" {
						return ratio(mt, ours, []result{nat})
					}
					return ""
				})
			}
		}
	}
	b.WriteString("\nRatios: how many times better ours is than the best of the other contestants on that figure (faster, or smaller); below 1× we lose. Peak memory is the peak resident size of the page's renderer process (JavaScript, WebAssembly and workers; GPU buffers live in the GPU process and are not counted), or of the CLI.\n")
	return b.String()
}

// ratioRow writes a table row of cell(metric) for every metric.
func ratioRow(b *strings.Builder, head string, cell func(metric) string) {
	fmt.Fprintf(b, "| %s |", head)
	for _, mt := range metrics {
		fmt.Fprintf(b, " %s |", cell(mt))
	}
	b.WriteString("\n")
}

// ratio compares ours with the best alternative on one metric.
func ratio(mt metric, ours result, alts []result) string {
	o := mt.get(ours)
	if o == nil || *o <= 0 {
		return "–"
	}
	best := 0.0
	for _, a := range alts {
		v := mt.get(a)
		if v == nil || *v <= 0 {
			continue
		}
		if best == 0 || (mt.higherBetter && *v > best) || (!mt.higherBetter && *v < best) {
			best = *v
		}
	}
	if best == 0 {
		return "–"
	}
	if mt.higherBetter {
		return fmt.Sprintf("%.2f×", *o/best)
	}
	return fmt.Sprintf("%.2f×", best / *o)
}

func num(v *float64, digits int) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.*f", digits, *v)
}

// nativeContestants are the native rows' contestants: "native", then
// "native@option" for each option of -native's devices, in order.
func nativeContestants(devices []string) []string {
	out := []string{"native"}
	for _, d := range devices {
		if _, option, ok := strings.Cut(d, "@"); ok && !slices.Contains(out, "native@"+option) {
			out = append(out, "native@"+option)
		}
	}
	return out
}
