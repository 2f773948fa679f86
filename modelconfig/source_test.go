package modelconfig

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// TestPrefetch reads a real model folder through a URL whose fetches all
// wait on one gate: Load must succeed, every named file must have been
// fetched at once (before the gate opened) and only once, and a file that
// was not named is still fetched.
func TestPrefetch(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		fetched []string
		started = make(chan string, 64)
		gate    = make(chan struct{})
	)
	src := URL{Base: "https://example.test/m", Fetch: func(url string) ([]byte, error) {
		mu.Lock()
		fetched = append(fetched, url)
		mu.Unlock()
		started <- url
		<-gate
		name := url[len("https://example.test/m/"):]
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fs.ErrNotExist
		}
		return data, err
	}}
	names := ConfigFiles()
	pre := src.Prefetch(append(names, names[0])...) // a name twice is fetched once
	for range names {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the named files were not all fetched at once")
		}
	}
	close(gate)
	cfg, err := Load(pre)
	if err != nil {
		t.Fatalf("Load through Prefetch: %v", err)
	}
	if cfg.Text.HiddenSize == 0 {
		t.Fatal("Load read no hidden_size")
	}
	if _, err := pre.ReadFile(TokenizerFile); err != nil {
		t.Fatalf("a file not prefetched: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{}
	for _, n := range append(names, TokenizerFile) {
		want = append(want, src.Location(n))
	}
	slices.Sort(want)
	slices.Sort(fetched)
	if !slices.Equal(fetched, want) {
		t.Fatalf("fetched %q, want each of %q once", fetched, want)
	}
}
