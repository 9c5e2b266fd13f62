#!/usr/bin/env bash
# Load test: /v1/query requests/s against /healthz of the same server, with
# wrk on loopback, 64 connections, in one run. Usage: bash benches/load.sh
# Needs wrk (apt-get install wrk) and ../shared (or ADVISORD_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${ADVISORD_SHARED:-$(cd .. && pwd)/shared}"
DURATION="${DURATION:-10s}"
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --quiet
BIN=target/release/advisord
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
$BIN --db "$WORK/db.redb" ingest --feed go "$SHARED/data/osv/bulk/golang-vulndb-data-osv.tar.gz" >/dev/null
$BIN --db "$WORK/db.redb" ingest --feed pypa "$SHARED/data/osv/bulk/pypa-advisory-database-vulns.tar.gz" >/dev/null
$BIN --db "$WORK/db.redb" --log warn serve --listen 127.0.0.1:0 --no-sync > "$WORK/out" &
SERVER=$!
for _ in $(seq 50); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' "$WORK/out")
cat > "$WORK/query.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {
  '{"package":{"ecosystem":"Go","name":"github.com/gin-gonic/gin"},"version":"1.5.0"}',
  '{"package":{"ecosystem":"PyPI","name":"jinja2"},"version":"2.4.1"}',
  '{"package":{"purl":"pkg:pypi/django@3.2.0"}}',
  '{"package":{"ecosystem":"Go","name":"golang.org/x/net"},"version":"0.1.0"}',
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])
end
LUA
echo "== /healthz"
wrk -t2 -c64 -d"$DURATION" "$BASE/healthz" | tee "$WORK/health" | grep -E 'Requests/sec|Latency'
echo "== /v1/query"
wrk -t2 -c64 -d"$DURATION" -s "$WORK/query.lua" "$BASE/v1/query" | tee "$WORK/query" | grep -E 'Requests/sec|Latency|Non-2xx'
H=$(awk '/Requests\/sec/ {print $2}' "$WORK/health")
Q=$(awk '/Requests\/sec/ {print $2}' "$WORK/query")
python3 -c "print(f'ratio: /v1/query / /healthz = {float($Q)/float($H):.3f}')"
