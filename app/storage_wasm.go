//go:build wasm

package app

import (
	"context"
	"errors"
	"strconv"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/internal/jsutil"
)

// Storage calls of the browser: they block on promises, so call them from
// ctx.Async, never from an event callback. storage_other.go holds the stubs.

// call calls v.name(args...) and awaits the promise it returns.
func call(ctx context.Context, v js.Value, name string, args ...any) (js.Value, error) {
	p, err := jsutil.Call(v, name, args...)
	if err != nil {
		return js.Undefined(), err
	}
	return jsutil.Await(ctx, p)
}

// navigatorStorage is navigator.storage (a secure context's StorageManager),
// or undefined.
func navigatorStorage() js.Value { return js.Global().Get("navigator").Get("storage") }

// readStorage reads the site's usage and quota, whether its storage is
// persistent, and the model cache's files per model folder.
func readStorage(ctx context.Context) (storageInfo, error) {
	info := storageInfo{Known: true}
	if st := navigatorStorage(); st.Truthy() {
		if est, err := call(ctx, st, "estimate"); err == nil {
			info.Usage = int64(est.Get("usage").Float())
			info.Quota = int64(est.Get("quota").Float())
		}
		if p, err := call(ctx, st, "persisted"); err == nil {
			info.Persisted = p.Truthy()
		}
	}
	files, err := modelCacheFiles(ctx)
	if err != nil {
		return info, err
	}
	info.Models = groupModels(files)
	return info, nil
}

// openModelCache opens the model worker's cache, or returns undefined when
// the page has no Cache API (an insecure context).
func openModelCache(ctx context.Context) (js.Value, error) {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return js.Undefined(), nil
	}
	return call(ctx, caches, "open", ModelCacheName)
}

// modelCacheFiles lists the model cache: each entry's URL and size (the
// Content-Length the worker stored with it, else the body's size).
func modelCacheFiles(ctx context.Context) ([]cachedFile, error) {
	cache, err := openModelCache(ctx)
	if err != nil || !cache.Truthy() {
		return nil, err
	}
	keys, err := call(ctx, cache, "keys")
	if err != nil {
		return nil, err
	}
	files := make([]cachedFile, 0, keys.Length())
	for i := range keys.Length() {
		req := keys.Index(i)
		f := cachedFile{URL: req.Get("url").String()}
		resp, err := call(ctx, cache, "match", req)
		if err != nil || !resp.Truthy() {
			continue
		}
		if n, err := strconv.ParseInt(resp.Get("headers").Call("get", "Content-Length").String(), 10, 64); err == nil {
			f.Bytes = n
		} else if b, err := call(ctx, resp, "blob"); err == nil {
			f.Bytes = int64(b.Get("size").Float())
		}
		files = append(files, f)
	}
	return files, nil
}

// deleteCachedModel deletes every file of the model folder from the model
// cache.
func deleteCachedModel(ctx context.Context, folder string) error {
	cache, err := openModelCache(ctx)
	if err != nil {
		return err
	}
	if !cache.Truthy() {
		return errors.New("this browser keeps no model files here")
	}
	keys, err := call(ctx, cache, "keys")
	if err != nil {
		return err
	}
	for i := range keys.Length() {
		req := keys.Index(i)
		if modelFolder(req.Get("url").String()) != folder {
			continue
		}
		if _, err := call(ctx, cache, "delete", req); err != nil {
			return err
		}
	}
	return nil
}

// persistStorage asks the browser to keep the site's storage when space runs
// low (navigator.storage.persist()); Chromium decides without asking, from
// how the site is used (installed, bookmarked, ...), Firefox asks.
func persistStorage(ctx context.Context) bool {
	st := navigatorStorage()
	if !st.Truthy() {
		return false
	}
	if done, err := call(ctx, st, "persisted"); err == nil && done.Truthy() {
		return true
	}
	ok, err := call(ctx, st, "persist")
	return err == nil && ok.Truthy()
}
