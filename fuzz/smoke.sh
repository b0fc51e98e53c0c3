#!/usr/bin/env bash
# A short, bounded fuzz run for CI (about two minutes with the build): replays every regression file
# through the fuzz oracle, then fuzzes the full target (memory, stream and mapped file) for
# FUZZ_SMOKE_SECONDS (default 45). Exits non-zero on any finding; findings are kept in $FUZZ_WORK/findings.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export FUZZ_WORK=${FUZZ_WORK:-$(mktemp -d /tmp/gguf-fuzz-smoke.XXXXXX)}
seconds=${FUZZ_SMOKE_SECONDS:-45}

"$root/scripts/fuzz.sh" "$seconds" full
status=$?
if [[ -x "$FUZZ_WORK/plain/Gguf.Fuzz" && -d "$root/tests/Gguf.Tests/Regressions" ]]; then
  mapfile -t regressions < <(find "$root/tests/Gguf.Tests/Regressions" -name '*.gguf' | sort)
  if [[ ${#regressions[@]} -gt 0 ]]; then
    "$FUZZ_WORK/plain/Gguf.Fuzz" run "${regressions[@]}" || status=1
  fi
fi

if [[ $status != 0 ]]; then
  echo "fuzz smoke: FAILED (status $status); findings in $FUZZ_WORK/findings:" >&2
  ls -la "$FUZZ_WORK/findings" >&2
  exit 1
fi

echo "fuzz smoke: passed (figures in $FUZZ_WORK/campaigns.log)"
