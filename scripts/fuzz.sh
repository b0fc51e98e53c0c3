#!/usr/bin/env bash
# Runs a fuzzing campaign against the GGUF parser and GgufFile.Open.
#
#   scripts/fuzz.sh SECONDS [full|parse|inproc]
#
#   full    (default) libFuzzer + SharpFuzz coverage; every input parsed from memory and from a stream,
#           opened as a mapped file, every metadata value decoded and every tensor byte read.
#   parse   the same without the mapped file: about 4x the executions per second.
#   inproc  the coverage-less in-process mutation fuzzer (also the automatic fallback when libFuzzer,
#           a C compiler or the SharpFuzz instrumentation tool cannot be had).
#   canary  self-test: a target that throws on inputs starting with CANARY, seeded with one; the run
#           must end with a crash finding and a non-zero exit.
#
# Environment: FUZZ_WORK (default fuzz/.work) keeps the tools, the instrumented build, the growing corpus
# and the findings between runs; FUZZ_MAX_LEN (65536); FUZZ_TIMEOUT seconds per input (10);
# FUZZ_HEAP_LIMIT_MB, the .NET heap cap that turns a memory blow-up into a finding (2048).
# Findings (crash-*, timeout-*, oom-*) land in $FUZZ_WORK/findings; the exit code is non-zero when there
# are any. Each run appends its figures to $FUZZ_WORK/campaigns.log.
set -uo pipefail

seconds=${1:?usage: scripts/fuzz.sh SECONDS [full|parse|inproc]}
target=${2:-full}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-$root/fuzz/.work}
max_len=${FUZZ_MAX_LEN:-65536}
timeout=${FUZZ_TIMEOUT:-10}
heap_mb=${FUZZ_HEAP_LIMIT_MB:-2048}
corpus_src=${GGUF_CORPUS:-$root/../shared/corpus}
mkdir -p "$work/findings"
work=$(cd "$work" && pwd)
log() { echo "fuzz: $*" >&2; }

# The harness, built plainly (for seeds, replay and the in-process fuzzer).
build_plain() {
  [[ -x "$work/plain/Gguf.Fuzz" && "${FUZZ_REBUILD:-1}" == 0 ]] && return 0
  rm -rf "$work/plain"
  dotnet publish "$root/fuzz/Gguf.Fuzz" -c Release -o "$work/plain" --nologo -v quiet >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; return 1; }
}

make_seeds() {
  rm -rf "$work/seeds"
  "$work/plain/Gguf.Fuzz" seeds "$work/seeds" "$corpus_src" >&2
}

find_libfuzzer() {
  local lib
  lib=$(ls /usr/lib/llvm-*/lib/libFuzzer.a 2>/dev/null | sort -V | tail -1)
  if [[ -z "$lib" && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing libFuzzer from Debian's packages"
    local pkg
    pkg=$(apt-cache search --names-only '^libfuzzer-[0-9]+-dev$' 2>/dev/null | awk '{print $1}' | sort -V | head -1)
    [[ -z "$pkg" ]] && { apt-get update -qq >/dev/null 2>&1; pkg=$(apt-cache search --names-only '^libfuzzer-[0-9]+-dev$' | awk '{print $1}' | sort -V | head -1); }
    [[ -n "$pkg" ]] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1
    lib=$(ls /usr/lib/llvm-*/lib/libFuzzer.a 2>/dev/null | sort -V | tail -1)
  fi
  [[ -n "$lib" ]] && echo "$lib"
}

# libFuzzer mode: the driver, the SharpFuzz tool and an instrumented copy of the harness.
setup_libfuzzer() {
  local lib cc cxx
  lib=$(find_libfuzzer) || { log "no libFuzzer.a"; return 1; }
  cc=$(command -v clang || command -v gcc || command -v cc) || { log "no C compiler"; return 1; }
  cxx=$(command -v clang++ || command -v g++ || command -v c++) || { log "no C++ linker"; return 1; }
  "$cc" -O2 -Wall -Wextra -c "$root/fuzz/driver/dotnet-libfuzzer-driver.c" -o "$work/driver.o" \
    && "$cxx" "$work/driver.o" "$lib" -lpthread -lm -o "$work/driver" || { log "driver build failed"; return 1; }
  if [[ ! -x "$work/tools/sharpfuzz" ]]; then
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$work/tools" >/dev/null 2>&1 \
      || { log "cannot install SharpFuzz.CommandLine"; return 1; }
  fi
  rm -rf "$work/instrumented" && cp -r "$work/plain" "$work/instrumented" \
    && "$work/tools/sharpfuzz" "$work/instrumented/Gguf.dll" >/dev/null || { log "instrumentation failed"; return 1; }
}

record() { # target seconds execs rate corpus findings
  printf '%s target=%s seconds=%s execs=%s exec_per_s=%s corpus=%s findings=%s\n' \
    "$(date -u +%FT%TZ)" "$@" | tee -a "$work/campaigns.log" >&2
}

run_inproc() {
  local out
  out=$("$work/plain/Gguf.Fuzz" inproc --seconds "$seconds" --seeds "$work/seeds" --findings "$work/findings" \
    --max-len "$max_len" --timeout-ms $((timeout * 1000)) 2>&1 | tee /dev/stderr)
  local status=${PIPESTATUS[0]}
  local execs rate
  execs=$(sed -n 's/^inproc done: \([0-9]*\) execs.*/\1/p' <<<"$out")
  rate=$(sed -n 's/.*(\([0-9]*\)\/s).*/\1/p' <<<"$out" | tail -1)
  record inproc "$seconds" "${execs:-0}" "${rate:-0}" "$(ls "$work/seeds" | wc -l)" "$(ls "$work/findings" | wc -l)"
  return "$status"
}

run_libfuzzer() {
  local arg=libfuzzer corpus="$work/corpus-full"
  [[ "$target" == parse ]] && { arg=libfuzzer-parse; corpus="$work/corpus-parse"; }
  [[ "$target" == canary ]] && { arg=libfuzzer-canary; corpus="$work/corpus-canary"; mkdir -p "$corpus"; printf 'CANARY' >"$corpus/canary"; }
  mkdir -p "$corpus"
  local before
  before=$(ls "$work/findings" | wc -l)
  (cd "$work" && DOTNET_GCHeapHardLimit=$(printf '0x%x' $((heap_mb * 1024 * 1024))) DOTNET_TieredPGO=1 \
    "$work/driver" --target_path="$work/instrumented/Gguf.Fuzz" --target_arg="$arg" \
    -max_total_time="$seconds" -timeout="$timeout" -max_len="$max_len" -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$work/findings/" "$corpus" "$work/seeds" >"$work/libfuzzer.log" 2>&1)
  local status=$?
  grep -E '^(stat::|INFO: Seed|#[0-9]+ +DONE)|ERROR|SUMMARY|Exception|dotnet-libfuzzer-driver' "$work/libfuzzer.log" | head -40 >&2
  local execs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/libfuzzer.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/libfuzzer.log")
  record "$target" "$seconds" "${execs:-0}" "${rate:-0}" "$(ls "$corpus" | wc -l)" $(( $(ls "$work/findings" | wc -l) - before ))
  [[ $status == 0 && $(ls "$work/findings" | wc -l) == "$before" ]]
}

build_plain || { log "the harness does not build"; exit 2; }
make_seeds || { log "seed generation failed"; exit 2; }
# Every seed must pass before fuzzing: a failing seed is a finding by itself.
"$work/plain/Gguf.Fuzz" run "$work/seeds" >&2 || { log "a seed fails the oracle"; exit 1; }

if [[ "$target" == inproc ]]; then
  run_inproc
  exit $?
fi

if setup_libfuzzer; then
  run_libfuzzer
  exit $?
fi

log "FALLBACK: libFuzzer mode is unavailable here; running the in-process mutation fuzzer instead"
target=inproc
run_inproc
