#!/usr/bin/env bash
# The one command that runs every ledgerstream test: `bash Tests/run-all.sh` (CI runs it through .ci/run).
#
# 1. Installs what the tests need on a machine that has only the Swift toolchain, gcc and python3:
#    Debian packages (libsqlite3-dev, libreadline-dev, zlib1g-dev, liblz4-1, libzstd1, kcat, zookeeper, postgresql) and PyPI
#    packages (Tests/Interop/requirements.txt). The PostgreSQL tests start their own servers (initdb into a temporary
#    directory, as an unprivileged user, on a free loopback port), never the one the package may set up.
# 2. Builds (debug), checks that generated protocol code is fresh, runs the unit tests (`swift test`).
# 3. Runs the interop tests: real clients (kcat, kafka-python, confluent-kafka, aiokafka, kazoo, zkCli) against the
#    real binary on ephemeral 127.0.0.1 ports, on two pytest-xdist workers. Each test starts and stops its own servers.
# 4. Builds the fuzz targets (Fuzz/, libFuzzer with AddressSanitizer; in the background at the lowest priority while
#    the unit and interop tests run) and runs each for LEDGERSTREAM_FUZZ_SECONDS (default 10) from the committed seeds; a crash or broken
#    invariant fails the run and names the saved input.
#
# Set LEDGERSTREAM_SKIP_INSTALL=1 to skip step 1 on a machine already set up, LEDGERSTREAM_SKIP_FUZZ=1 to skip step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

if [ "${LEDGERSTREAM_SKIP_INSTALL:-0}" != 1 ]; then
  step "installing test dependencies"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  apt_packages=(libsqlite3-dev libreadline-dev zlib1g-dev liblz4-1 libzstd1 kcat zookeeper openssl postgresql chromium chromium-driver)
  missing=()
  for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  python3 -m pip install -q --disable-pip-version-check -r Tests/Interop/requirements.txt
fi

step "building"
swift build --build-tests
swift run --skip-build kafka-protocol-gen --check
bash Tests/generated.sh check

# The fuzz targets (a release build with AddressSanitizer of their own, about 200 s on two cores) are built meanwhile at
# the lowest CPU priority: the tests below mostly wait, so the build takes the idle CPU instead of adding its time.
fuzz_build=""
if [ "${LEDGERSTREAM_SKIP_FUZZ:-0}" != 1 ]; then
  fuzz_build_log="$(mktemp)"
  # In a session of its own, so that a failing step stops the whole build with it (kill of the process group).
  setsid nice -n 19 bash Fuzz/run --build-only >"$fuzz_build_log" 2>&1 &
  fuzz_build=$!
  trap 'kill -- "-$fuzz_build" 2>/dev/null || true; rm -f "$fuzz_build_log"' EXIT
fi

step "unit tests (swift test)"
swift test --skip-build

step "interop tests with real clients"
export LEDGERSTREAM_BIN="$PWD/.build/debug/ledgerstream"
if compgen -G "Tests/Interop/test_*.py" >/dev/null; then
  # Two worker processes, each taking whole files (a file's tests may share a module-scoped broker): the tests mostly
  # wait on servers, clients and timeouts (one process used 0.86 of a core), so the suite takes 424 s instead of 755 s
  # on two cores. LEDGERSTREAM_TEST_WORKERS=0 runs it in this process, one test at a time.
  python3 -m pytest -q --timeout=600 --durations=25 -n "${LEDGERSTREAM_TEST_WORKERS:-2}" --dist loadfile Tests/Interop
else
  echo "no interop tests yet"
fi

if [ -n "$fuzz_build" ]; then
  step "fuzzing: a short run of each target"
  if ! wait "$fuzz_build"; then
    cat "$fuzz_build_log"
    echo "building the fuzz targets failed" >&2
    exit 1
  fi
  grep -E '^fuzz build' "$fuzz_build_log" || true
  bash Fuzz/run --no-build --seconds "${LEDGERSTREAM_FUZZ_SECONDS:-10}"
fi

step "all tests passed"
