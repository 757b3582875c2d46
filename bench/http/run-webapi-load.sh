#!/usr/bin/env bash
# Load test of the web API sample: the retail workload over HTTP, 16 connections, against a preloaded SQLite file.
# Usage: bench/http/run-webapi-load.sh [CONTACTS] [SECONDS]    (defaults: 100000 contacts, 10 s)
# Needs wrk (Debian package `wrk`; installed when missing and running as root). Writes bench/results/webapi.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
contacts="${1:-100000}"
seconds="${2:-10}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk </dev/null >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk </dev/null >/dev/null; }
fi

dotnet build samples/IdentityReconciliation.Samples.WebApi -c Release -v q -nologo >/dev/null
dotnet run --project bench/IdentityReconciliation.Benchmarks -c Release -- --export "$contacts" "$work/contacts.db" >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
ConnectionStrings__Contacts="Data Source=$work/contacts.db" Logging__LogLevel__Default=Warning \
  dotnet samples/IdentityReconciliation.Samples.WebApi/bin/Release/net10.0/IdentityReconciliation.Samples.WebApi.dll --urls "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

PERSONS=$((contacts / 2)) wrk -t2 -c16 -d2s -s bench/http/retail.lua "http://127.0.0.1:$port" >/dev/null   # warm-up
result=$(PERSONS=$((contacts / 2)) wrk -t2 -c16 -d"${seconds}s" --latency -s bench/http/retail.lua "http://127.0.0.1:$port")
echo "$result"
{
  echo "Web API sample under the retail workload: $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores shared by server and wrk, $contacts contacts, 16 connections, ${seconds} s."
  echo
  echo '```text'
  echo "$result"
  echo '```'
} > bench/results/webapi.md
echo "Wrote bench/results/webapi.md"
