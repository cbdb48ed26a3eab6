# vtsync — build, test and package.
GO       ?= go
BIN      := bin/vtsync
PKGS     := ./...
FUZZTIME ?= 2s
# staticcheck, pinned; `.ci/run` installs it with go install.
STATICCHECK_VERSION := v0.8.2
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build test vet staticcheck fmt-check unit fuzz bench demo package appcheck screenshot clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/vtsync

# The README's test command: formatting, vet, staticcheck, race-enabled
# tests (the app check included), then a short run of every fuzz target.
test: fmt-check vet staticcheck unit fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	@test -x "$(STATICCHECK)" || { echo "staticcheck not found at $(STATICCHECK); install it with: $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)"; exit 1; }
	$(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target runs briefly; longer: make fuzz FUZZTIME=5m.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash build/fuzz.sh

# Standalone mode on the embedded default: sample Sysmon events, saved
# VirusTotal answers, an embedded store; no Splunk and no VirusTotal key.
# The detection also reads the events indexed after the run (one domain
# stays pending) and lists every domain with the reason it was or was not
# flagged.
demo: build
	./$(BIN) run --config examples/demo/vtsync.yaml --once
	./$(BIN) detect --config examples/demo/vtsync.yaml --all \
	  --events examples/demo/events.ndjson --events examples/demo/events-late.ndjson

# The installable Splunk app, dist/vtsync-<version>.tgz (linux, darwin and
# windows executables, amd64) and dist/vtsync-<version>-cloud.tgz (Linux
# only, for Splunk Cloud): runs the app check, cross-compiles ./cmd/vtsync,
# writes README.txt's binary declaration and the open-source licences from
# the executables' module lists, and writes reproducible archives
# (SOURCE_DATE_EPOCH sets the entries' mtime).
package:
	$(GO) run ./build/package -out dist

# The app check alone (AppInspect-like checks plus vtsync's contracts);
# `make test` runs it too.
appcheck:
	$(GO) test -count=1 ./internal/appcheck/

# The configuration page in headless Chromium (the browser test), with a
# screenshot of it for docs/install.md.
screenshot:
	$(GO) test -count=1 -run TestConfigurationPage ./internal/configpage -args -screenshot $(CURDIR)/docs/config-page.png

# Go micro-benchmarks, then the end-to-end scenarios (VT pacing at the
# quota, simulated weeks of detection runs and refresh policies, a
# million-row run: 5-7 minutes); the results replace the marked sections
# of docs/benchmarks.md, the summary table included.
bench:
	@mkdir -p bin
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./bench/... > bin/bench-micro.txt; \
	  status=$$?; cat bin/bench-micro.txt; exit $$status
	$(GO) run ./bench -scenario all -micro bin/bench-micro.txt -doc docs/benchmarks.md

clean:
	rm -rf bin dist
