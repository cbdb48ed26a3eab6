# vtsync — build, test and package.
GO       ?= go
BIN      := bin/vtsync
PKGS     := ./...
FUZZTIME ?= 5s

.PHONY: all build test vet fmt-check unit fuzz bench demo package appcheck clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/vtsync

# The README's test command: formatting, vet, race-enabled tests (the app
# check included), then a short run of every fuzz target.
test: fmt-check vet unit fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target runs briefly; longer: make fuzz FUZZTIME=5m.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash build/fuzz.sh

# Standalone mode on the embedded default: sample Sysmon events, saved
# VirusTotal answers, an embedded store; no Splunk and no VirusTotal key.
demo: build
	./$(BIN) run --config examples/demo/vtsync.yaml --once
	./$(BIN) detect --config examples/demo/vtsync.yaml

# The installable Splunk app, dist/vtsync-<version>.tgz: runs the app check,
# cross-compiles ./cmd/vtsync for linux, darwin and windows (amd64) and
# writes a reproducible archive (SOURCE_DATE_EPOCH sets the entries' mtime).
package:
	$(GO) run ./build/package -out dist

# The app check alone (AppInspect-like checks plus vtsync's contracts);
# `make test` runs it too.
appcheck:
	$(GO) test -count=1 ./internal/appcheck/

# Go micro-benchmarks, then the end-to-end scenarios (VT pacing at the
# quota, a simulated day, a million-row run: 4-5 minutes); the results
# replace the marked sections of docs/benchmarks.md.
bench:
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./bench/... > bin/bench-micro.txt; \
	  status=$$?; cat bin/bench-micro.txt; exit $$status
	$(GO) run ./bench -scenario all -micro bin/bench-micro.txt -doc docs/benchmarks.md

clean:
	rm -rf bin dist
