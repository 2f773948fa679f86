//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/engine/ortweb"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

// availableVariants asks the model folder src which ONNX variants it
// holds, so that the automatic choice takes one that is there: first the
// listing bin/smolvlm serve answers (modelconfig.ListingFile); on a host
// without one (the Hub, a static file server), a HEAD request for each
// sub-model in each of the app's variants. Nil means unknown (offline, with
// no listing in the cache): every variant is then taken to be there.
//
// With probe false (every part was asked for explicitly, so nothing is to be
// chosen), only the listing is read: no HEAD request per file, and a second
// load from the cache makes no request for model files at all.
func availableVariants(ctx context.Context, src modelconfig.URL, probe bool) modelconfig.Available {
	if raw, err := src.ReadFile(modelconfig.ListingFile); err == nil {
		if a, err := modelconfig.ParseListing(raw); err == nil {
			return a
		}
	}
	if !probe {
		return nil
	}
	return probeVariants(ctx, src)
}

// probeVariants sends the HEAD requests of availableVariants, all at once.
func probeVariants(ctx context.Context, src modelconfig.URL) modelconfig.Available {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		found    = map[string]map[string]bool{}
		answered bool
	)
	variants := modelconfig.AppVariants
	for _, part := range modelconfig.Parts {
		found[part] = map[string]bool{}
		for _, v := range variants {
			name, _ := modelconfig.ONNXFile(part, v)
			wg.Go(func() {
				ok, err := fileExists(ctx, src.Location(name))
				mu.Lock()
				defer mu.Unlock()
				answered = answered || err == nil
				found[part][v] = ok
			})
		}
	}
	wg.Wait()
	if !answered {
		return nil
	}
	a := modelconfig.Available{}
	for _, part := range modelconfig.Parts {
		for _, v := range variants {
			if found[part][v] {
				a[part] = append(a[part], v)
			}
		}
	}
	return a
}

// fileExists asks the server with HEAD whether url exists; without a
// network answer, whether the model cache holds it. err is set only when
// neither could tell.
func fileExists(ctx context.Context, url string) (bool, error) {
	abort := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()
	init := map[string]any{"method": http.MethodHead, "signal": abort.Get("signal"), "credentials": "same-origin"}
	p, err := jsutil.Call(js.Global(), "fetch", url, init)
	if err == nil {
		var resp js.Value
		if resp, err = jsutil.Await(ctx, p); err == nil {
			switch status := resp.Get("status").Int(); {
			case resp.Get("ok").Bool():
				return true, nil
			case status == http.StatusNotFound || status == http.StatusGone:
				return false, nil
			default:
				err = fmt.Errorf("HEAD %s: HTTP %d", url, status)
			}
		}
	}
	if cached(ctx, url) {
		return true, nil
	}
	return false, errors.Join(fmt.Errorf("HEAD %s", url), err)
}

// cached reports whether the model cache holds url.
func cached(ctx context.Context, url string) bool {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return false
	}
	p, err := jsutil.Call(caches, "open", ortweb.DefaultCache)
	if err != nil {
		return false
	}
	cache, err := jsutil.Await(ctx, p)
	if err != nil {
		return false
	}
	if p, err = jsutil.Call(cache, "match", url); err != nil {
		return false
	}
	resp, err := jsutil.Await(ctx, p)
	return err == nil && resp.Truthy()
}
