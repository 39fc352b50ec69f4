#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/fuzz_targets, docs/reliability.md "Fuzzing"):
# builds the targets once, then runs each for SECONDS (default 15). Exits non-zero if any
# target crashed, naming the target and the input that did it.
#
#   tools/fuzz.sh [SECONDS]
#
# Works with only the stable toolchain: cargo-fuzz needs nightly-only flags (the address
# sanitizer), which RUSTC_BOOTSTRAP=1 allows on stable. The build and the corpus that the
# runs grow are kept outside the clone; fuzz/corpus only seeds them.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-15}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_FUZZ:-$HOME/.cache/ledgerlink-fuzz-target}"
export CARGO_INCREMENTAL=0
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=$(cargo fuzz list)
# Debug assertions and overflow checks on: an overflow in a parser is a bug to report.
build=(--release --debug-assertions)

echo "building the fuzz targets ($(cargo fuzz --version))"
cargo fuzz build "${build[@]}"

scratch="$CARGO_TARGET_DIR/fuzz-runs"
failed=()
for target in $targets; do
    corpus="$scratch/corpus/$target"
    artifacts="$scratch/artifacts/$target/"
    log="$scratch/$target.log"
    mkdir -p "$corpus" "$artifacts"
    # New inputs go to the scratch corpus (first); fuzz/corpus is read, never written.
    if cargo fuzz run "${build[@]}" "$target" "$corpus" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -artifact_prefix="$artifacts" \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        echo "ok     $target: $runs inputs in ${seconds} s"
    else
        artifact=$(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -1)
        echo "FAILED $target: input ${artifact:-(none written)}; log $log"
        grep -m1 -B2 -A25 -E "panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer|==ERROR" "$log" || tail -40 "$log"
        if [ -n "$artifact" ] && [ -f "$artifact" ]; then
            echo "the input, escaped:"
            head -c 2000 "$artifact" | od -An -c | head -40
        fi
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]}"
    echo "reproduce one with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build[*]} <target> <input>"
    exit 1
fi
echo "fuzzing: every target ran ${seconds} s without a crash"
