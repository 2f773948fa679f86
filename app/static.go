//go:build !wasm

package app

import (
	"fmt"
	"os"
	"path/filepath"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// WriteStaticSite writes what a static file server needs, next to web/ and
// models/, to host the app from dir: index.html (the page with its first
// paint), app.js (go-app's loader, carrying opts as its environment),
// app-worker.js (the service worker; at the root so it controls the page),
// app.css, manifest.webmanifest (with the Web Share Target, as Pages serves
// it) and wasm_exec.js. opts.Version should change with every build so
// returning visitors get the new one. The share target's POST is answered by
// the service worker, so it works on a static host too.
func WriteStaticSite(dir string, opts HandlerOptions) error {
	Routes()
	if err := goapp.GenerateStaticWebsite(dir, Handler(opts)); err != nil {
		return fmt.Errorf("static site: %w", err)
	}
	path := filepath.Join(dir, filepath.FromSlash(manifestPath))
	m, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("static site: %w", err)
	}
	if m, err = withShareTarget(m); err != nil {
		return fmt.Errorf("static site: %w", err)
	}
	if err := os.WriteFile(path, m, 0o644); err != nil {
		return fmt.Errorf("static site: %w", err)
	}
	return nil
}
