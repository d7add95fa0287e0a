#!/usr/bin/env bash
# The unit tests under AddressSanitizer and ThreadSanitizer: `bash Tests/sanitizers.sh [address|thread]...`
# (both by default). Each sanitizer builds everything again in its own scratch directory (.build-asan, .build-tsan),
# which takes several minutes on two cores, so this is not part of Tests/run-all.sh; run it before a release and
# after changing concurrency or unsafe-pointer code.
#
# Extra arguments after `--` go to `swift test` (for example `-- --filter LogStorageTests`).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    address|thread) sanitizers+=("$1") ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: Tests/sanitizers.sh [address|thread]... [-- swift test options]" >&2; exit 64 ;;
  esac
  shift
done
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)

status=0
for sanitizer in "${sanitizers[@]}"; do
  scratch=".build-${sanitizer:0:1}san"
  echo "== swift test --sanitize=$sanitizer (scratch $scratch)"
  started=$(date +%s)
  # halt_on_error: the first report fails the run; detect_leaks=0: Swift runtime metadata caches look like leaks.
  if ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:${ASAN_OPTIONS:-}" \
     TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}" \
     swift test --sanitize="$sanitizer" --scratch-path "$scratch" "${extra[@]+"${extra[@]}"}"; then
    echo "== $sanitizer: passed in $(( $(date +%s) - started )) s"
  else
    echo "== $sanitizer: FAILED after $(( $(date +%s) - started )) s"
    status=1
  fi
done
exit $status
