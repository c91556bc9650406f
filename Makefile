# espgate — every target works on a fresh machine with Go installed.
GO        ?= go
PKGS      ?= ./...
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 30s

.PHONY: run test soak bench fuzz-smoke lint build build-pi clean

## run: serve the demo through the embedded ESP8266 emulator (open the printed URL)
run:
	$(GO) run ./cmd/espgate

## test: the whole suite with the race detector
test:
	$(GO) test -race -shuffle=on -timeout 15m $(PKGS)

## soak: the fault soak in full (10,000 requests per firmware profile), the bad-input matrix and the security properties
SOAK_REQUESTS ?= 10000
soak:
	$(GO) test -race -count=1 -timeout 60m -v ./soak/ -soak.requests=$(SOAK_REQUESTS) -soak.time=25m -soak.resets=20

## bench: Go benchmarks with allocation counts, then the end-to-end load harness (quick)
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) run ./bench -quick

## fuzz-smoke: every fuzz target for FUZZTIME each
fuzz-smoke:
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz-smoke $(PKGS)

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

## build: the binary for this machine
build:
	$(GO) build -trimpath -o bin/espgate ./cmd/espgate

## build-pi: a static, stripped binary for the Raspberry Pi Zero (ARMv6)
build-pi:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags='-s -w' -o bin/espgate-armv6 ./cmd/espgate

clean:
	rm -rf bin
