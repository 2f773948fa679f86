# SmolVLM in your pocket — build, test and run.
#
#   make test    everything CI checks (installs npm/Go dependencies first)
#   make build   bin/smolvlm (native command line, cgo + onnxruntime)
#   make caption caption the bundled tiny test model's astronaut picture
#   make run     build everything and serve the app on http://127.0.0.1:8080
#   make bench   ours against transformers.js and the plain onnxruntime-web loop,
#                in one headless Chromium, and the native CLI (bin/bench/results.md)

GO        ?= go
FUZZTIME  ?= 15s
TINY      := testdata/tiny-smolvlm
ORT_LIB   := node_modules/onnxruntime-node/package.json

export CGO_ENABLED := 1

.PHONY: all bench build test vet unit browser fuzz deps fixture caption clean run static icons

all: build

# onnxruntime-node ships libonnxruntime.so.1; install scripts are not needed
# (and are blocked on some machines), so they are skipped.
$(ORT_LIB): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

deps: $(ORT_LIB)
	$(GO) mod download

fixture: $(TINY)/cases.json $(TINY)/model/random_weights.json

$(TINY)/cases.json: testdata/tiny-smolvlm.tar.xz
	rm -rf $(TINY)
	tar -xJf $< -C testdata
	@touch $@

# The marker of a random-weight model (modelconfig.RandomWeightsFile; the
# same bytes as internal/fixture's RandomWeightsMarker): the archive predates it.
$(TINY)/model/random_weights.json: $(TINY)/cases.json
	printf '{"random_weights": true}\n' > $@

build: $(ORT_LIB)
	$(GO) build -o bin/smolvlm ./cmd/smolvlm

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...

# Browser tests (headless Chromium) run one package at a time: each drives a
# browser that wants both cores.
BROWSER_PKGS := ./wasm/browsertest ./e2e ./bench/web

unit: deps fixture
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /wasm/browsertest -e /e2e -e /bench/web)

browser: deps fixture web
	$(GO) test -count=1 -p 1 -timeout 25m $(BROWSER_PKGS)

# Short fuzzing runs of each target (go test runs one target at a time).
fuzz: fixture
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./imageproc
	$(GO) test -run '^$$' -fuzz '^FuzzEXIF$$' -fuzztime $(FUZZTIME) ./imageproc
	$(GO) test -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime $(FUZZTIME) ./tokenizer

test: deps vet unit fuzz browser

# The benchmark is not part of make test: it takes long and its figures are
# printed, not asserted. BENCH_FLAGS passes flags to cmd/bench, e.g.
# BENCH_FLAGS="-cases 512 -backends wasm".
bench: build web
	$(GO) run ./cmd/bench $(BENCH_FLAGS)

caption: build fixture
	bin/smolvlm caption -model $(TINY)/model -image $(TINY)/images/astronaut.png -prompt "Can you describe this image?" -max-new-tokens 24

clean:
	rm -rf bin $(TINY)

# ---- Browser app -----------------------------------------------------------
# web/ holds what the browser loads; built files are git-ignored.
ORT_DIST := node_modules/onnxruntime-web/dist
# ort.webgpu.min.mjs (asyncify) and ort.jspi.min.mjs (JSPI, smaller; chosen
# by web/worker.js where the browser has JSPI) run both the WebGPU and the
# WebAssembly backend; the other builds in the package are never loaded.
ORT_FILES := ort.webgpu.min.mjs ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm \
             ort.jspi.min.mjs ort-wasm-simd-threaded.jspi.mjs ort-wasm-simd-threaded.jspi.wasm
WASM_ENV := GOOS=js GOARCH=wasm CGO_ENABLED=0

.PHONY: web
web: web/app.wasm web/worker.wasm web/wasm_exec.js $(addprefix web/ort/,$(ORT_FILES))

web/app.wasm: $(shell find app wasm/app wasm/protocol modelconfig internal -name '*.go' 2>/dev/null) go.mod
	$(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o $@ ./wasm/app

web/worker.wasm: $(shell find wasm/worker wasm/protocol engine generate pipeline imageproc idefics3 tokenizer prompt sample modelconfig onnxedit internal -name '*.go' 2>/dev/null) go.mod
	$(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o $@ ./wasm/worker

web/wasm_exec.js: $(shell $(GO) env GOROOT)/lib/wasm/wasm_exec.js
	cp $< $@

web/ort/%: $(ORT_LIB)
	@mkdir -p web/ort
	cp $(ORT_DIST)/$* $@

# make run serves models/smolvlm-256m-instruct when its files are there
# (bin/smolvlm download), else the tiny test model, linked into models/.
ADDR ?= 127.0.0.1:8080

models/tiny-smolvlm/random_weights.json: $(TINY)/model/random_weights.json
	rm -rf models/tiny-smolvlm
	cp -al $(TINY)/model models/tiny-smolvlm 2>/dev/null || cp -r $(TINY)/model models/tiny-smolvlm

run: build web models/tiny-smolvlm/random_weights.json
	bin/smolvlm serve -addr $(ADDR) -models models -web web

# index.html and go-app's loader files at the repository root, so that any
# static file server can host the built app next to web/ and models/ (without
# COOP/COEP headers onnxruntime-web then runs single-threaded).
static: web
	$(GO) run ./app/internal/gen static -out .

# The manifest's PNG icons; web/icon.svg is drawn by hand.
icons:
	$(GO) run ./app/internal/gen icons -out web
