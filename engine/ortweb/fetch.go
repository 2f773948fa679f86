//go:build js && wasm

package ortweb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/internal/jsutil"
)

// fetched is a file's bytes, held in JavaScript memory.
type fetched struct {
	data   js.Value // Uint8Array
	cached bool     // read from the Cache API

	// stored is the download's way into the cache; nil for a file read
	// from the cache.
	stored *storing
}

// storing is a download going into the cache.
type storing struct {
	done chan struct{} // closed when the put has settled
	ok   bool          // set before done closes: the file is in the cache
}

// writes are the cache writes of this program not yet seen settled, of
// every engine and Fetch: neither Close nor a cancelled load stops a write
// in flight.
var writes struct {
	sync.Mutex
	pending []*storing
}

// track adds s to the writes in flight, dropping those that have settled.
func track(s *storing) {
	writes.Lock()
	defer writes.Unlock()
	writes.pending = slices.DeleteFunc(writes.pending, (*storing).settled)
	writes.pending = append(writes.pending, s)
}

// WritesSettled waits until every cache write begun so far, by any engine
// or Fetch, has gone in or failed to, or ctx ends. After a load that failed
// or was replaced, files may still be going into the cache: a delete before
// they have settled would be undone by them.
func WritesSettled(ctx context.Context) error {
	writes.Lock()
	pending := slices.Clone(writes.pending)
	writes.Unlock()
	for _, s := range pending {
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// settled reports whether the put has settled.
func (s *storing) settled() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits until the put has settled or ctx ends, and says whether the
// file is in the cache.
func (s *storing) wait(ctx context.Context) bool {
	select {
	case <-s.done:
		return s.ok
	case <-ctx.Done():
		return false
	}
}

// Fetch reads the file at url into Go memory, through the Cache API as opts
// says, and says whether the file is in the cache once it returns: read from
// there, or downloaded and stored (Fetch waits for the store). A missing
// file (HTTP 404 or 410) gives an error wrapping fs.ErrNotExist, so optional
// files can be told apart from failures.
func Fetch(ctx context.Context, url string, opts FetchOptions) (data []byte, kept bool, err error) {
	f, err := fetchFile(ctx, url, opts)
	if err != nil {
		return nil, false, err
	}
	kept = f.cached
	if f.stored != nil {
		kept = f.stored.wait(ctx)
	}
	return jsutil.GoBytes(f.data), kept, nil
}

// fetchFile reads url into a Uint8Array, from the cache or the network as
// opts says. A download goes to the cache as it arrives (see store and
// fetched.stored).
func fetchFile(ctx context.Context, url string, opts FetchOptions) (fetched, error) {
	cache := openCache(ctx, opts.Cache)
	if !opts.NetworkFirst {
		if f, ok := fromCache(ctx, cache, url, opts.Progress); ok {
			return f, nil
		}
	}
	abort := js.Global().Get("AbortController").New()
	defer context.AfterFunc(ctx, func() { abort.Call("abort") })()
	resp, err := request(ctx, url, abort.Get("signal"))
	if err != nil {
		if opts.NetworkFirst && !errors.Is(err, fs.ErrNotExist) && ctx.Err() == nil {
			if f, ok := fromCache(ctx, cache, url, opts.Progress); ok {
				return f, nil
			}
		}
		return fetched{}, err
	}
	stored := store(cache, url, resp)
	data, err := readBody(ctx, resp, opts.Progress, false)
	if err != nil {
		// The copy being stored fails with the download. A body that
		// ended short of its Content-Length without a network error may
		// have been stored whole, so that copy is deleted (only that one:
		// where the store failed, an older whole entry stays).
		abort.Call("abort")
		if errors.Is(err, errShortBody) {
			go func() {
				if stored.wait(context.Background()) {
					if p, err := jsutil.Call(cache, "delete", url); err == nil {
						jsutil.Await(context.Background(), p)
					}
				}
			}()
		}
		return fetched{}, fmt.Errorf("download %s: %w", url, err)
	}
	return fetched{data: data, stored: stored}, nil
}

// openCache opens the named cache, or returns undefined when there is no
// name or no Cache API (an insecure context) or it fails: caching is an
// optimisation, never a reason to fail.
func openCache(ctx context.Context, name string) js.Value {
	caches := js.Global().Get("caches")
	if name == "" || caches.IsUndefined() {
		return js.Undefined()
	}
	p, err := jsutil.Call(caches, "open", name)
	if err != nil {
		return js.Undefined()
	}
	c, err := jsutil.Await(ctx, p)
	if err != nil {
		return js.Undefined()
	}
	return c
}

// fromCache reads url's cached copy, if there is a complete one.
func fromCache(ctx context.Context, cache js.Value, url string, progress func(int64, int64, bool)) (fetched, bool) {
	if cache.IsUndefined() {
		return fetched{}, false
	}
	p, err := jsutil.Call(cache, "match", url)
	if err != nil {
		return fetched{}, false
	}
	resp, err := jsutil.Await(ctx, p)
	if err != nil || resp.IsUndefined() {
		return fetched{}, false
	}
	data, err := readBody(ctx, resp, progress, true)
	if err != nil {
		return fetched{}, false
	}
	return fetched{data: data, cached: true}, true
}

// request starts a GET of url, aborted by signal (an AbortSignal), and
// checks the status.
func request(ctx context.Context, url string, signal js.Value) (js.Value, error) {
	init := map[string]any{"signal": signal, "credentials": "same-origin"}
	p, err := jsutil.Call(js.Global(), "fetch", url, init)
	if err != nil {
		return js.Value{}, fmt.Errorf("fetch %s: %w", url, err)
	}
	resp, err := jsutil.Await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return js.Value{}, ctx.Err()
		}
		return js.Value{}, fmt.Errorf("fetch %s: %w", url, err)
	}
	if status := resp.Get("status").Int(); !resp.Get("ok").Bool() {
		err := fmt.Errorf("fetch %s: HTTP %d %s", url, status, http.StatusText(status))
		if status == http.StatusNotFound || status == http.StatusGone {
			err = fmt.Errorf("%w: %w", err, fs.ErrNotExist)
		}
		return js.Value{}, err
	}
	return resp, nil
}

// errShortBody is a body that ended before its Content-Length.
var errShortBody = errors.New("the download ended early")

// editSlack is room left after a file read whole, so that an engine.Edit
// that adds a few bytes (onnxedit.PlanLastTokenLogits: under 1 kB) can be
// assembled in the file's own buffer instead of a second copy of it.
const editSlack = 64 << 10

// readBody reads a response body chunk by chunk into one Uint8Array,
// reporting progress after each chunk. The bytes stay in JavaScript memory.

func readBody(ctx context.Context, resp js.Value, progress func(int64, int64, bool), cached bool) (js.Value, error) {
	total := contentLength(resp)
	u8 := js.Global().Get("Uint8Array")
	buf := u8.New(max(total+editSlack, 1<<16))
	var n int64
	if progress != nil {
		progress(0, total, cached)
	}
	reader := resp.Get("body").Call("getReader")
	for {
		chunk, err := jsutil.Await(ctx, reader.Call("read"))
		if err != nil {
			reader.Call("cancel")
			return js.Value{}, err
		}
		if chunk.Get("done").Bool() {
			break
		}
		value := chunk.Get("value")
		size := int64(value.Get("byteLength").Int())
		if capacity := int64(buf.Get("byteLength").Int()); n+size > capacity {
			grown := u8.New(max(2*capacity, n+size))
			grown.Call("set", buf.Call("subarray", 0, n))
			buf = grown
		}
		buf.Call("set", value, n)
		n += size
		if progress != nil {
			progress(n, total, cached)
		}
	}
	if total > 0 && n != total {
		return js.Value{}, fmt.Errorf("%w: read %d bytes, Content-Length said %d", errShortBody, n, total)
	}
	return buf.Call("subarray", 0, n), nil
}

// contentLength is the body size the response declares, or 0 when it is
// unknown or describes compressed bytes (the reader yields decoded bytes).
func contentLength(resp js.Value) int64 {
	h := resp.Get("headers")
	if enc := h.Call("get", "Content-Encoding"); !enc.IsNull() && enc.String() != "identity" {
		return 0
	}
	v := h.Call("get", "Content-Length")
	if v.IsNull() {
		return 0
	}
	n, err := strconv.ParseInt(v.String(), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// store puts a copy of a download's response into the cache while the
// caller reads the body: the browser feeds both from one download, the bytes
// pass through JavaScript once, and the worker's thread is not held up
// copying and handing over a whole file. Failures (a full quota, a private
// window) only leave storing.ok false: the file is still loaded, only not
// kept.
func store(cache js.Value, url string, resp js.Value) *storing {
	s := &storing{done: make(chan struct{})}
	put, err := putCopy(cache, url, resp)
	if err != nil {
		close(s.done)
		return s
	}
	track(s)
	go func() {
		defer close(s.done)
		_, err := jsutil.Await(context.Background(), put)
		s.ok = err == nil
	}()
	return s
}

// putCopy starts cache.put of a clone of resp; it must run before the body
// is read.
func putCopy(cache js.Value, url string, resp js.Value) (js.Value, error) {
	if cache.IsUndefined() {
		return js.Value{}, errors.New("no cache")
	}
	copied, err := jsutil.Call(resp, "clone")
	if err != nil {
		return js.Value{}, err
	}
	return jsutil.Call(cache, "put", url, copied)
}
