//go:build !wasm

// Command gen writes the UI's generated files.
//
//	go run ./app/internal/gen icons  [-out web]   the PNG icons of the web app manifest
//	go run ./app/internal/gen static [-out .]     the static site entry page and go-app's files
//
// The static build lets any static file server host the app from the
// repository root: index.html (the page, first paint included), app.js
// (go-app's loader, carrying the settings of HandlerOptions), app-worker.js
// (the service worker, at the root so it controls the page), app.css,
// manifest.webmanifest and wasm_exec.js, next to web/ (built by `make web`)
// and models/.
//
// It runs on the build machine, so it is not built for the browser.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pocketvlm/smolvlm/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("say what to generate: icons or static")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "icons":
		out := fs.String("out", "web", "folder for the icons")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return writeIcons(*out)
	case "static":
		out := fs.String("out", ".", "folder the site is served from")
		model := fs.String("model", app.DefaultModelURL, "default model folder URL")
		tiny := fs.Bool("tiny", false, "the default model is the tiny random-weight test model")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return writeStatic(*out, app.HandlerOptions{ModelURL: *model, TinyModel: *tiny})
	}
	return fmt.Errorf("unknown target %q: use icons or static", args[0])
}

// writeStatic renders the site. The version is a digest of the built files,
// so the service worker updates exactly when the app does.
func writeStatic(out string, opts app.HandlerOptions) error {
	opts.Version = buildVersion(filepath.Join(out, "web"))
	return app.WriteStaticSite(out, opts)
}

// buildVersion digests web/app.wasm and web/worker.wasm; "dev" when absent.
func buildVersion(web string) string {
	sum := sha256.New()
	found := false
	for _, name := range []string{"app.wasm", "worker.wasm", "worker.js"} {
		f, err := os.Open(filepath.Join(web, name))
		if err != nil {
			continue
		}
		_, err = io.Copy(sum, f)
		f.Close()
		found = found || err == nil
	}
	if !found {
		return "dev"
	}
	return hex.EncodeToString(sum.Sum(nil))[:16]
}
