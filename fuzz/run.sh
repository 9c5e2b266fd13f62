#!/usr/bin/env bash
# Builds the fuzz targets (stable toolchain: libFuzzer + SanitizerCoverage,
# no sanitizer) and runs each for SECONDS (default 60) from a seed corpus
# made from ../shared. Usage: fuzz/run.sh [SECONDS] [TARGET...]
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
# With FUZZ_CPU=1, SECONDS are CPU seconds of the fuzzer process (read from
# /proc, so a loaded machine does not shorten the run), and each target's
# CPU time and executions are appended to artifacts/cpu.tsv.
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

# Seeds are made once (FUZZ_RESEED=1 to remake them), so runs of a few
# targets each can share them.
if [ ! -d seeds ] || [ "${FUZZ_RESEED:-0}" = 1 ]; then
    bash ./seeds.sh
fi
# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) / hz) }' "/proc/$1/stat"
}

# Runs target $1 with libFuzzer arguments; SIGINT at the CPU budget, which
# libFuzzer answers with its final stats and exit code 72.
run_cpu_budget() {
    local t=$1; shift
    "target/$triple/release/$t" "$@" -max_total_time=$((seconds * 100)) 2> "artifacts/$t.log" &
    local pid=$! used=0
    while kill -0 "$pid" 2> /dev/null; do
        sleep 5
        used=$(cpu_seconds "$pid" 2> /dev/null) || break
        if [ "$used" -ge "$seconds" ]; then
            kill -INT "$pid"
            break
        fi
    done
    local status=0
    wait "$pid" || status=$?
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "artifacts/$t.log" | tail -1)
    printf '%s\t%s\t%s\t%s\n' "$t" "$used" "${execs:-?}" "$status" >> artifacts/cpu.tsv
    [ "$status" -eq 0 ] || [ "$status" -eq 72 ]
}

failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: ${seconds}s"
    # -rss_limit_mb: a parser must stay within bounded memory on any input.
    args=("corpus/$t" "seeds/$t" -rss_limit_mb=2048 -timeout=20 -max_len=262144
        -artifact_prefix="artifacts/$t/" -print_final_stats=1)
    if [ "${FUZZ_CPU:-0}" = 1 ]; then
        run_cpu_budget "$t" "${args[@]}" || ok=no
    else
        "target/$triple/release/$t" "${args[@]}" -max_total_time="$seconds" \
            2> "artifacts/$t.log" || ok=no
    fi
    if [ "${ok:-yes}" = no ]; then
        failed+=("$t")
        tail -40 "artifacts/$t.log"
    fi
    unset ok
    grep -E "stat::number_of_executed_units|cov:" "artifacts/$t.log" | tail -2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets that crashed: ${failed[*]}" >&2
    exit 1
fi
