//go:build !wasm

package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// WriteStaticSite writes what a static file server needs, next to web/ and
// models/, to host the app from dir: index.html (the page with its first
// paint), app.js (go-app's loader, carrying opts as its environment),
// app-worker.js (the service worker; at the root so it controls the page),
// app.css, manifest.webmanifest and wasm_exec.js. opts.Version should change
// with every build so returning visitors get the new one.
func WriteStaticSite(dir string, opts HandlerOptions) error {
	Routes()
	if err := goapp.GenerateStaticWebsite(dir, Handler(opts)); err != nil {
		return fmt.Errorf("static site: %w", err)
	}
	return nil
}
