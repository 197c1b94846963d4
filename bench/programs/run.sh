#!/usr/bin/env bash
# The program set (tests/malloc/workloads.sh: python3, sqlite3, git, gcc) under glibc's malloc, mimalloc (when
# libmimalloc2.0 is installed) and BuddySlab, the allocators taking turns within each round and the order rotating
# from round to round; medians of the rounds of wall time, CPU time (user + system) and peak RSS (of the largest
# process, /usr/bin/time's %M), printed as a markdown table. Then the malloc(64)+free pair of malloc_pair.c under each
# allocator, and the two parts of BuddySlab's pair: an empty call through the shim (paid by each of the pair's two
# calls) and the pair's work inside the heap with no transition.
#
# Usage: bench/programs/run.sh [--no-build] [--rounds N] [--programs "python sqlite git gcc"] [--only-programs]
#                              [--also NAME=LIBRARY]...
# --also adds another preloaded library as one more allocator taking its turn (for example an earlier build of
# libbuddyslab-malloc.so, to compare two builds in one run); --only-programs skips the malloc(64)+free pair.
# Sizes: PYTHON_DICTS (default 2,000,000), SQLITE_ROWS (300,000), GCC_FUNCTIONS (600).
# As root, /usr/bin/time and libmimalloc2.0 are installed with apt-get when missing. Compare figures within one run
# only: a shared or noisy machine moves every column between runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=1 rounds=3 programs="python sqlite git gcc" pair=1 also=()
while [ $# -gt 0 ]; do
    case $1 in
        --no-build) build=0 ;;
        --rounds) rounds=$2; shift ;;
        --programs) programs=$2; shift ;;
        --only-programs) pair=0 ;;
        --also) [[ $2 == ?*=?* ]] || { echo "--also takes NAME=LIBRARY" >&2; exit 2; }; also+=("$2"); shift ;;
        *) echo "usage: $0 [--no-build] [--rounds N] [--programs \"python sqlite git gcc\"] [--only-programs] [--also NAME=LIBRARY]..." >&2; exit 2 ;;
    esac
    shift
done

want=()
[ -x /usr/bin/time ] || want+=(time)
ls /usr/lib/*/libmimalloc.so.2 > /dev/null 2>&1 || want+=(libmimalloc2.0)
if [ ${#want[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "installing ${want[*]} with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}") > /dev/null 2>&1 \
        || echo "(could not install ${want[*]})"
fi
[ -x /usr/bin/time ] || { echo "bench/programs/run.sh needs /usr/bin/time (the time package)" >&2; exit 1; }

[ "$build" = 1 ] && dotnet publish "$root/src/BuddySlab.Malloc" -c Release -nologo -v quiet
lib=$(ls "$root"/src/BuddySlab.Malloc/bin/Release/net10.0/*/publish/libbuddyslab-malloc.so | head -n 1)

names=(glibc) preloads=("")
mimalloc=$(ls /usr/lib/*/libmimalloc.so.2 2>/dev/null | head -n 1 || true)
if [ -n "$mimalloc" ]; then names+=(mimalloc); preloads+=("$mimalloc"); else echo "(libmimalloc2.0 not installed: no mimalloc column)"; fi
for entry in ${also[@]+"${also[@]}"}; do names+=("${entry%%=*}"); preloads+=("${entry#*=}"); done
names+=(buddyslab) preloads+=("$lib")

export PYTHON_DICTS=${PYTHON_DICTS:-2000000} SQLITE_ROWS=${SQLITE_ROWS:-300000} GCC_FUNCTIONS=${GCC_FUNCTIONS:-600}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Runs "$@" under allocator $1 (an index into names): LD_PRELOAD set only for the preloaded ones.
under() { local i=$1; shift; env ${preloads[$i]:+LD_PRELOAD=${preloads[$i]}} "$@"; }

echo "library: $lib ($(stat -c %s "$lib") bytes); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "sizes: python $PYTHON_DICTS dicts, sqlite $SQLITE_ROWS rows, gcc $GCC_FUNCTIONS functions; $rounds rounds"
echo
echo "| program | allocator | wall s | CPU s | peak RSS MB | wall vs glibc | RSS vs glibc |"
echo "|---|---|---:|---:|---:|---:|---:|"
source "$root/tests/malloc/workloads.sh"
for program in $programs; do
    setup_$program "$work"
    for round in $(seq 1 "$rounds"); do
        # Rotate the order each round, so no allocator always runs first (cold caches) or last.
        for k in $(seq 0 $((${#names[@]} - 1))); do
            i=$(( (k + round) % ${#names[@]} ))
            status=0
            under "$i" /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
                bash -c "source '$root/tests/malloc/workloads.sh'; workload_$program '$work'" > "$work/out.${names[$i]}" 2>&1 || status=$?
            [ "$status" = 0 ] || echo "($program under ${names[$i]} exited with $status)"
            read -r wall user sys rss < <(tail -n 1 "$work/time")
            echo "$wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss" >> "$work/$program.${names[$i]}"
        done
        for name in "${names[@]}"; do cmp -s "$work/out.glibc" "$work/out.$name" || echo "($program under $name printed something else than under glibc)"; done
    done
    base_wall=$(cut -d' ' -f1 "$work/$program.glibc" | median)
    base_rss=$(cut -d' ' -f3 "$work/$program.glibc" | median)
    for name in "${names[@]}"; do
        wall=$(cut -d' ' -f1 "$work/$program.$name" | median)
        cpu=$(cut -d' ' -f2 "$work/$program.$name" | median)
        rss=$(cut -d' ' -f3 "$work/$program.$name" | median)
        awk -v p="$program" -v n="$name" -v w="$wall" -v c="$cpu" -v r="$rss" -v bw="$base_wall" -v br="$base_rss" \
            'BEGIN { printf "| %s | %s | %.2f | %.2f | %.1f | %.2fx | %.2fx |\n", p, n, w, c, r / 1024, w / bw, r / br }'
    done
done

[ "$pair" = 1 ] || exit 0
echo
gcc -O2 -o "$work/malloc_pair" "$here/malloc_pair.c" -ldl
buddyslab=$((${#names[@]} - 1))
echo "| call (each the best of 5 x 20M, per round; medians of $rounds rounds) | allocator | ns |"
echo "|---|---|---:|"
for name in "${names[@]}" empty managed; do : > "$work/pair.$name"; done
for round in $(seq 1 "$rounds"); do
    for k in $(seq 0 $((${#names[@]} - 1))); do
        i=$(( (k + round) % ${#names[@]} ))
        under "$i" "$work/malloc_pair" >> "$work/pair.${names[$i]}"
    done
    under "$buddyslab" "$work/malloc_pair" 20000000 empty >> "$work/pair.empty"
    under "$buddyslab" "$work/malloc_pair" 20000000 managed >> "$work/pair.managed"
done
for name in "${names[@]}"; do echo "| malloc(64) + free | $name | $(median < "$work/pair.$name") |"; done
echo "| an empty call through the shim (the pair makes two) | buddyslab | $(median < "$work/pair.empty") |"
echo "| the pair's work in managed code, no transition | buddyslab | $(median < "$work/pair.managed") |"
