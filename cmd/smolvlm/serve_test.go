package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/modelconfig"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveFixture runs "smolvlm serve" on a free port with the tiny model and
// returns its address and a function that stops it.
func serveFixture(t *testing.T, extra ...string) (addr string, out *syncBuffer, stop func() error) {
	t.Helper()
	model, _ := fixturePaths(t)
	models := t.TempDir()
	if err := os.CopyFS(filepath.Join(models, tinyModelName), os.DirFS(model)); err != nil {
		t.Fatal(err)
	}
	web := t.TempDir()
	os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan error, 1)
	args := append([]string{"serve", "-addr", "127.0.0.1:0", "-models", models, "-web", web}, extra...)
	go func() { done <- run(ctx, args, out, out) }()
	re := regexp.MustCompile(`served on (https?://[^/]+)/`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, func() error { cancel(); return <-done }
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out)
		default:
		}
	}
	cancel()
	t.Fatalf("serve did not start:\n%s", out)
	return "", nil, nil
}

func TestServeTinyModel(t *testing.T) {
	base, out, stop := serveFixture(t)
	if !strings.Contains(out.String(), "tiny test model") {
		t.Errorf("the terminal does not say the tiny model is served:\n%s", out)
	}
	for path, want := range map[string]int{
		"/":                                     http.StatusOK,
		"/models/tiny-smolvlm/config.json":      http.StatusOK,
		"/models/tiny-smolvlm/../../etc/passwd": http.StatusNotFound,
		"/web/app.wasm":                         http.StatusOK,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Cross-Origin-Embedder-Policy") != "require-corp" {
			t.Errorf("%s: %s, COEP %q", path, resp.Status, resp.Header.Get("Cross-Origin-Embedder-Policy"))
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	base, _, stop := serveFixture(t, "-cert", cert, "-key", key)
	defer stop()
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("served on %s, want https", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(base + "/models/tiny-smolvlm/config.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTPS: %s", resp.Status)
	}
	if _, _, err := runCLI(t, "serve", "-cert", cert); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("-cert without -key: err = %v", err)
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// TestPickModelByMarker: whether a model has random weights comes from its
// folder's marker (modelconfig.RandomWeightsFile), not from its name.
func TestPickModelByMarker(t *testing.T) {
	model, _ := fixturePaths(t)
	models := t.TempDir()
	for _, name := range []string{tinyModelName, "bench-256m"} {
		if err := os.CopyFS(filepath.Join(models, name), os.DirFS(model)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(models, tinyModelName, modelconfig.RandomWeightsFile)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		asked, name string
		random      bool
	}{
		{"", tinyModelName, false}, // the name alone says nothing
		{tinyModelName, tinyModelName, false},
		{"bench-256m", "bench-256m", true},
	} {
		name, random, err := pickModel(models, tc.asked)
		if err != nil || name != tc.name || random != tc.random {
			t.Errorf("pickModel(%q) = %q, random %v, %v; want %q, random %v", tc.asked, name, random, err, tc.name, tc.random)
		}
	}
}
