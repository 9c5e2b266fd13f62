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
# BOMB_TIMEOUT: stop each ingest after that long (timeout(1) syntax; its
# outcome then reads "exit status 124").
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

def near_ratio_text(mib):
    """`mib` MiB of markup-free text inflating about 90 times under gzip:
    23 KiB of random hex then spaces and newlines, per MiB."""
    for _ in range(mib):
        block = os.urandom(23 << 9).hex().encode()
        yield block + b" \n" * (((1 << 20) - len(block)) // 2)

# Archive members each under the document cap, together 1.1 GiB
# inflating about 90 times: a tar.gz of 40 such members.
import io, tarfile
with tarfile.open(f"{work}/near-ratio.tar.gz", "w:gz", compresslevel=1) as t:
    for i in range(40):
        data = b"".join(near_ratio_text(28))
        info = tarfile.TarInfo(f"m{i}.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
# The same members as a plain tar and as a zip (deflated): files whose
# members are read one at a time, however large the archive.
with tarfile.open(f"{work}/plain.tar", "w") as t:
    for i in range(40):
        data = b"".join(near_ratio_text(28))
        info = tarfile.TarInfo(f"m{i}.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
with zipfile.ZipFile(f"{work}/near-ratio.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    for i in range(40):
        z.writestr(f"m{i}.json", b"".join(near_ratio_text(28)))
# One OVAL text node of 1 GiB (no markup), inflating about 90 times.
with gzip.open(f"{work}/text-node.oval.xml.gz", "wb", compresslevel=1) as f:
    f.write(b'<?xml version="1.0"?><oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5">'
            b'<generator><product_name>Red Hat OVAL Patch Definition Merger</product_name></generator><definitions>'
            b'<definition class="patch" id="oval:com.redhat.rhsa:def:1" version="1"><metadata><title>x</title><description>')
    for block in near_ratio_text(1024):
        f.write(block)
    f.write(b'</description></metadata></definition></definitions></oval_definitions>')

# Documents just under the document cap (32 MiB) whose parse is as large
# as a parser makes it: many tiny values, records or messages.
CAP = 31 << 20
def fill(unit, fixed):
    return (CAP - fixed) // len(unit)
with open(f"{work}/cap-versions.json", "w") as f:
    head = '{"id": "OSV-2024-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "versions": ['
    f.write(head + '"1",' * fill('"1",', len(head)) + '"1"]}]}')
# Ten million empty affected entries: each `{}` becomes a struct.
with open(f"{work}/cap-affected.json", "w") as f:
    head = '{"id": "OSV-2024-1", "modified": "2024-01-01T00:00:00Z", "affected": ['
    f.write(head + '{},' * fill('{},', len(head)) + '{}]}')
with open(f"{work}/cap-versions.yaml", "w") as f:
    head = 'id: OSV-2024-1\nmodified: "2024-01-01T00:00:00Z"\naffected:\n  - package: {ecosystem: PyPI, name: a}\n    versions:\n'
    f.write(head + "      - '1'\n" * fill("      - '1'\n", len(head)))
# 64 KB of YAML: 20,000 aliases of one anchored list of 1,000 versions
# (twenty million strings once the parser expands them).
with open(f"{work}/aliases.yaml", "w") as f:
    f.write('id: OSV-2024-1\nmodified: "2024-01-01T00:00:00Z"\nanchor: &v [' + ", ".join(["'1'"] * 1000) + ']\n'
            'affected:\n  - package: {ecosystem: PyPI, name: a}\n    versions:\n' + "      - *v\n" * 20000)
with open(f"{work}/cap-secfixes.json", "w") as f:
    f.write('{"distroversion": "v3.20", "reponame": "main", "urlprefix": "https://dl-cdn.alpinelinux.org/alpine", "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk", "archs": ["x86_64"], "packages": [{"pkg": {"name": "a", "secfixes": {"1.0-r0": [')
    n = CAP // 20
    f.write(",".join(f'"CVE-2024-{i:07d}"' for i in range(n)) + "]}}}]}")
with open(f"{work}/cap-products.json", "w") as f:
    n = CAP // 120
    ids = [f"p{i}" for i in range(n)]
    names = ",".join(f'{{"name": "a {i}", "product_id": "{p}"}}' for i, p in enumerate(ids))
    f.write('{"document": {"category": "csaf_security_advisory", "csaf_version": "2.0", "title": "t", '
            '"publisher": {"category": "vendor", "name": "v", "namespace": "https://example.org"}, '
            '"tracking": {"id": "EX-2024-1", "status": "final", "version": "1", "initial_release_date": "2024-01-01T00:00:00Z", '
            '"current_release_date": "2024-01-01T00:00:00Z", "revision_history": [{"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "s"}]}}, '
            '"product_tree": {"full_product_names": [' + names + ']}, '
            '"vulnerabilities": [{"cve": "CVE-2024-0001", "product_status": {"fixed": [' + ",".join(f'"{p}"' for p in ids) + ']}}]}')
with open(f"{work}/cap-tracker.json", "w") as f:
    entry = '"CVE-2024-%07d": {"scope": "local", "releases": {"bookworm": {"status": "resolved", "repositories": {"bookworm": "1.0-1"}, "fixed_version": "1.0-1", "urgency": "low"}}}'
    n = CAP // (len(entry) + 2)
    f.write('{"a": {' + ",".join(entry % i for i in range(n)) + "}}")
# An mbox of DLA announcements (each a record) up to the cap, and an
# mbox whose one message is most of the cap.
dla = ("From debian-lts@lists.debian.org Fri Jan 31 12:00:00 2025\n"
       "From: Debian LTS <debian-lts@lists.debian.org>\nSubject: [SECURITY] [DLA %d-1] a security update\n"
       "Message-ID: <dla-%d@example.org>\nDate: Fri, 31 Jan 2025 12:00:00 +0000\n\n"
       "- -------------------------------------------------------------------------\n"
       "Debian LTS Advisory DLA-%d-1                debian-lts@lists.debian.org\n"
       "https://www.debian.org/lts/security/                      Someone\n"
       "January 31, 2025                              https://wiki.debian.org/LTS\n"
       "- -------------------------------------------------------------------------\n\n"
       "Package        : pkg%d\nVersion        : 1.0-1+deb11u%d\nCVE ID         : CVE-2025-%07d\n\n"
       "An issue was found.\n\nFor Debian 11 bullseye, this problem has been fixed in version\n1.0-1+deb11u%d.\n\n")
with open(f"{work}/cap-dla.mbox", "w") as f:
    size, i = 0, 1
    while size < CAP - 4096:
        m = dla % (i, i, i, i, i, i, i)
        f.write(m)
        size += len(m)
        i += 1
with open(f"{work}/big-message.mbox", "w") as f:
    f.write(dla % (1, 1, 1, 1, 1, 1, 1))
    f.write(dla.split("\n\n")[0] % (2, 2) + "\n\n")
    line = "x" * 75 + "\n"
    f.write(line * ((CAP - 4096) // len(line)))
PY
printf '%-16s %-22s %10s %8s  %s\n' format input peak_MB seconds outcome
run() { # format file
    # BOMB_ONLY: a regex of the "format file-name" pairs to measure.
    [[ -z "${BOMB_ONLY:-}" || "$1 $(basename "$2")" =~ $BOMB_ONLY ]] || return 0
    rm -f "$WORK/db.redb"
    local status=0
    /usr/bin/time -o "$WORK/time" -f '%M %e' ${BOMB_TIMEOUT:+timeout "$BOMB_TIMEOUT"} "$BIN" --db "$WORK/db.redb" ingest --format "$1" "$2" >"$WORK/out" 2>"$WORK/err" || status=$?
    read -r kb secs < <(tail -1 "$WORK/time")
    # The last refusal if any, else the report's counts.
    local outcome
    outcome=$(grep -E '^(skipped|error):' "$WORK/err" | grep -v 'every record was rejected' | tail -1 | sed 's/.*: //' | cut -c1-90 || true)
    [ -n "$outcome" ] || outcome=$(grep -o '[0-9]* records, [0-9]* rejected' "$WORK/out" | tail -1 || true)
    [ -n "$outcome" ] || outcome="no report (exit status $status)"
    printf '%-16s %-22s %10d %8s  %s\n' "$1" "$(basename "$2")" $((kb / 1024)) "$secs" "$outcome"
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
echo "near-ratio tar: $(stat -c %s "$WORK/near-ratio.tar.gz") bytes tar.gz of 40 members, 1.1 GiB"
for f in osv mail alpine-secdb csaf; do
    run "$f" "$WORK/near-ratio.tar.gz"
done
echo "plain tar: $(stat -c %s "$WORK/plain.tar") bytes; zip: $(stat -c %s "$WORK/near-ratio.zip") bytes"
run osv "$WORK/plain.tar"
run osv "$WORK/near-ratio.zip"
run oval "$WORK/text-node.oval.xml.gz"
run osv "$WORK/cap-versions.json"
run osv "$WORK/cap-versions.yaml"
run osv "$WORK/cap-affected.json"
run osv "$WORK/aliases.yaml"
run alpine-secdb "$WORK/cap-secfixes.json"
run csaf "$WORK/cap-products.json"
run debian-tracker "$WORK/cap-tracker.json"
run mail "$WORK/cap-dla.mbox"
run mail "$WORK/big-message.mbox"
