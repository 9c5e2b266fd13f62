#!/usr/bin/env bash
# Proves the Dockerfile's build stage has what it needs: copies exactly the
# files its COPY lines name into an empty directory and runs its `RUN cargo
# build ...` command there (offline: the dependencies were fetched for the
# repository itself). A COPY line missing a file the manifest or build.rs
# needs fails here as `docker build` would.
#
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

ctx=$(mktemp -d)
# The build below shares the repository's target directory, where cargo
# keys build-script output by package, not by path: the catalog that
# build.rs generates names its files by absolute path. Forgetting that
# output before the build (so build.rs runs in the context) and after it
# (so the repository's next build does not include the context's deleted
# files) keeps each build honest.
forget_build_script() {
    rm -rf "$repo"/target/debug/build/advisord-* "$repo"/target/debug/.fingerprint/advisord-*
}
trap 'rm -rf "$ctx"; forget_build_script' EXIT
forget_build_script

# The build stage: from the first FROM to the next one.
stage=$(awk '/^FROM /{n++} n==1' Dockerfile)
workdir=$(printf '%s\n' "$stage" | awk '$1=="WORKDIR"{print $2}' | tail -1)
[ -n "$workdir" ] || { echo "docker-context: no WORKDIR in the build stage" >&2; exit 1; }

copies=0
while read -r _ args; do
    # shellcheck disable=SC2086
    set -- $args
    dest=${!#}
    case "$dest" in /*) ;; *) dest="$workdir/$dest" ;; esac
    mkdir -p "$ctx$dest"
    while [ $# -gt 1 ]; do
        # As docker does: a directory's contents go into DEST, a file into it.
        if [ -d "$1" ]; then cp -R "$1/." "$ctx$dest/"; else cp "$1" "$ctx$dest/"; fi
        shift
        copies=$((copies + 1))
    done
done < <(printf '%s\n' "$stage" | grep -E '^COPY ' | grep -v -- '--from')
[ "$copies" -gt 0 ] || { echo "docker-context: no COPY in the build stage" >&2; exit 1; }

build=$(printf '%s\n' "$stage" | sed -n 's/^RUN \(cargo build .*\)$/\1/p')
[ -n "$build" ] || { echo "docker-context: no 'RUN cargo build' in the build stage" >&2; exit 1; }

cargo fetch --locked --quiet
# The command runs without `--release`, in the repository's own target
# directory: what this step proves is that the context holds everything the
# manifest and build.rs need, and an optimized build of the same sources
# would only add a cold release compile of every dependency to CI.
ci_build=${build/ --release/}
echo "docker-context: $copies paths copied; running '$ci_build' in $ctx$workdir"
start=$(date +%s)
# shellcheck disable=SC2086
(cd "$ctx$workdir" && CARGO_TARGET_DIR="$repo/target" $ci_build --offline) \
    || { echo "docker-context: the Dockerfile's build command fails in its own context" >&2; exit 1; }
"$repo/target/debug/advisord" --version
echo "docker-context: built in $(( $(date +%s) - start ))s"
