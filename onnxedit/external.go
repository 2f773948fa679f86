package onnxedit

import (
	"io"
	"strconv"
)

// More TensorProto fields (onnx/onnx.proto).
const (
	tensorExternalData = 13 // TensorProto.external_data (StringStringEntryProto)
	entryKey           = 1  // StringStringEntryProto.key
	entryValue         = 2  // StringStringEntryProto.value
)

// PlanExternalData plans the model of size bytes that src reads without the
// payloads of its large initializers: each initializer of the main graph
// whose raw_data holds at least minBytes says instead where that payload
// already lies, in the file itself, as external data named location
// (TensorProto.external_data: location, offset, length; data_location
// EXTERNAL). The plan is the small rest of the file: nodes, names, shapes.
//
// Why: onnxruntime given a whole model as bytes (onnxruntime-web's
// InferenceSession.create) copies them into its memory, parses them into a
// ModelProto that holds every weight again, and copies each weight once
// more into its tensor before the parsed model is freed; a WebAssembly
// heap never shrinks, so those copies stay the page's for good. Given the
// small model and the original file as its external data (the externalData
// option, which reads each weight straight from the JavaScript array into
// its tensor, or on WebGPU into its GPU buffer), every weight is copied
// once.
//
// Initializers already external, or without raw_data (float_data and the
// like), and those of subgraphs are left as they are. A model with nothing
// to move gives AsIs. Errors wrap ErrNotONNX or ErrUnexpectedStructure, or
// are src's own when a read fails.
func PlanExternalData(src io.ReaderAt, size int64, location string, minBytes int64) (Plan, error) {
	m, err := parseModel(newSource(src, size))
	if err != nil {
		return Plan{}, err
	}
	g, err := m.parseGraph()
	if err != nil {
		return Plan{}, err
	}
	var edits []edit
	for _, init := range g.inits {
		e, ok, err := externalEdit(m.src, init.at, location, minBytes)
		if err != nil {
			return Plan{}, err
		}
		if ok {
			edits = append(edits, e)
		}
	}
	if len(edits) == 0 {
		return AsIs(size), nil
	}
	return m.plan(edits)
}

// externalEdit is the edit that makes the initializer field f refer to its
// raw_data where it lies; ok is false for one to leave as it is.
func externalEdit(src *source, f fileField, location string, minBytes int64) (e edit, ok bool, err error) {
	var raw fileField
	found, external := false, false
	err = src.eachField(f.payload, f.end, func(tf fileField) error {
		switch {
		case tf.num == tensorRawData && tf.typ == wireBytes:
			raw, found = tf, true
		case tf.num == tensorExternalData, tf.num == tensorDataLocation:
			external = true
		}
		return nil
	})
	if err != nil || !found || external || raw.end-raw.payload < minBytes {
		return edit{}, false, err
	}
	var tail []byte
	for _, kv := range [][2]string{
		{"location", location},
		{"offset", strconv.FormatInt(raw.payload, 10)},
		{"length", strconv.FormatInt(raw.end-raw.payload, 10)},
	} {
		entry := appendStringField(appendStringField(nil, entryKey, kv[0]), entryValue, kv[1])
		tail = appendBytesField(tail, tensorExternalData, entry)
	}
	tail = appendVarintField(tail, tensorDataLocation, dataLocationExternal)
	kept := (raw.start - f.payload) + (f.end - raw.end)
	header := appendVarint(appendTag(nil, graphInitializer, wireBytes), uint64(kept)+uint64(len(tail)))
	return edit{start: f.start, end: f.end, repl: []Piece{
		literal(header),
		original(f.payload, raw.start),
		original(raw.end, f.end),
		literal(tail),
	}}, true, nil
}
