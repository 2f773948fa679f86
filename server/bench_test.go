package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// discardWriter is a ResponseWriter that drops the body, so benchmarks
// measure the server rather than a recorder's buffer growth.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkServe1MB serves a 1 MiB JavaScript file: identity (a file read
// per request) and gzip (the cached compressed bytes; the one-off
// compression happens before the timer starts).
func BenchmarkServe1MB(b *testing.B) {
	const size = 1 << 20
	f := newFixture(b, Options{})
	writeFile(b, f.web, "big.js", compressibleBytes(size))
	for _, bc := range []struct {
		name, accept string
	}{
		{"identity", ""},
		{"gzip", "gzip"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/web/big.js", nil)
			if bc.accept != "" {
				r.Header.Set("Accept-Encoding", bc.accept)
			}
			w := &discardWriter{h: http.Header{}}
			f.h.ServeHTTP(w, r) // warm the gzip cache
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
			wire, _ := strconv.Atoi(w.h.Get("Content-Length"))
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				w := &discardWriter{h: http.Header{}}
				f.h.ServeHTTP(w, r)
			}
			b.ReportMetric(float64(wire), "wire-B/op")
		})
	}
}

// BenchmarkGzipCompress1MB is the one-off cost the first gzip request for
// a 1 MiB file pays.
func BenchmarkGzipCompress1MB(b *testing.B) {
	data := compressibleBytes(1 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := gzipBytes(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
