#!/usr/bin/env bash
# GPU check for issue 6 (ModelLoader to device memory): GPU tests, `gguf load --device cuda` and the GPU load
# benchmark, on a machine that may have no .NET SDK. Two steps:
#
#   scripts/gpu-check.sh pack   # here, with the .NET 10 SDK: self-contained linux-x64 builds of the CLI and the
#                               # GPU tests, packed into artifacts/gpu-check.tar.gz (carry that one path)
#   scripts/gpu-check.sh run    # on the GPU machine: unpacks the bundle and writes every result under $OUT
#
# Environment for `run`: OUT (results; default ./gpu-check-out), WORK (scratch with room for the model; default
# /tmp/gguf-gpu-check), SIZE (model size; default 3GiB), RUNS (benchmark runs; default 3), BUDGET (seconds for the
# whole run, default 540: each step gets its own limit, cut to what is left, so the run ends inside a 600 s
# command limit). Results: summary.txt (one line per step with its exit code and seconds), machine.txt,
# gpu-tests.out/.xml, bench-cuda.json, load-cuda.json, load-cuda-read.json, load-host.json, bench-host.json,
# checksums.txt (host and GPU read-backs compared).
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=artifacts/gpu-check.tar.gz

pack() {
    set -e
    rm -rf artifacts/gpu-check
    mkdir -p artifacts/gpu-check/bin
    # One folder for both apps: they share the runtime and the libraries, which keeps the bundle small.
    dotnet publish src/Gguf.Cli -c Release -r linux-x64 --self-contained -o artifacts/gpu-check/bin -p:DebugType=none
    dotnet publish tests/Gguf.Gpu.Tests -c Release -r linux-x64 --self-contained -o artifacts/gpu-check/bin -p:DebugType=none
    tar -C artifacts/gpu-check -czf "$BUNDLE" bin
    ls -l "$BUNDLE"
}

run() {
    OUT=${OUT:-$PWD/gpu-check-out}
    WORK=${WORK:-/tmp/gguf-gpu-check}
    SIZE=${SIZE:-3GiB}
    RUNS=${RUNS:-3}
    mkdir -p "$OUT" "$WORK"
    if [ ! -x "$WORK/bin/Gguf.Cli" ]; then
        tar -C "$WORK" -xzf "$BUNDLE" || { echo "cannot unpack $BUNDLE (run 'scripts/gpu-check.sh pack' first and carry it)"; exit 1; }
    fi
    BIN=$WORK/bin
    MODEL=$WORK/model-$SIZE.gguf
    : > "$OUT/summary.txt"
    { date -u; uname -a; nproc; free -g; nvidia-smi; nvidia-smi -q -d MEMORY,CLOCK,PCI 2>/dev/null | head -80; } > "$OUT/machine.txt" 2>&1

    local budget_end=$((SECONDS + ${BUDGET:-540}))
    step() {
        local name=$1 ext=$2 limit=$3
        shift 3
        local start=$SECONDS left=$((budget_end - SECONDS))
        [ "$left" -lt "$limit" ] && limit=$left
        if [ "$limit" -le 5 ]; then
            echo "$name skipped: out of time" | tee -a "$OUT/summary.txt"
            return
        fi
        echo "== $name (limit ${limit}s): $*"
        timeout "$limit" "$@" > "$OUT/$name.$ext" 2> "$OUT/$name.err"
        local rc=$?
        echo "$name rc=$rc $((SECONDS - start))s" | tee -a "$OUT/summary.txt"
        tail -n 3 "$OUT/$name.err"
    }

    # 1. The GPU tests (the CPU-accelerator ones run too); skipped CUDA tests mean no GPU was visible.
    step gpu-tests out 150 "$BIN/Gguf.Gpu.Tests" -noColor -diagnostics -xml "$OUT/gpu-tests.xml"
    grep -E "TEST EXECUTION SUMMARY" -A2 "$OUT/gpu-tests.out" | tee -a "$OUT/summary.txt"
    if grep -qE "CudaDestinationTests\..*\[SKIP\]" "$OUT/gpu-tests.out"; then
        echo "WARNING: CUDA tests were skipped: no GPU visible to the tests" | tee -a "$OUT/summary.txt"
    fi

    # 2. The GPU load benchmark (writes the synthetic model first): both modes,
    #    reader and chunk variants, against a plain pinned-memory copy measured in the same run.
    step bench-cuda json 200 "$BIN/Gguf.Cli" bench load "$MODEL" --create-size "$SIZE" --device cuda --runs "$RUNS" --variants --json

    # 3. gguf load to the GPU with verification and checksums (read mode, then the default), and to the host.
    step load-cuda json 90 "$BIN/Gguf.Cli" load "$MODEL" --device cuda --json --verify --checksums
    step load-cuda-read json 60 "$BIN/Gguf.Cli" load "$MODEL" --device cuda:0 --json --verify --mode read
    step load-host json 60 "$BIN/Gguf.Cli" load "$MODEL" --device host --json --checksums

    # 4. The SHA-256 of every tensor read back from the GPU must equal the host arena's.
    grep -o '"sha256":"[0-9a-f]*"' "$OUT/load-cuda.json" > "$WORK/cuda.sums" 2>/dev/null
    grep -o '"sha256":"[0-9a-f]*"' "$OUT/load-host.json" > "$WORK/host.sums" 2>/dev/null
    if [ -s "$WORK/cuda.sums" ] && cmp -s "$WORK/cuda.sums" "$WORK/host.sums"; then
        echo "checksums: $(wc -l < "$WORK/cuda.sums") tensors, GPU read-back == host arena" | tee "$OUT/checksums.txt" | tee -a "$OUT/summary.txt"
    else
        echo "checksums: MISMATCH or missing (see load-cuda.json, load-host.json)" | tee "$OUT/checksums.txt" | tee -a "$OUT/summary.txt"
    fi

    # 5. The host benchmark on this machine, for comparison with docs/benchmarks-load.md.
    step bench-host json 150 "$BIN/Gguf.Cli" bench load "$MODEL" --runs "$RUNS" --variants --json

    for f in bench-cuda bench-host; do
        grep -E '"(best_mode|best_any_mode|ratio_[a-z_]+|pinned_copy_gb_per_s|naive_read_gb_per_s|read_reused_gb_per_s|peak_rss_over_destination_bytes)"' "$OUT/$f.json" | sed "s/^/$f: /" >> "$OUT/summary.txt"
    done
    rm -f "$MODEL"
    cat "$OUT/summary.txt"
}

case "${1:-run}" in
    pack) pack ;;
    run) run ;;
    *) echo "usage: $0 pack|run" >&2; exit 2 ;;
esac
