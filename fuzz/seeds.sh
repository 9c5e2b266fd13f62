#!/usr/bin/env bash
# Seed corpora for the fuzz targets, copied out of ../shared (data and
# version vectors) into fuzz/seeds/<target>/ (not committed). Small files
# only: libFuzzer mutates better from many small seeds.
set -eu  # no pipefail: `head` ends its writers early on purpose
cd "$(dirname "$0")"
shared="${ADVISORD_SHARED:-$(cd ../.. && pwd)/shared}"
if [ ! -d "$shared/data" ]; then
    echo "seeds: $shared/data absent; fuzzing from empty corpora" >&2
    exit 0
fi
rm -rf seeds
seed() { # target, then files
    local target=$1; shift
    mkdir -p "seeds/$target"
    for f in "$@"; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 262144 ] || continue
        cp "$f" "seeds/$target/$(echo "$f" | sha1sum | cut -c1-16)"
    done
}
d="$shared/data"
mapfile -t osv_json < <(find "$d/osv" -name '*.json' | sort | head -400)
seed osv_json "${osv_json[@]}"
seed osv_yaml $(find "$d/osv" "$d/rustsec" -name '*.yaml' -o -name '*.yml' | sort | head -200)
seed oval $(find "$d/oval" -type f \( -name '*.xml' -o -name '*.xml.gz' -o -name '*.xml.bz2' \) | sort)
seed mail $(find "$d/mail" -type f ! -name 'MANIFEST.tsv' ! -name 'README.md' | sort)
seed alpine_secdb $(find "$d/alpine-secdb" -type f \( -name '*.json' -o -name '*.yaml' \) | sort)
seed debian_tracker $(find "$d/debian-tracker" -type f | sort)
seed csaf $(find "$d/csaf" "$d/vex" -type f -name '*.json' | sort | head -200)
# Inventory: the first byte picks the format (0: detect, 1: dpkg, 2: apk, 3: rpm).
mkdir -p seeds/inventory
i=0
while IFS= read -r f; do
    [ "$(stat -c %s "$f")" -le 262144 ] || continue
    for pick in 0 1 2 3; do
        { printf "\\x$(printf %02x $pick)"; cat "$f"; } > "seeds/inventory/$i-$pick"
    done
    i=$((i + 1))
done < <(find "$d/images" -type f \( -name 'status' -o -name 'installed' -o -name '*.txt' -o -name '*.json' \) | sort | head -40)
# Purls: lines of real purls found in the OSV and CSAF data.
mkdir -p seeds/purl
grep -rhoE '"pkg:[^"]{1,200}"' "$d/osv" "$d/csaf" 2>/dev/null | tr -d '"' | sort -u | head -300 \
    | split -l 1 - seeds/purl/p-
# Versions: the first byte picks the scheme (advisord::version::ALL_SCHEMES order).
mkdir -p seeds/version
n=0
for f in "$shared"/vectors/*.tsv "$shared"/vectors/*.txt; do
    [ -f "$f" ] || continue
    while IFS=$'\t' read -r a b _; do
        for pick in 0 1 2 3 4 5 6 7 8 9; do
            printf "\\x$(printf %02x $pick)%s\t%s" "$a" "$b" > "seeds/version/$n-$pick"
        done
        n=$((n + 1))
    done < <(grep -v '^#' "$f" | shuf -n 8 --random-source=<(yes))
done
echo "seeds: $(find seeds -type f | wc -l) files for $(ls seeds | wc -l) targets"
