package app

import (
	_ "embed"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// HandlerOptions configure the page's go-app Handler.
type HandlerOptions struct {
	// ModelURL is the default model folder the page loads; DefaultModelURL
	// ("/models/default/") when empty. A link's model parameter overrides it.
	ModelURL string
	// TinyModel says the default model is the bundled random-weight test
	// model, so the page can say its answers are random words.
	TinyModel bool
	// Version is the app version the service worker caches under. Leave it
	// empty in development (a new one per start); set it in production so
	// returning visitors don't download everything again.
	Version string
}

// Theme colours, also in web/app.css and the generated icons.
const (
	themeColor      = "#4338ca"
	backgroundColor = "#f6f7fb"
)

// serviceWorkerTemplate is go-app's app-worker.js template, changed so that
// model files survive app updates and the app starts offline (see the file).
//
//go:embed app-worker.js
var serviceWorkerTemplate string

// OfflineResources are the files, besides go-app's own (the page, app.js,
// app.wasm, icons, styles), that the service worker caches on install so the
// installed app starts and answers offline: the model worker and both
// onnxruntime-web builds web/worker.js may load (the Makefile's ORT_FILES).
// The model files are not among them: the model worker keeps those in its
// own cache, which app updates leave alone.
var OfflineResources = []string{
	"/web/worker.js",
	"/web/worker.wasm",
	"/web/wasm_exec.js",
	"/web/icon.svg",
	"/web/ort/ort.jspi.min.mjs",
	"/web/ort/ort-wasm-simd-threaded.jspi.mjs",
	"/web/ort/ort-wasm-simd-threaded.jspi.wasm",
	"/web/ort/ort.webgpu.min.mjs",
	"/web/ort/ort-wasm-simd-threaded.asyncify.mjs",
	"/web/ort/ort-wasm-simd-threaded.asyncify.wasm",
}

// Handler builds the go-app handler that serves the page and go-app's own
// resources (/app.js, /wasm_exec.js, /app-worker.js, /manifest.webmanifest,
// /app.css). The server serves /web/ and /models/ itself. Pages wraps it
// with the manifest's Web Share Target.
//
// The service worker (app-worker.js, from app/app-worker.js) precaches the
// page, go-app's files and OfflineResources under app-<Version>, and on an
// update deletes older app-* caches only.
//
// Everything is local: go-app's default icon is a remote URL, so all icons
// are set. The generated page has no inline script or style (go-app passes
// Env through /app.js), so it runs under script-src 'self' 'wasm-unsafe-eval';
// components use classes, never style attributes, and the preview is a
// canvas, so no style-src or img-src exception is needed either.
func Handler(opts HandlerOptions) *goapp.Handler {
	model := opts.ModelURL
	if model == "" {
		model = DefaultModelURL
	}
	tiny := "0"
	if opts.TinyModel {
		tiny = "1"
	}
	return &goapp.Handler{
		Name:        "SmolVLM in your pocket",
		ShortName:   "SmolVLM",
		Title:       "SmolVLM in your pocket",
		Description: "Ask questions about a picture. A small vision-language model answers, computed on your own device.",
		Lang:        "en",
		Icon: goapp.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-maskable-512.png",
			SVG:      "/web/icon.svg",
		},
		BackgroundColor: backgroundColor,
		ThemeColor:      themeColor,
		LoadingLabel:    "Loading SmolVLM… {progress}%",
		// The server gzips app.wasm; this header carries its real size so
		// the loader's percentage stays right (server.UncompressedLengthHeader;
		// without it go-app falls back to Content-Length).
		WasmContentLengthHeader: "X-Uncompressed-Content-Length",
		Styles:                  []string{"/web/app.css"},
		// dropguard.js keeps a file dropped before the app starts, or
		// beside the drop zone, from replacing the page.
		Scripts: []string{"/web/dropguard.js"},
		Env: map[string]string{
			EnvModelURL:  model,
			EnvTinyModel: tiny,
		},
		Version:               opts.Version,
		CacheableResources:    OfflineResources,
		ServiceWorkerTemplate: serviceWorkerTemplate,
	}
}

// Routes registers the page with go-app's router. Both the browser program
// (wasm/app) and the server call it, so the server can render the first
// paint of the same component the browser then takes over.
func Routes() {
	newRoot := func() goapp.Composer { return newPage() }
	goapp.Route("/", newRoot)
	goapp.Route("/index.html", newRoot) // the static build's entry page
}
