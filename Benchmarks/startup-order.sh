#!/usr/bin/env bash
# Regenerates Sources/ledgerstream/startup.order, the symbol ordering file release builds link with (Package.swift):
# the functions ledgerstream runs while starting and serving its first requests, which lld then places next to one
# another at the front of .text, and the .bss and .rodata sections the broker's start touches, placed together at the
# front of theirs.
#
#   bash Benchmarks/startup-order.sh   (builds the release binary as the README does, with a link map)
#
# Why: the kernel maps an executable's pages in 64 KB windows around each page touched (fault-around). The broker runs
# about 1.2 MB of code to start, spread over the 31 MB of .text, so 13-14 MB of it ended up resident at idle. The
# README's release build gives every Swift function of this package and its dependencies a section of its own
# (`-function-sections`); without it, only generic specialisations and other shared definitions get one, and the rest
# of each object file's code is one section, moved whole. The toolchain's prebuilt libraries (the standard library,
# Foundation, Dispatch) come as they were built. Names missing from a later build are skipped, so the file decays
# slowly as the code changes: regenerate it now and then, and after large changes to start-up paths. Functions the
# compiler leaves without a symbol cannot be listed: Sources/ledgerstream/unnamed-helpers.ld gathers those.
#
# How: valgrind's callgrind lists every function executed, by its mangled name, while the binary runs `broker` (start,
# one Metadata request, SIGTERM), `topic create`, `produce --csv` of the sample file and `consume --sink sqlite -e`.
# lld moves sections, not symbols, so the linker's map reduces that list to one executed function per input section.
# The broker's sections come first, then those only the client commands run, so that each set stays together.
# Then valgrind's lackey records every load and store of a broker start and first Metadata request; the data sections
# they fall in follow, each named by a symbol only it defines. .bss is written to here and there in every object file
# (type metadata and conformance caches), .rodata read the same way, each page becoming resident: placed together,
# the idle broker holds 0.4 MB less. Needs valgrind, kcat and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'kill "$broker_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
broker_pid=""
# The README's release line: a static PIE (Package.swift, staticPIELink), a section per function (Swift and C), so the
# ordering file can move each one, the C libraries' included.
export LEDGERSTREAM_STATIC_PIE=1
release=(-c release --static-swift-stdlib --disable-local-rpath -Xswiftc -Xfrontend -Xswiftc -function-sections
  -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors -Xcc -ffunction-sections --product ledgerstream)
swift build "${release[@]}" -Xlinker "-Map=$work/link.map"
binary=.build/release/ledgerstream

# valgrind cannot read the DWARF 5 debug info of a release build; the symbol table is all callgrind needs.
strip --strip-debug -o "$work/ledgerstream" "$binary"
traced() { valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$1" "$work/ledgerstream" "${@:2}"; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bootstrap="127.0.0.1:$port"
# Waits up to $1 tenths of a second for the broker (slow under valgrind) to answer a Metadata request.
await_broker() {
  for _ in $(seq "$1"); do
    if kcat -b "$bootstrap" -L -m 1 > /dev/null 2>&1; then return; fi
    sleep 0.1
  done
}
# Not through `traced`: $! must be valgrind's own PID, so that SIGTERM reaches it and it writes its counts on exit.
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.broker" "$work/ledgerstream" \
  broker --listeners "PLAINTEXT://$bootstrap" --log-dirs "$work/data" > "$work/broker.log" 2>&1 &
broker_pid=$!
await_broker 600
kcat -b "$bootstrap" -L > /dev/null
traced topic topic create transactions --partitions 4 -b "$bootstrap" > /dev/null 2>&1
traced produce produce --csv data/client_transactions.csv --topic transactions -q -b "$bootstrap" > /dev/null 2>&1
traced consume consume transactions --sink sqlite --db "$work/ledger.db" -e -b "$bootstrap" > /dev/null 2>&1
kill -TERM "$broker_pid"
wait "$broker_pid" || true
broker_pid=""
for run in broker topic produce consume; do
  if [ ! -s "$work/cg.$run" ]; then echo "startup-order: callgrind wrote nothing for $run" >&2; exit 1; fi
done

# The broker's data: valgrind's lackey reports every load and store of a start and a first Metadata request; kept
# are the 8-byte granules in .bss and .rodata (offsets from the binary's base, which the first instruction, the entry
# point, gives), so that the sections they fall in can be placed together too. A page of .bss becomes resident when
# anything on it is written, a page of .rodata (64 KB windows) when anything near it is read.
entry=$(readelf -h "$work/ledgerstream" | awk '/Entry point/ {print $4}')
data_sections=$(readelf -SW "$work/ledgerstream" | python3 -c '
import sys
for line in sys.stdin:
    fields = line.replace("[ ", "[").split()
    if len(fields) > 6 and fields[1] in (".bss", ".rodata"):
        print(f"{fields[1]}:{int(fields[3], 16)}:{int(fields[5], 16)}")')
mkfifo "$work/lackey"
python3 -c '
import sys
entry, out = int(sys.argv[1], 16), sys.argv[2]
ranges = [(name, int(low), int(low) + int(size)) for name, low, size in (arg.split(":") for arg in sys.argv[3:])]
base, touched = None, {name: set() for name, _, _ in ranges}
for line in sys.stdin:
    if base is None:
        if line.startswith("I"):
            base = int(line[3:].split(",")[0], 16) - entry
    elif line[1:2] in ("L", "S", "M"):
        address = int(line[3:].split(",")[0], 16) - base
        for name, low, high in ranges:
            if low <= address < high:
                touched[name].add(address & ~7)
with open(out, "w") as file:
    for name, addresses in touched.items():
        file.writelines(f"{name} {address:x}\n" for address in sorted(addresses))
' "$entry" "$work/data.touched" $data_sections < "$work/lackey" &
filter_pid=$!
valgrind --tool=lackey --trace-mem=yes --log-file="$work/lackey" "$work/ledgerstream" \
  broker --listeners "PLAINTEXT://$bootstrap" --log-dirs "$work/data-lackey" > "$work/broker-lackey.log" 2>&1 &
broker_pid=$!
await_broker 1200
kill -KILL "$broker_pid"  # what shutting down touches is not wanted
wait "$broker_pid" || true
broker_pid=""
wait "$filter_pid"
if [ ! -s "$work/data.touched" ]; then echo "startup-order: lackey saw no data accesses" >&2; exit 1; fi

python3 - "$work" "$binary" Sources/ledgerstream/startup.order <<'EOF'
import bisect, re, subprocess, sys
work, binary, out = sys.argv[1:]
runs = ["broker", "topic", "produce", "consume"]  # the broker's own code first: its idle RSS is the one measured
executed = {}
for run in runs:
    executed[run] = set()
    for line in open(f"{work}/cg.{run}", errors="replace"):
        if match := re.match(r"c?fn=\(\d+\) (\S+)", line):
            executed[run].add(match.group(1))
# lld's map: an input section is a line "VMA LMA Size Align", 9 spaces and "file:(section)"; each of its symbols, a
# line with 17 spaces before the name.
input_section = re.compile(r"^\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ {9}(\S.*)$")
output_section = re.compile(r"^\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+\d+ (\S+)$")
symbol = re.compile(r"^\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+\d+ {17}(\S+)$")
sections_of = {}
section = None
data_sections = {".bss": [], ".rodata": []}  # [address, size, the symbols defined in it]
data = None
output = None
for line in open(work + "/link.map", errors="replace"):
    if match := symbol.match(line):
        sections_of.setdefault(match.group(1), []).append(section)
        if data is not None:
            data[2].append(match.group(1))
    elif match := input_section.match(line):
        section = (match.group(3), int(match.group(2), 16)) if "(.text" in match.group(3) else None
        size = int(match.group(2), 16)
        data = [int(match.group(1), 16), size, []] if output in data_sections and size else None
        if data is not None:
            data_sections[output].append(data)
    elif match := output_section.match(line):
        output = match.group(1)
        data = None
# A local name several objects define (an outlined copy such as `initializeWithCopy for Range`) moves every section
# that defines it, and callgrind cannot tell which copy ran. Where the copies sit in sections of their own, that costs
# little; but the toolchain's prebuilt libraries come with one .text section per object, so such a name also brings
# whole objects along, as it brought _RegexParser's 475 KB for helpers no start runs. Those names go last, after every
# section placed for a name of its own, unless each large section they move is placed anyway.
small = 4096
section_of = {name: sections[0] if len(sections) == 1 else tuple(sections) for name, sections in sections_of.items()}
ambiguous = {name for name, sections in sections_of.items() if len(sections) > 1}
placed_by_own_name = {section_of[name] for run in runs for name in executed[run]
                      if name in section_of and name not in ambiguous}
def brings_unplaced_objects(name):
    return any(section is not None and section[1] > small and section not in placed_by_own_name
               for section in sections_of[name])
# The map leaves out some local symbols (the Swift runtime's C++ functions, each in a section of its own): those are
# listed by name when the binary defines them.
defined = set()
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    fields = line.split()
    if len(fields) == 3 and fields[1] in "tTwW":
        defined.add(fields[2])
names = []
last = []
placed = set()
for run in runs:
    chosen = []
    for name in sorted(executed[run]):
        if name in section_of:
            key = section_of[name]
            if key is None or key in placed:
                continue
        elif name in defined:
            key = name
        else:
            continue  # not in this binary
        placed.add(key)
        (last if name in ambiguous and brings_unplaced_objects(name) else chosen).append(name)
    names += chosen
names += last
# libc picks each string function's implementation (memcpy, strlen, ...) for the CPU it runs on, through IFUNCs, and
# valgrind's virtual CPU has no AVX-512: the variants it ran are not those the machine runs. Every variant of each such
# function executed goes first (they are small), so that the one picked at run time sits with the rest.
isa = r"(sse2|ssse3|sse4_1|sse4_2|avx|avx2|avx512|avx512f|avx512vl|avx512bw|evex|evex512|erms|fsrm)"
variant = re.compile(r"^__([a-z0-9_]+?)_" + isa + r"(_|$)")
families = {match.group(1) for name in names if (match := variant.match(name))}
listed = set(names)
variants = sorted(name for name in defined
                  if (match := variant.match(name)) and match.group(1) in families and name not in listed)
names = variants + names
# Then the .bss and .rodata sections the broker's start touched (lackey), each by a name only it defines: lld orders
# data sections by the same file, and a local name such as `expected.3` would move every section defining it.
# Sections without such a name (merged string literals) cannot be placed.
def own_name(symbols):
    return next((name for name in symbols if len(sections_of[name]) == 1), None)
touched = {name: [] for name in data_sections}
for line in open(work + "/data.touched"):
    name, address = line.split()
    touched[name].append(int(address, 16))
for name, sections in data_sections.items():
    sections.sort()
    starts = [section[0] for section in sections]
    chosen = set()
    for address in touched[name]:
        index = bisect.bisect_right(starts, address) - 1
        if index >= 0 and address < sections[index][0] + sections[index][1] and own_name(sections[index][2]):
            chosen.add(index)
    names += [own_name(sections[index][2]) for index in sorted(chosen)]
with open(out, "w") as file:
    file.write("\n".join(names) + "\n")
print(f"{out}: {len(names)} sections to put first")
EOF

# SwiftPM does not see the ordering file as an input of the link: relink with the new one.
rm -f .build/release/ledgerstream
swift build "${release[@]}"
