package server

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// gzipLevel trades a little size for speed, since the first request for a
// file waits for its compression. Measured on this project's files: the
// 26.8 MB ort-wasm-simd-threaded.asyncify.wasm gives 6.68 MB in 1.3 s at
// level 6 and 6.63 MB in 3.1 s at level 9; a 6.2 MB Go app.wasm gives
// 1.72 MB in 0.35 s against 1.71 MB in 1.1 s.
const gzipLevel = gzip.DefaultCompression

// compressibleExts lists the types worth gzipping. .onnx and .onnx_data
// stay raw on purpose: they are mostly float weights that barely shrink,
// they are fetched with Range, and the loader's progress bar relies on an
// exact Content-Length.
var compressibleExts = map[string]bool{
	".wasm": true, ".js": true, ".mjs": true, ".css": true, ".json": true, ".html": true,
}

// compressible reports whether name's extension is in compressibleExts.
func compressible(name string) bool {
	return compressibleExts[strings.ToLower(path.Ext(name))]
}

// acceptsGzip reports whether the Accept-Encoding headers allow gzip: an
// explicit "gzip" entry decides by its q-value, else "*" does; "gzip;q=0"
// refuses it even when "*" is listed.
func acceptsGzip(h http.Header) bool {
	explicit, star := -1, -1 // -1 unseen, 0 refused, 1 accepted
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip":
				explicit = qualityFlag(params)
			case "*":
				star = qualityFlag(params)
			}
		}
	}
	if explicit >= 0 {
		return explicit == 1
	}
	return star == 1
}

// qualityFlag returns 0 when params hold q=0 (in any spelling: 0, 0.0,
// 0.000) and 1 otherwise, including for a malformed q-value.
func qualityFlag(params string) int {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.ToLower(strings.TrimSpace(k)) != "q" {
			continue
		}
		if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q <= 0 {
			return 0
		}
	}
	return 1
}

// gzipBytes compresses the next size bytes of r. It returns (nil, nil)
// when the result is not smaller than the input, and an error when r ends
// early (the file shrank while being read). Reading streams: only the
// compressed output is held in memory.
func gzipBytes(r io.Reader, size int64) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzipLevel)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	n, err := io.Copy(zw, io.LimitReader(r, size))
	if err != nil {
		return nil, fmt.Errorf("gzip: read: %w", err)
	}
	if n != size {
		return nil, fmt.Errorf("gzip: read %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if int64(buf.Len()) >= size {
		return nil, nil
	}
	return bytes.Clone(buf.Bytes()), nil // drop the buffer's spare capacity
}

// gzipKey names one version of one file: a rebuilt file (new size or
// mtime) gets a new entry, and the stale one ages out of the LRU.
type gzipKey struct {
	path        string
	size, mtime int64
}

// gzipEntry is one cached result. done is closed once data and err are
// set; size is what the entry counts against the bound (guarded by mu).
type gzipEntry struct {
	key  gzipKey
	done chan struct{}
	data []byte
	err  error
	size int64
}

// gzipCache holds gzipped files in memory, at most max bytes of them,
// evicting the least recently used. Each key is compressed once even under
// concurrent requests; failures are not cached.
type gzipCache struct {
	max   int64
	mu    sync.Mutex
	used  int64
	lru   list.List // of *gzipEntry, most recent first
	items map[gzipKey]*list.Element
}

// newGzipCache returns an empty cache bounded to max bytes.
func newGzipCache(max int64) *gzipCache {
	return &gzipCache{max: max, items: make(map[gzipKey]*list.Element)}
}

// fits reports whether a file of size bytes may be compressed into the
// cache; its gzipped form is smaller or not stored, so it fits the bound.
func (c *gzipCache) fits(size int64) bool {
	return size <= c.max
}

// get returns the gzipped bytes for key, running compress when the key is
// not cached and waiting for a compression already under way. A nil slice
// with a nil error means "serve the file uncompressed".
func (c *gzipCache) get(key gzipKey, compress func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if el, ok := c.items[key]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*gzipEntry)
		c.mu.Unlock()
		<-e.done
		return e.data, e.err
	}
	e := &gzipEntry{key: key, done: make(chan struct{})}
	c.items[key] = c.lru.PushFront(e)
	c.mu.Unlock()

	e.data, e.err = compress()
	close(e.done)
	c.settle(e)
	return e.data, e.err
}

// settle accounts for a finished entry: a failed one is dropped so the next
// request retries, a successful one is charged and older entries evicted.
func (c *gzipCache) settle(e *gzipEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[e.key]
	if !ok || el.Value != e { // evicted while compressing
		return
	}
	if e.err != nil {
		c.remove(el)
		return
	}
	e.size = int64(len(e.data))
	c.used += e.size
	for c.used > c.max && c.lru.Len() > 1 {
		c.remove(c.lru.Back())
	}
}

// remove drops el from the cache; c.mu must be held.
func (c *gzipCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*gzipEntry)
	delete(c.items, e.key)
	c.used -= e.size
}

// stats returns the number of entries and bytes held, for tests.
func (c *gzipCache) stats() (entries int, held int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.used
}
