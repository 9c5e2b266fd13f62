#!/usr/bin/env bash
# Peak RSS of `advisord ingest` on decompression bombs and deep nesting,
# one fresh process per input (GNU time's "Maximum resident set size").
# Usage: bash benches/bombs.sh [GiB]   (zeros to gzip, default 10: the
# 46 MB gzip of issue 13; generating it takes a minute of CPU).
# Target: every figure under 256 MB, every ingest refused by name.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB="${1:-10}"
# ADVISORD_BIN: measure that binary instead of building the release one.
if [ -z "${ADVISORD_BIN:-}" ]; then
    cargo build --release --quiet
fi
BIN="${ADVISORD_BIN:-${CARGO_TARGET_DIR:-target}/release/advisord}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
head -c "${GIB}G" /dev/zero | gzip -1 > "$WORK/zeros.gz"
echo "bomb: $(stat -c %s "$WORK/zeros.gz") bytes gzip of ${GIB} GiB of zeros"
python3 - "$WORK" <<'PY'
import sys, zipfile, zlib
work = sys.argv[1]
# 512 MiB of zeros deflated once, as one zip member.
with zipfile.ZipFile(f"{work}/bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    with z.open("zeros.json", "w", force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(512):
            f.write(block)
with open(f"{work}/deep.oval.xml", "w") as f:
    f.write('<?xml version="1.0"?><oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5">'
            '<generator><product_name>Red Hat OVAL Patch Definition Merger</product_name></generator><definitions>'
            '<definition class="patch" id="oval:com.redhat.rhsa:def:1" version="1"><metadata><title>x</title></metadata>')
    f.write('<criteria operator="AND">' * 50000 + '<criterion test_ref="oval:x:tst:1"/>' + '</criteria>' * 50000)
    f.write('</definition></definitions><tests/><objects/><states/></oval_definitions>')
# Just under the inflation-ratio check: each MiB is 11 KiB of random bytes
# and zeros, so it inflates about 90 times, and 1 GiB of it passes the
# ratio check: what a parser reading whole files holds is then bounded only
# by --max-decompressed.
import gzip, os
with gzip.open(f"{work}/near-ratio.json.gz", "wb", compresslevel=1) as f:
    for _ in range(1024):
        f.write(os.urandom(11 << 10) + bytes((1 << 20) - (11 << 10)))
with open(f"{work}/nested.eml", "w") as f:
    f.write("From: a@example.org\nSubject: x\n" + "Content-Type: message/rfc822\n\nFrom: b@example.org\n" * 50000 + "\nbody\n")
PY
printf '%-16s %-22s %10s %8s  %s\n' format input peak_MB seconds outcome
run() { # format file
    /usr/bin/time -o "$WORK/time" -f '%M %e' "$BIN" --db "$WORK/db.redb" ingest --format "$1" "$2" >/dev/null 2>"$WORK/err" || true
    read -r kb secs < <(tail -1 "$WORK/time")
    printf '%-16s %-22s %10d %8s  %s\n' "$1" "$(basename "$2")" $((kb / 1024)) "$secs" \
        "$(grep -E '^(skipped|error):' "$WORK/err" | grep -v 'every record was rejected' | tail -1 | sed 's/.*: //' | cut -c1-90)"
}
for f in osv oval mail alpine-secdb debian-tracker csaf; do
    run "$f" "$WORK/zeros.gz"
done
run osv "$WORK/bomb.zip"
echo "near-ratio: $(stat -c %s "$WORK/near-ratio.json.gz") bytes gzip of 1 GiB"
for f in osv mail alpine-secdb debian-tracker csaf; do
    run "$f" "$WORK/near-ratio.json.gz"
done
run oval "$WORK/deep.oval.xml"
run mail "$WORK/nested.eml"
