package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pocketvlm/smolvlm/app"
	"github.com/pocketvlm/smolvlm/hub"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/server"
)

// Model folders make run knows, under -models.
const (
	realModelName = "smolvlm-256m-instruct"
	tinyModelName = "tiny-smolvlm"
)

// hubSources are the origins a page may download models from when its model
// parameter points at the Hub: huggingface.co redirects ONNX files to its CDN.
var hubSources = []string{"https://huggingface.co", "https://*.hf.co"}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (HOST:PORT)")
	models := fs.String("models", "models", "folder of model folders, served under /models/")
	web := fs.String("web", "web", "folder of the built app (make web), served under /web/")
	certFile := fs.String("cert", "", "TLS certificate (PEM): serve HTTPS, which phones need for WebGPU and installing the app")
	keyFile := fs.String("key", "", "TLS private key (PEM) for -cert")
	model := fs.String("model", "", "default model folder name under -models (default: "+realModelName+" when complete, else "+tinyModelName+")")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return errors.New("-cert and -key go together")
	}
	name, tiny, err := pickModel(*models, *model)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*web, "app.wasm")); err != nil {
		return fmt.Errorf("the app is not built in %s: run make web", *web)
	}
	app.Routes()
	h, err := server.New(server.Options{
		Pages:          app.Pages(app.HandlerOptions{ModelURL: "/models/" + name + "/", TinyModel: tiny}),
		WebDir:         *web,
		ModelsDir:      *models,
		ConnectSources: hubSources,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *certFile != "" {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "SmolVLM is served on %s://%s/\n", scheme, ln.Addr())
	if tiny {
		fmt.Fprintf(stdout, "Model: %s/%s has random weights (the tiny test model, or a benchmark model): its answers are random words.\n"+
			"For real answers run: bin/smolvlm download (about 450 MB into %s/%s)\n", *models, name, *models, realModelName)
	} else {
		fmt.Fprintf(stdout, "Model: %s/%s\n", *models, name)
	}
	return serveUntilDone(ctx, ln, h, *certFile, *keyFile)
}

// pickModel chooses the default model folder: the one asked for, else the
// real model when its config files are complete, else the tiny test model.
// random says the folder is marked as random weights
// (modelconfig.RandomWeightsFile), whatever its name.
func pickModel(models, asked string) (name string, random bool, err error) {
	if asked != "" {
		if _, err := os.Stat(filepath.Join(models, asked, "config.json")); err != nil {
			return "", false, fmt.Errorf("no model folder %s in %s", asked, models)
		}
		return asked, randomWeights(filepath.Join(models, asked)), nil
	}
	if hub.Verify(hub.SmolVLM256M(), filepath.Join(models, realModelName), hub.ConfigFiles) == nil {
		return realModelName, randomWeights(filepath.Join(models, realModelName)), nil
	}
	if _, err := os.Stat(filepath.Join(models, tinyModelName, "config.json")); err == nil {
		return tinyModelName, randomWeights(filepath.Join(models, tinyModelName)), nil
	}
	return "", false, fmt.Errorf("no model in %s: run make run (it installs the tiny test model) or bin/smolvlm download", models)
}

// randomWeights reports whether the model folder dir says its weights are
// random. A folder whose configuration does not load is not marked: the
// page then says why when it loads the model.
func randomWeights(dir string) bool {
	c, err := modelconfig.Load(modelconfig.Dir(dir))
	return err == nil && c.RandomWeights
}

// serveUntilDone serves HTTP, or HTTPS with a certificate, until ctx ends.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
}
