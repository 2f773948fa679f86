package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// loadStatus is where the model stands, so loading never starts twice.
type loadStatus int

const (
	neverLoaded loadStatus = iota
	loading
	loadFailed
	loaded
)

// dataState is the #model-status data-state tests wait on.
func (s loadStatus) dataState() string {
	switch s {
	case loadFailed:
		return "error"
	case loaded:
		return "ready"
	}
	return "loading"
}

// answerState is where one answer stands; its String is #answer's data-state.
type answerState int

const (
	answerGenerating answerState = iota
	answerDone
	answerFailed
)

func (s answerState) String() string {
	switch s {
	case answerDone:
		return "done"
	case answerFailed:
		return "error"
	}
	return "generating"
}

// picture is the image a person chose: a Blob or File living in the browser.
type picture struct {
	Blob   goapp.Value
	Name   string
	Size   int64
	Type   string
	Serial int // grows with every new picture, so the preview knows to redraw
}

// fitWithin scales w×h down (never up) so the longer side is at most edge.
func fitWithin(w, h, edge int) (int, int) {
	if w <= edge && h <= edge || w <= 0 || h <= 0 {
		return w, h
	}
	if w >= h {
		return edge, max(1, h*edge/w)
	}
	return max(1, w*edge/h), edge
}

// figures are the measurements the worker reports with an answer.
type figures struct {
	TTFTMs          float64
	DecodeTPS       float64
	Backend         string
	DType           Variants
	VisionRuns      int
	VisionRunsTotal int
	Tokens          int
	// LookedAhead: the picture was read and encoded while the person typed.
	LookedAhead bool
}

// turn is one question and its answer.
type turn struct {
	Question string
	Picture  string // name of the picture sent with this question; "" on follow-ups
	Answer   string
	State    answerState
	Status   string // what the worker is doing, while generating
	Error    string
	Tokens   []int64
	Stop     protocol.StopReason
	Figures  figures
}

// fileProgress is the download progress of one model file.
type fileProgress struct {
	File          string
	Loaded, Total int64
}

// modelState is what the page knows of the model.
type modelState struct {
	Status  loadStatus
	Files   []fileProgress // in the order the worker reported them
	Text    string         // the worker's latest status while loading
	Error   string
	Backend string
	DType   Variants
	Notice  string // from the worker, e.g. why WebGPU was not used
	Tiny    bool
	// Defaults are the loaded model's own settings.
	Defaults protocol.Defaults
	// Variants are those the model folder has (nil: unknown).
	Variants *protocol.Available
	// Unpacked are the parts whose 4-bit weights the worker unpacked, to
	// UnpackedTo (Settings.Unpack4Bit, on WebAssembly only).
	Unpacked   []string
	UnpackedTo string
	// Stored says whether the model's downloads are all in the browser's
	// cache (protocol.Stored), so that it also loads offline.
	Stored storedState
}

// storedState is whether a loaded model's files are kept on the device.
type storedState string

const (
	storedPending    storedState = ""           // not said yet
	storedComplete   storedState = "complete"   // every file is in the cache
	storedIncomplete storedState = "incomplete" // some file could not be kept
)

// progress records one progress message.
func (m *modelState) progress(file string, loadedBytes, total int64) {
	for i := range m.Files {
		if m.Files[i].File == file {
			m.Files[i].Loaded, m.Files[i].Total = loadedBytes, total
			return
		}
	}
	m.Files = append(m.Files, fileProgress{File: file, Loaded: loadedBytes, Total: total})
}

// totals sums the files' progress; total is 0 while any size is unknown.
func (m modelState) totals() (loadedBytes, total int64) {
	for _, f := range m.Files {
		loadedBytes += f.Loaded
		if f.Total <= 0 {
			return loadedBytes, 0
		}
		total += f.Total
	}
	return loadedBytes, total
}
