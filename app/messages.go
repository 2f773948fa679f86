package app

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Message types of the UI ⇄ worker protocol (wasm/PROTOCOL.md).
const (
	msgLoad     = "load"
	msgAsk      = "ask"
	msgStop     = "stop"
	msgReset    = "reset"
	msgReady    = "ready"
	msgProgress = "progress"
	msgLoaded   = "loaded"
	msgStatus   = "status"
	msgToken    = "token"
	msgDone     = "done"
	msgError    = "error"
)

// Stop reasons of a done message.
const (
	stopEOS       = "eos"
	stopMaxTokens = "max_new_tokens"
	stopCancelled = "cancelled"
	// stopContextFull: the conversation filled max_position_embeddings.
	stopContextFull = "context_full"
)

// workerMessage is any message from the worker; only the fields of its type
// are set. The page reads it as JSON so decoding is plain, tested Go.
type workerMessage struct {
	Type string `json:"type"`
	// LoadID is the loadId of the load that progress, loaded and a load's
	// error answer (0 on other messages).
	LoadID int `json:"loadId"`

	// progress
	File   string `json:"file"`
	Loaded int64  `json:"loaded"`
	Total  int64  `json:"total"`

	// loaded (and backend/dtype of done)
	Backend string   `json:"backend"`
	DType   Variants `json:"dtype"`
	Notice  string   `json:"notice"`
	Model   string   `json:"model"`
	Tiny    bool     `json:"tiny"`
	// Defaults are the model's own settings (nil from an older worker).
	Defaults *modelDefaults `json:"defaults"`

	// status, token, done (text) and error (message)
	Text    string `json:"text"`
	ID      int64  `json:"id"`
	Message string `json:"message"`
	// Reset (error of an ask): the worker started the conversation over.
	Reset bool `json:"reset"`

	// done
	Tokens          []int64 `json:"tokens"`
	Stop            string  `json:"stop"`
	TTFTMs          float64 `json:"ttftMs"`
	DecodeTPS       float64 `json:"decodeTps"`
	PreprocessMs    float64 `json:"preprocessMs"`
	VisionMs        float64 `json:"visionMs"`
	VisionRuns      int     `json:"visionRuns"`
	VisionRunsTotal int     `json:"visionRunsTotal"`
}

// modelDefaults are a loaded model's settings, read by the worker from its
// files (preprocessor_config.json, generation_config.json).
type modelDefaults struct {
	Split             bool    `json:"split"`
	MaxNewTokens      int     `json:"maxNewTokens"`
	RepetitionPenalty float64 `json:"repetitionPenalty"`
}

// decodeWorkerMessage reads one message serialised with JSON.stringify.
func decodeWorkerMessage(raw string) (workerMessage, error) {
	var m workerMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return m, fmt.Errorf("worker message: %w", err)
	}
	if m.Type == "" {
		return m, errors.New("worker message without a type")
	}
	return m, nil
}

// loadMessage asks the worker to load the model of s; id tags the load's
// replies, so the page can tell them from those of a load it replaced.
func loadMessage(s Settings, id int) map[string]any {
	return map[string]any{
		"type":   msgLoad,
		"loadId": id,
		"model":  s.Model,
		"device": string(s.Device),
		"dtype": map[string]any{
			"vision":  s.DType.Vision,
			"embed":   s.DType.Embed,
			"decoder": s.DType.Decoder,
		},
	}
}

// askRequest is one user turn.
type askRequest struct {
	Image   any // a Blob or File (a JS value), or nil on follow-ups
	Text    string
	Split   bool
	NewChat bool
	Seed    int64 // already chosen: never 0 when sampling with a random seed
}

// askMessage builds the ask message of r with the generation settings of s.
func askMessage(r askRequest, s Settings) map[string]any {
	return map[string]any{
		"type":              msgAsk,
		"image":             r.Image,
		"text":              r.Text,
		"split":             r.Split,
		"newChat":           r.NewChat,
		"maxNewTokens":      s.MaxNewTokens,
		"repetitionPenalty": s.RepetitionPenalty,
		"temperature":       s.Sampling.Temperature,
		"topK":              s.Sampling.TopK,
		"topP":              s.Sampling.TopP,
		"seed":              r.Seed,
	}
}

// plainMessage is a message with only a type (stop, reset).
func plainMessage(typ string) map[string]any { return map[string]any{"type": typ} }
