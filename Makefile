# The two commands a newcomer needs are in README.md:
#   make build && ./airlock run -- CMD
#   make test
GO ?= go
export CGO_ENABLED = 0

.PHONY: build test bench fuzz

build:
	$(GO) build -trimpath -o airlock ./cmd/airlock

# Unit tests, the policy fuzz seeds, and the escape suite against the real
# binary (privileged cases need root; CI runs as root).
test: build
	$(GO) test -count=1 -timeout 15m ./...

bench: build
	$(GO) run ./bench -airlock ./airlock -out docs/BENCHMARKS.md -skip-install -egress -tls -review -commands

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoadPolicy -fuzztime 60s ./internal/policy
	$(GO) test -run '^$$' -fuzz FuzzLoadSettings -fuzztime 60s ./internal/policy
	$(GO) test -run '^$$' -fuzz FuzzFilter -fuzztime 60s ./internal/seccomp
	$(GO) test -run '^$$' -fuzz FuzzCheck -fuzztime 60s -fuzzminimizetime 3s ./internal/cmdpolicy
	$(GO) test -run '^$$' -fuzz FuzzClaudeCode -fuzztime 30s ./internal/hook
	$(GO) test -run '^$$' -fuzz FuzzAnalyze -fuzztime 30s ./internal/scan
