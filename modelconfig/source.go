package modelconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Source is where a model folder's files come from: a local directory now, a
// URL base (the browser, the Hub) through the same interface.
type Source interface {
	// ReadFile returns the whole file called name (slash-separated, relative
	// to the model folder).
	ReadFile(name string) ([]byte, error)
	// Location is what an engine loads name from: a file path or a URL.
	Location(name string) string
}

// Dir is a model folder on the local file system.
type Dir string

// ReadFile implements Source.
func (d Dir) ReadFile(name string) ([]byte, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return nil, fmt.Errorf("model file name %q leaves the model folder", name)
	}
	return os.ReadFile(d.Location(name))
}

// Location implements Source.
func (d Dir) Location(name string) string {
	return filepath.Join(string(d), filepath.FromSlash(name))
}

// URL is a model folder served over HTTP(S); Location joins names onto it.
// Fetching is left to the engine and to a Fetch function supplied by the
// platform, since the browser and native builds reach the network differently.
type URL struct {
	Base  string
	Fetch func(url string) ([]byte, error)
}

// ReadFile implements Source.
func (u URL) ReadFile(name string) ([]byte, error) {
	if u.Fetch == nil {
		return nil, fmt.Errorf("no fetch function to read %s", u.Location(name))
	}
	return u.Fetch(u.Location(name))
}

// Location implements Source.
func (u URL) Location(name string) string {
	return strings.TrimSuffix(u.Base, "/") + "/" + name
}

// Prefetch starts fetching the named files now, all at once, and returns a
// URL that answers each of them from its fetch in flight (once: the bytes
// are then forgotten) and fetches any other file as u does. Over the network
// a folder's small files then cost one round trip instead of one each.
func (u URL) Prefetch(names ...string) URL {
	type read struct {
		done chan struct{}
		data []byte
		err  error
	}
	if u.Fetch == nil {
		return u
	}
	var mu sync.Mutex
	reads := map[string]*read{}
	for _, name := range names {
		url := u.Location(name)
		if _, ok := reads[url]; ok {
			continue
		}
		r := &read{done: make(chan struct{})}
		reads[url] = r
		go func() {
			defer close(r.done)
			r.data, r.err = u.Fetch(url)
		}()
	}
	fetch := u.Fetch
	return URL{Base: u.Base, Fetch: func(url string) ([]byte, error) {
		mu.Lock()
		r, ok := reads[url]
		delete(reads, url)
		mu.Unlock()
		if !ok {
			return fetch(url)
		}
		<-r.done
		return r.data, r.err
	}}
}
