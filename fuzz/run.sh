#!/usr/bin/env bash
# Builds the fuzz targets (stable toolchain: libFuzzer + SanitizerCoverage,
# no sanitizer) and runs each for SECONDS (default 60) from a seed corpus
# made from ../shared. Usage: fuzz/run.sh [SECONDS] [TARGET...]
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(osv_json osv_yaml oval mail alpine_secdb debian_tracker csaf inventory purl version)
fi

# What `cargo fuzz build -s none` passes, without needing nightly.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# With an explicit --target the flags reach only the fuzzed code, not build
# scripts and proc macros (which would not link without libFuzzer).
triple="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --quiet --bins --target "$triple"

bash ./seeds.sh
failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: ${seconds}s"
    # -rss_limit_mb: a parser must stay within bounded memory on any input.
    if ! "target/$triple/release/$t" "corpus/$t" "seeds/$t" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
        -max_len=262144 -artifact_prefix="artifacts/$t/" -print_final_stats=1 \
        2> "artifacts/$t.log"; then
        failed+=("$t")
        tail -40 "artifacts/$t.log"
    fi
    grep -E "stat::number_of_executed_units|cov:" "artifacts/$t.log" | tail -2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets that crashed: ${failed[*]}" >&2
    exit 1
fi
