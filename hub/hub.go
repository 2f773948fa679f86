// Package hub downloads a model folder from the Hugging Face Hub (or any
// server with the Hub's URL layout) into a local directory, resuming partial
// files and checking every file's size and SHA-256 against a manifest pinned
// in this repository.
package hub

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// File is a manifest entry: the expected size and SHA-256 of one file.
type File struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest pins a model repository at one revision.
type Manifest struct {
	Repo     string          `json:"repo"`
	Revision string          `json:"revision"`
	Files    map[string]File `json:"files"`
}

// LoadManifest reads a manifest file.
func LoadManifest(name string) (*Manifest, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", name, err)
	}
	if m.Repo == "" || m.Revision == "" || len(m.Files) == 0 {
		return nil, fmt.Errorf("manifest %s lacks repo, revision or files", name)
	}
	for f := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(f)) {
			return nil, fmt.Errorf("manifest %s: file name %q leaves the model folder", name, f)
		}
	}
	return &m, nil
}

// Progress reports bytes of one file: done so far (including a resumed
// part) of total.
type Progress func(file string, done, total int64)

// Options for Download.
type Options struct {
	Endpoint string       // default DefaultEndpoint
	Client   *http.Client // default http.DefaultClient
	Progress Progress     // optional
}

// URL is where the Hub serves file of m: <endpoint>/<repo>/resolve/<revision>/<file>.
func (m *Manifest) URL(endpoint, file string) string {
	return strings.TrimSuffix(endpoint, "/") + "/" + m.Repo + "/resolve/" + m.Revision + "/" + path.Clean(file)
}

// Download fetches files of m into dir. Files already present with the right
// size and hash are kept; a previous partial download (<file>.part) is
// resumed with a Range request. A file whose hash differs is removed and the
// error says so.
func Download(ctx context.Context, m *Manifest, dir string, files []string, opts Options) error {
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	for _, f := range files {
		want, ok := m.Files[f]
		if !ok {
			return fmt.Errorf("%s is not in the %s manifest", f, m.Repo)
		}
		if err := fetchFile(ctx, m, dir, f, want, opts); err != nil {
			return fmt.Errorf("download %s: %w", f, err)
		}
	}
	return nil
}

// Verify checks that dir holds files with the manifest's sizes and hashes.
func Verify(m *Manifest, dir string, files []string) error {
	for _, f := range files {
		want, ok := m.Files[f]
		if !ok {
			return fmt.Errorf("%s is not in the %s manifest", f, m.Repo)
		}
		if err := verifyFile(filepath.Join(dir, filepath.FromSlash(f)), want); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// ErrMismatch means a file's size or hash differs from the manifest.
var ErrMismatch = errors.New("file differs from the pinned manifest")

func verifyFile(name string, want File) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != want.Size {
		return fmt.Errorf("%w: size %d, want %d", ErrMismatch, st.Size(), want.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return fmt.Errorf("%w: sha256 %s, want %s", ErrMismatch, got, want.SHA256)
	}
	return nil
}

func fetchFile(ctx context.Context, m *Manifest, dir, file string, want File, opts Options) error {
	final := filepath.Join(dir, filepath.FromSlash(file))
	if verifyFile(final, want) == nil {
		if opts.Progress != nil {
			opts.Progress(file, want.Size, want.Size)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	part := final + ".part"
	if err := fetchPart(ctx, m.URL(opts.Endpoint, file), part, file, want.Size, opts); err != nil {
		return err
	}
	if err := verifyFile(part, want); err != nil {
		os.Remove(part)
		return err
	}
	return os.Rename(part, final)
}

// fetchPart appends the missing bytes of the file to part.
func fetchPart(ctx context.Context, url, part, file string, size int64, opts Options) error {
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have > size {
		// A longer part cannot be a prefix of this file: start over.
		if err := f.Truncate(0); err != nil {
			return err
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have == size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
	case resp.StatusCode == http.StatusOK:
		// The server ignored the range: write from the start.
		if err := f.Truncate(0); err != nil {
			return err
		}
		if have, err = f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	w := &progressWriter{w: f, file: file, done: have, total: size, report: opts.Progress}
	// Never write more than the file's size, whatever the server sends.
	if _, err := io.Copy(w, io.LimitReader(resp.Body, size-have)); err != nil {
		return err
	}
	return f.Sync()
}

type progressWriter struct {
	w           io.Writer
	file        string
	done, total int64
	report      Progress
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil {
		p.report(p.file, p.done, p.total)
	}
	return n, err
}

// ConfigFiles are the small files every model folder needs.
var ConfigFiles = []string{
	"config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json",
	"tokenizer.json", "tokenizer_config.json", "chat_template.json", "special_tokens_map.json",
}

// FilesFor lists the config files and the three ONNX files of the given
// per-sub-model file names (e.g. "onnx/decoder_model_merged_q4.onnx"),
// without duplicates.
func FilesFor(onnxFiles ...string) []string {
	out := slices.Clone(ConfigFiles)
	for _, f := range onnxFiles {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

//go:embed smolvlm-256m-instruct.manifest.json
var smolVLM256MManifest []byte

// SmolVLM256M is the pinned manifest of HuggingFaceTB/SmolVLM-256M-Instruct:
// sizes and SHA-256 of its config files (as published) and of every ONNX
// file (from the repository's Git LFS pointers).
func SmolVLM256M() *Manifest {
	var m Manifest
	if err := json.Unmarshal(smolVLM256MManifest, &m); err != nil {
		panic("embedded manifest: " + err.Error()) // a build defect, not input
	}
	return &m
}
