package server

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// UncompressedLengthHeader carries the identity length of a gzipped file.
// Content-Length then counts compressed bytes while a fetch body stream
// yields decompressed ones, so a progress bar needs this instead; point
// go-app's Handler.WasmContentLengthHeader at it.
const UncompressedLengthHeader = "X-Uncompressed-Content-Length"

// fileCacheControl makes browsers revalidate every file (a cheap 304 via
// ETag): names like app.wasm are not content-hashed, so a long max-age
// would serve a stale app after a rebuild.
const fileCacheControl = "no-cache"

// errNotRegular reports a directory, device, FIFO or socket, never served.
var errNotRegular = errors.New("not a regular file")

// tree serves the files below one directory under one URL prefix. A nil
// *tree answers 404 to everything.
type tree struct {
	dir    string
	prefix string
	gz     *gzipCache // nil: never compress
	log    *slog.Logger
	// listings: a missing index.json is answered with its folder's
	// listing (see ListingName).
	listings bool
}

// newTree checks that dir can be opened as an os.Root; an empty dir yields
// a nil tree.
func newTree(dir, prefix string, gz *gzipCache, log *slog.Logger) (*tree, error) {
	if dir == "" {
		return nil, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	_ = root.Close()
	return &tree{dir: dir, prefix: prefix, gz: gz, log: log}, nil
}

func (t *tree) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if t == nil {
		httpError(w, http.StatusNotFound)
		return
	}
	name, ok := fileName(r.URL.Path, t.prefix)
	if !ok {
		httpError(w, http.StatusNotFound)
		return
	}
	f, info, err := t.open(name)
	if err != nil {
		if t.listable(name, err) && t.serveListing(w, r, name) {
			return
		}
		t.fail(w, r, name, err)
		return
	}
	defer f.Close()
	t.serveFile(w, r, f, info)
}

// open opens name inside the tree's os.Root, which refuses any path or
// symlink that resolves outside the directory. Only regular files are
// returned; stat comes first so that opening a FIFO cannot block.
func (t *tree) open(name string) (*os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(t.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("open root %s: %w", t.dir, err)
	}
	defer root.Close()
	if info, err := root.Stat(name); err != nil {
		return nil, nil, err
	} else if !info.Mode().IsRegular() {
		return nil, nil, errNotRegular
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// fail answers a failed open with a status and the bare status text; the
// detail goes to the log only.
func (t *tree) fail(w http.ResponseWriter, r *http.Request, name string, err error) {
	code := statusFor(err)
	switch code {
	case http.StatusForbidden:
		t.log.WarnContext(r.Context(), "server: file forbidden", "dir", t.dir, "name", name, "err", err)
	case http.StatusInternalServerError:
		t.log.ErrorContext(r.Context(), "server: open file", "dir", t.dir, "name", name, "err", err)
	}
	httpError(w, code)
}

// statusFor maps an open error to the status the client sees: missing
// files, directories, bad paths and refused symlinks are 404; permission
// is 403; anything else (EMFILE, EIO, ...) is 500.
func statusFor(err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errNotRegular),
		errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP),
		errors.Is(err, syscall.ENAMETOOLONG), refusedByRoot(err):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// refusedByRoot reports an os.Root refusal ("path escapes from parent"):
// a *PathError whose cause is os's own sentinel rather than a syscall
// errno. os does not export the sentinel, hence the test on its kind.
func refusedByRoot(err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	var errno syscall.Errno
	return !errors.As(pe.Err, &errno)
}

// serveFile sends f through http.ServeContent with a strong ETag, using
// the cached gzipped copy when the file's type compresses, the client
// accepts gzip and the request is not a Range request.
func (t *tree) serveFile(w http.ResponseWriter, r *http.Request, f *os.File, info fs.FileInfo) {
	h := w.Header()
	h.Set("Content-Type", contentType(info.Name()))
	h.Set("Cache-Control", fileCacheControl)
	tag := etag(info)
	if t.gz != nil && compressible(info.Name()) {
		h.Add("Vary", "Accept-Encoding")
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header) && t.serveGzip(w, r, f, info, tag) {
			return
		}
	}
	h.Set("ETag", tag)
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

// serveGzip serves the gzipped copy of f and reports true, or reports false
// (having written nothing) when the file is too large for the cache, does
// not shrink, or fails to compress. ServeContent then still handles
// If-None-Match and HEAD on the compressed bytes.
func (t *tree) serveGzip(w http.ResponseWriter, r *http.Request, f *os.File, info fs.FileInfo, tag string) bool {
	if !t.gz.fits(info.Size()) {
		return false
	}
	key := gzipKey{path: r.URL.Path, size: info.Size(), mtime: info.ModTime().UnixNano()}
	data, err := t.gz.get(key, func() ([]byte, error) { return gzipBytes(f, info.Size()) })
	if err != nil {
		t.log.WarnContext(r.Context(), "server: gzip, serving identity", "dir", t.dir, "path", r.URL.Path, "err", err)
		return false
	}
	if data == nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Encoding", "gzip")
	h.Set("ETag", gzipETag(tag))
	h.Set(UncompressedLengthHeader, strconv.FormatInt(info.Size(), 10))
	lw := &lengthOnOK{ResponseWriter: w, length: strconv.Itoa(len(data))}
	http.ServeContent(lw, r, info.Name(), info.ModTime(), bytes.NewReader(data))
	return true
}

// etag returns a strong validator built from modification time (ns) and
// size: free to compute, and it changes whenever a build rewrites a file.
// Strong (no W/) because ServeContent honours If-Range only for strong tags.
func etag(info fs.FileInfo) string {
	return `"` + strconv.FormatInt(info.ModTime().UnixNano(), 16) + "-" +
		strconv.FormatInt(info.Size(), 16) + `"`
}

// gzipETag derives the gzipped representation's tag; the bytes differ, so
// the strong tag must too.
func gzipETag(tag string) string {
	return strings.TrimSuffix(tag, `"`) + `-gzip"`
}

// lengthOnOK sets Content-Length on a 200 only: ServeContent leaves it
// unset when Content-Encoding is set, and a preset length would be wrong
// on the bodyless 304 and 412 it may send instead.
type lengthOnOK struct {
	http.ResponseWriter
	length string
}

func (w *lengthOnOK) WriteHeader(code int) {
	if code == http.StatusOK {
		w.Header().Set("Content-Length", w.length)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *lengthOnOK) Unwrap() http.ResponseWriter { return w.ResponseWriter }
