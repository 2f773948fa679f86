//go:build cgo && !js && !windows

package ortnative

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/engine"
)

// TestUnsupportedElementType loads a one-node model whose input is int32,
// which no SmolVLM file uses: LoadSession must fail naming that input.
func TestUnsupportedElementType(t *testing.T) {
	e, _, _ := setup(t)
	path := filepath.Join(t.TempDir(), "identity_int32.onnx")
	if err := os.WriteFile(path, engine.IdentityModel(engine.ONNXInt32), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := e.LoadSession(context.Background(), path)
	if !errors.Is(err, engine.ErrUnsupportedDType) || !strings.Contains(err.Error(), `input "x" has element type int32`) {
		t.Fatalf("LoadSession: %v", err)
	}
	t.Log(err)
}
