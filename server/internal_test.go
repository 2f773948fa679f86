package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

func TestStatusFor(t *testing.T) {
	pathErr := func(err error) error { return &fs.PathError{Op: "openat", Path: "x", Err: err} }
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"not exist", pathErr(syscall.ENOENT), 404},
		{"fs.ErrNotExist", fs.ErrNotExist, 404},
		{"not a directory", pathErr(syscall.ENOTDIR), 404},
		{"symlink loop", pathErr(syscall.ELOOP), 404},
		{"name too long", pathErr(syscall.ENAMETOOLONG), 404},
		{"directory", errNotRegular, 404},
		{"root escape", pathErr(errors.New("path escapes from parent")), 404},
		{"wrapped", fmt.Errorf("open: %w", pathErr(syscall.ENOENT)), 404},
		{"permission", pathErr(syscall.EACCES), 403},
		{"fs.ErrPermission", fs.ErrPermission, 403},
		{"too many files", pathErr(syscall.EMFILE), 500},
		{"io error", pathErr(syscall.EIO), 500},
		{"bare error", errors.New("boom"), 500},
	}
	for _, tt := range tests {
		if got := statusFor(tt.err); got != tt.want {
			t.Errorf("%s: statusFor(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestInternalErrorsHidden(t *testing.T) {
	var logs bytes.Buffer
	tr := &tree{dir: "/srv/secret-dir", prefix: WebPrefix, log: slog.New(slog.NewTextHandler(&logs, nil))}
	w := httptest.NewRecorder()
	err := &fs.PathError{Op: "openat", Path: "/srv/secret-dir/app.wasm", Err: syscall.EMFILE}
	tr.fail(w, httptest.NewRequest("GET", "/web/app.wasm", nil), "app.wasm", err)
	if w.Code != 500 || w.Body.String() != "Internal Server Error\n" {
		t.Errorf("status %d body %q, want 500 with the bare status text", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "too many open files") || !strings.Contains(logs.String(), "secret-dir") {
		t.Errorf("log lacks the detail: %q", logs.String())
	}
}

func TestCheckRequestPath(t *testing.T) {
	tests := []struct {
		target string
		want   int
	}{
		{"/", 0},
		{"/about/", 0},
		{"/web/app.wasm", 0},
		{"/web/a%20b.js", 0},
		{"/.well-known/assetlinks.json", 0},
		{"/web/../x", 404},
		{"/web/./x", 404},
		{"/web/%2e%2e/x", 404},
		{"/web//x", 404},
		{"//x", 404},
		{"/web/..%2Fx", 400},
		{"/web/%5Cx", 400},
		{"/web/%00", 400},
		{"/web/%0a", 400},
		{"/web/%7f", 400},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		if got := checkRequestPath(r.URL); got != tt.want {
			t.Errorf("checkRequestPath(%q) = %d, want %d", tt.target, got, tt.want)
		}
	}
}

func TestFileName(t *testing.T) {
	tests := []struct {
		path string
		name string
		ok   bool
	}{
		{"/web/app.wasm", "app.wasm", true},
		{"/web/icons/a.png", "icons/a.png", true},
		{"/web/", "", false},
		{"/web", "", false},
		{"/web/icons/", "", false},
		{"/web/.env", "", false},
		{"/web/.git/config", "", false},
		{"/web/a/.b/c", "", false},
		{"/web/a/..", "", false},
		{"/webx/a", "", false},
	}
	for _, tt := range tests {
		name, ok := fileName(tt.path, WebPrefix)
		if name != tt.name || ok != tt.ok {
			t.Errorf("fileName(%q) = %q, %v; want %q, %v", tt.path, name, ok, tt.name, tt.ok)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"deflate, gzip;q=1.0, *;q=0.5"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"identity"}, false},
		{[]string{"x-gzip"}, false},
		{[]string{"gzip;q=abc"}, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, v := range tt.values {
			h.Add("Accept-Encoding", v)
		}
		if got := acceptsGzip(h); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.values, got, tt.want)
		}
	}
}

func TestGzipBytes(t *testing.T) {
	data := compressibleBytes(10000)
	gz, err := gzipBytes(bytes.NewReader(data), int64(len(data)))
	if err != nil || gz == nil {
		t.Fatalf("gzipBytes = %d bytes, %v", len(gz), err)
	}
	if !bytes.Equal(gunzip(t, gz), data) {
		t.Error("round trip differs")
	}
	if gz, err := gzipBytes(bytes.NewReader([]byte("ab")), 2); gz != nil || err != nil {
		t.Errorf("incompressible: got %d bytes, %v; want nil, nil", len(gz), err)
	}
	if _, err := gzipBytes(bytes.NewReader(data[:10]), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short read: err = %v, want ErrUnexpectedEOF", err)
	}
}

func TestGzipCacheCompressesOnce(t *testing.T) {
	c := newGzipCache(1 << 20)
	var calls atomic.Int32
	release := make(chan struct{})
	compress := func() ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte("zz"), nil
	}
	key := gzipKey{path: "/web/app.wasm", size: 10, mtime: 1}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if b, err := c.get(key, compress); string(b) != "zz" || err != nil {
				t.Errorf("get = %q, %v", b, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("compress ran %d times, want 1", n)
	}
}

func TestGzipCacheBound(t *testing.T) {
	c := newGzipCache(100)
	blob := func(n int) func() ([]byte, error) {
		return func() ([]byte, error) { return make([]byte, n), nil }
	}
	key := func(i int) gzipKey { return gzipKey{path: fmt.Sprint("/f", i), size: 1000, mtime: 1} }
	for i := range 5 {
		if _, err := c.get(key(i), blob(30)); err != nil {
			t.Fatal(err)
		}
	}
	entries, held := c.stats()
	if held > 100 || entries != 3 {
		t.Errorf("after 5×30 bytes under a 100-byte bound: %d entries, %d bytes; want 3, ≤100", entries, held)
	}
	// The oldest were evicted: asking again compresses again.
	var calls int
	_, _ = c.get(key(0), func() ([]byte, error) { calls++; return make([]byte, 30), nil })
	_, _ = c.get(key(4), func() ([]byte, error) { calls++; return make([]byte, 30), nil })
	if calls != 1 {
		t.Errorf("recompressions = %d, want 1 (key 0 evicted, key 4 kept)", calls)
	}
}

func TestGzipCacheErrorsNotCached(t *testing.T) {
	c := newGzipCache(100)
	key := gzipKey{path: "/a", size: 5, mtime: 1}
	boom := errors.New("boom")
	if _, err := c.get(key, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	b, err := c.get(key, func() ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(b) != "ok" {
		t.Errorf("retry = %q, %v; want ok", b, err)
	}
	if entries, held := c.stats(); entries != 1 || held != 2 {
		t.Errorf("stats = %d, %d; want 1, 2", entries, held)
	}
}
