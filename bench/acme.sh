#!/usr/bin/env bash
# bench/acme.sh — ACME order throughput and latency of `certctl endpoint
# serve` with the stock golang.org/x/crypto/acme client at 1, 4, 8, 16 and
# 32 concurrent clients, plus the server's CPU time per order; then, when a
# PostgreSQL database is given (CERTCTL_BENCH_POSTGRES_URL, else
# CERTCTL_TEST_POSTGRES_URL; each run uses a fresh schema it drops), one
# server on it and two servers on it behind haproxy in http mode balancing
# every request round robin (CPU summed over the servers, haproxy's apart);
# the same client against Pebble when `pebble` is on PATH (Debian's package,
# or `(cd /tmp && GOFLAGS= go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3)`),
# its client polling like a fast client (-poll, default 10 ms): the first
# look at an authorization or order after acting on it at once, repeat
# polls after 1, 2, 4, 8 and then every 10 ms, never a server's
# whole-second Retry-After (each row shows the clients' poll sleep per
# order); the two servers taking turns round by round at each level
# (-rounds, default 3) so that a drift in the machine's speed falls on
# both; then certctl's CPU per order and orders/s beside Pebble's with the
# ratios to the aims (CPU <= 1.0x, orders/s >= 2.0x).
# Loopback only, bounded in orders and time (a few minutes); not run by CI.
#
#   bash bench/acme.sh                       # builds certctl, default levels
#   CERTCTL=./certctl bash bench/acme.sh -orders 600
#   QUICK=1 bash bench/acme.sh               # 60 orders a level, smoke test
#
# Extra arguments go to the Go program (go run ./bench/acme -h lists them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
args=()
if [[ -n "${CERTCTL:-}" ]]; then
	args+=(-certctl "$(cd "$(dirname "$CERTCTL")" && pwd)/$(basename "$CERTCTL")")
fi
if [[ -n "${QUICK:-}" ]]; then
	args+=(-orders 60 -max-time 10s)
fi
# Pebble is found in GOBIN too, where go install puts it.
PATH="$PATH:$(go env GOPATH)/bin"
exec go run ./bench/acme "${args[@]}" "$@"
