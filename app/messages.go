package app

import (
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// The page's messages to the worker, in the protocol's types
// (wasm/protocol, wasm/PROTOCOL.md).

// loadMessage asks the worker to load the model of s; id tags the load's
// replies, so the page can tell them from those of a load it replaced.
func loadMessage(s Settings, id int) *protocol.Load {
	return &protocol.Load{LoadID: id, Model: s.Model, Device: s.Device, DType: s.DType, Dequantize: s.Unpack4Bit.dequantize(), Int8MatMul: s.Unpack4Bit == UnpackInt8}
}

// askRequest is one user turn.
type askRequest struct {
	Image   any // a Blob or File (a JS value), or nil on follow-ups
	Text    string
	Split   bool
	NewChat bool
	Seed    int64 // already chosen: never 0 when sampling with a random seed
}

// askMessage builds the ask message of r with the generation settings of s;
// the picture travels beside it. A setting left at 0 is the model's own
// (loaded.defaults).
func askMessage(r askRequest, s Settings) *protocol.Ask {
	return &protocol.Ask{
		Text:              r.Text,
		Split:             &r.Split,
		NewChat:           r.NewChat,
		MaxNewTokens:      s.MaxNewTokens,
		RepetitionPenalty: s.RepetitionPenalty,
		Temperature:       s.Sampling.Temperature,
		TopK:              s.Sampling.TopK,
		TopP:              s.Sampling.TopP,
		Seed:              r.Seed,
	}
}
