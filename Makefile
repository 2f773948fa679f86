# SmolVLM in your pocket — build, test and run.
#
#   make test    everything CI checks (installs npm/Go dependencies first)
#   make build   bin/smolvlm (native command line, cgo + onnxruntime)
#   make caption caption the bundled tiny test model's astronaut picture

GO        ?= go
FUZZTIME  ?= 15s
TINY      := testdata/tiny-smolvlm
ORT_LIB   := node_modules/onnxruntime-node/package.json

export CGO_ENABLED := 1

.PHONY: all build test vet unit fuzz deps fixture caption clean

all: build

# onnxruntime-node ships libonnxruntime.so.1; install scripts are not needed
# (and are blocked on some machines), so they are skipped.
$(ORT_LIB): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

deps: $(ORT_LIB)
	$(GO) mod download

fixture: $(TINY)/cases.json

$(TINY)/cases.json: testdata/tiny-smolvlm.tar.xz
	rm -rf $(TINY)
	tar -xJf $< -C testdata
	@touch $@

build: $(ORT_LIB)
	$(GO) build -o bin/smolvlm ./cmd/smolvlm

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...

unit: deps fixture
	$(GO) test -count=1 ./...

# Short fuzzing runs of each target (go test runs one target at a time).
fuzz: fixture
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./imageproc
	$(GO) test -run '^$$' -fuzz '^FuzzEXIF$$' -fuzztime $(FUZZTIME) ./imageproc
	$(GO) test -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime $(FUZZTIME) ./tokenizer

test: deps vet unit fuzz

caption: build fixture
	bin/smolvlm caption -model $(TINY)/model -image $(TINY)/images/astronaut.png -prompt "Can you describe this image?" -max-new-tokens 24

clean:
	rm -rf bin $(TINY)

# ---- Browser app -----------------------------------------------------------
# web/ holds what the browser loads; built files are git-ignored.
ORT_DIST := node_modules/onnxruntime-web/dist
ORT_FILES := ort.webgpu.min.mjs ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm \
	ort-wasm-simd-threaded.jsep.mjs ort-wasm-simd-threaded.jsep.wasm ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm
WASM_ENV := GOOS=js GOARCH=wasm CGO_ENABLED=0

.PHONY: web
web: web/app.wasm web/worker.wasm web/wasm_exec.js $(addprefix web/ort/,$(ORT_FILES))

web/app.wasm: $(shell find app wasm/app -name '*.go' 2>/dev/null) go.mod
	$(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o $@ ./wasm/app

web/worker.wasm: $(shell find wasm/worker engine generate pipeline imageproc idefics3 tokenizer prompt sample modelconfig -name '*.go' 2>/dev/null) go.mod
	$(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o $@ ./wasm/worker

web/wasm_exec.js: $(shell $(GO) env GOROOT)/lib/wasm/wasm_exec.js
	cp $< $@

web/ort/%: $(ORT_LIB)
	@mkdir -p web/ort
	cp $(ORT_DIST)/$* $@
