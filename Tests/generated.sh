#!/usr/bin/env bash
# Keeps the files generated from the command definitions (Sources/ledgerstream) in step with the code:
#   completions/  bash, zsh and fish scripts from `ledgerstream --generate-completion-script SHELL`
#   man/          one page per command from swift-argument-parser's GenerateManual plugin (--multi-page)
#
#   bash Tests/generated.sh [check]   regenerate into a temporary directory, compare with the committed files, exit 1
#                                     naming each file that differs (Tests/run-all.sh runs this)
#   bash Tests/generated.sh update    regenerate and replace the committed files
#
# It reuses a debug build instead of making its own:
#   LEDGERSTREAM_SCRATCH_PATH  where the plugin builds (debug) and finds the binary; default: the scratch path of
#                              LEDGERSTREAM_BIN if that is <path>/debug/ledgerstream, else .build. Right after
#                              `swift build` this build is a no-op.
#   LEDGERSTREAM_BIN           the binary asked for completion scripts; default .build/debug/ledgerstream
# The plugin runs first, so a binary inside the scratch path is rebuilt from the current sources before it is asked.
#
# Output is deterministic: the completion scripts contain nothing that varies, and the man pages' date (.Dd), which
# the plugin takes from the clock unless told, is pinned with --date to MANUAL_DATE below.
set -euo pipefail
cd "$(dirname "$0")/.."

MANUAL_DATE=2025-01-01   # the .Dd line of every page; change it on purpose (then `update`), never per run

mode="${1:-check}"
case "$mode" in
  check|update) ;;
  *) echo "usage: bash Tests/generated.sh [check|update]" >&2; exit 2 ;;
esac

bin="${LEDGERSTREAM_BIN:-.build/debug/ledgerstream}"
if [ -n "${LEDGERSTREAM_SCRATCH_PATH:-}" ]; then
  scratch="$LEDGERSTREAM_SCRATCH_PATH"
else
  case "$bin" in
    */debug/ledgerstream) scratch="$(dirname "$(dirname "$bin")")" ;;
    *) scratch=.build ;;
  esac
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/completions" "$work/man"

# Man pages. The plugin writes into its work directory under the scratch path and never removes pages of commands
# that are gone, so that directory is emptied first.
plugin_out="$scratch/plugins/GenerateManual/outputs/ledgerstream"
rm -rf "$plugin_out"
if ! swift package --scratch-path "$scratch" plugin generate-manual \
    --configuration debug --multi-page --date "$MANUAL_DATE" >"$work/plugin.log" 2>&1; then
  cat "$work/plugin.log" >&2
  echo "generated.sh: the GenerateManual plugin failed (scratch path $scratch)" >&2
  exit 1
fi
if ! compgen -G "$plugin_out/*.1" >/dev/null; then
  cat "$work/plugin.log" >&2
  echo "generated.sh: the GenerateManual plugin wrote no pages to $plugin_out" >&2
  exit 1
fi
cp "$plugin_out"/*.1 "$work/man/"

# Completion scripts.
if [ ! -x "$bin" ]; then
  echo "generated.sh: $bin not found; build first (swift build) or set LEDGERSTREAM_BIN" >&2
  exit 1
fi
"$bin" --generate-completion-script bash >"$work/completions/ledgerstream.bash"
"$bin" --generate-completion-script zsh >"$work/completions/_ledgerstream"
"$bin" --generate-completion-script fish >"$work/completions/ledgerstream.fish"

if [ "$mode" = update ]; then
  mkdir -p completions man
  cp "$work/completions/ledgerstream.bash" "$work/completions/_ledgerstream" "$work/completions/ledgerstream.fish" completions/
  rm -f man/*.1
  cp "$work/man/"*.1 man/
  echo "generated.sh: updated completions/ and man/ ($(ls man/*.1 | wc -l) pages)"
  exit 0
fi

stale=0
for dir in completions man; do
  if [ ! -d "$dir" ]; then
    echo "generated.sh: $dir/ is missing"
    stale=1
    continue
  fi
  # Every generated file must be committed unchanged, and no committed page may outlive its command.
  while IFS= read -r line; do
    stale=1
    case "$line" in
      "Only in $work/$dir"*) echo "generated.sh: $dir/${line##*: } is missing (a new command?)" ;;
      "Only in $dir"*) echo "generated.sh: $dir/${line##*: } is not generated any more (a removed command?)" ;;
      Files*)
        file="${line#Files $dir/}"
        file="${file%% and *}"
        echo "generated.sh: $dir/$file is out of date:"
        { diff -u "$dir/$file" "$work/$dir/$file" || true; } | sed -n '3,14p' | sed 's/^/    /'
        ;;
      *) echo "generated.sh: $line" ;;
    esac
  done < <(diff -rq "$dir" "$work/$dir" || true)
done
if [ "$stale" = 1 ]; then
  echo "generated.sh: completions/ or man/ do not match the command definitions; run: bash Tests/generated.sh update" >&2
  exit 1
fi
echo "generated.sh: completions/ and man/ are up to date"
