package app

import "testing"

func TestFormatBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {19594661, "20 MB"},
		{3091008, "3.1 MB"}, {1_500_000_000, "1.5 GB"},
	} {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("%d: got %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tt := range []struct {
		loaded, total int64
		want          int
	}{{0, 0, 0}, {5, 0, 0}, {1, 3, 33}, {3, 3, 100}, {4, 3, 100}} {
		if got := percent(tt.loaded, tt.total); got != tt.want {
			t.Errorf("%d/%d: got %d, want %d", tt.loaded, tt.total, got, tt.want)
		}
	}
}

func TestFormatFigures(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{formatMs(12.4), "12 ms"},
		{formatMs(1530), "1.5 s"},
		{formatMs(25000), "25 s"},
		{formatRate(35.23), "35.2 tokens/s"},
		{formatRate(412.6), "413 tokens/s"},
		{variantLabel(Variants{Vision: "q4", Embed: "q4", Decoder: "q4"}), "q4"},
		{variantLabel(Variants{Vision: "fp16", Embed: "", Decoder: "q4"}), "vision fp16 · embed auto · decoder q4"},
		{fileLabel("/models/default/onnx/decoder_model_merged_q4.onnx?v=1"), "decoder_model_merged_q4.onnx"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestFitWithin(t *testing.T) {
	for _, tt := range []struct{ w, h, edge, ww, wh int }{
		{100, 50, 200, 100, 50},
		{4000, 3000, 1000, 1000, 750},
		{3000, 4000, 1000, 750, 1000},
		{5000, 1, 1000, 1000, 1},
		{0, 0, 1000, 0, 0},
	} {
		if w, h := fitWithin(tt.w, tt.h, tt.edge); w != tt.ww || h != tt.wh {
			t.Errorf("%dx%d in %d: got %dx%d, want %dx%d", tt.w, tt.h, tt.edge, w, h, tt.ww, tt.wh)
		}
	}
}

func TestModelProgress(t *testing.T) {
	var m modelState
	m.progress("a.onnx", 10, 100)
	m.progress("b.onnx", 5, 50)
	m.progress("a.onnx", 100, 100)
	if l, tot := m.totals(); l != 105 || tot != 150 || len(m.Files) != 2 {
		t.Errorf("totals %d/%d over %d files", l, tot, len(m.Files))
	}
	m.progress("c.onnx", 1, 0)
	if _, tot := m.totals(); tot != 0 {
		t.Errorf("unknown size gave total %d", tot)
	}
}
