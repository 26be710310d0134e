# Developer targets. CI runs .ci/run, which calls the same test command.
GO ?= go

.PHONY: build test check fmt vet race fuzz bench golden example

build:
	$(GO) build -o bin/vigil ./cmd/vigil

test:
	$(GO) test ./...

fmt:
	@out=$$(gofmt -l cmd internal tools 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

race:
	$(GO) test -race ./...

fuzz:
	scripts/fuzz-smoke.sh 10

# check: everything CI checks, plus the race detector (needs cgo and gcc).
check: fmt vet race fuzz

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

golden:
	UPDATE=1 $(GO) test ./...

example:
	$(GO) run ./tools/mkexample -out examples/office.pcap
