#!/usr/bin/env bash
# Tests of libbuddyslab-malloc.so as the malloc of native programs. Builds the library (one dotnet publish), then:
# the API contract in C, bad-pointer reports, the statistics at exit, real programs (python3, sqlite3, git, gcc) whose
# output must equal a run on glibc's malloc, short processes started in a row, a fork test and a thread test.
#
# Usage: tests/malloc/run.sh [--no-build] [--full]
#   --no-build  use the library already published
#   --full      (or BUDDYSLAB_MALLOC_FULL=1) the programs at the sizes bench/programs/run.sh measures (python3 with 2M
#               dicts, gcc on 1,500 functions: several minutes); by default CI's sizes (500k dicts, 300 functions), with
#               sqlite3 and git the same in both
# Missing tools (sqlite3, gcc, python3, git) are installed with apt-get when run as root.
# Ends with "malloc: N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=1
full=${BUDDYSLAB_MALLOC_FULL:-0}
for arg in "$@"; do
    case $arg in
        --no-build) build=0 ;;
        --full) full=1 ;;
        *) echo "usage: $0 [--no-build] [--full]" >&2; exit 2 ;;
    esac
done

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS  $1"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1"; }
finish() { echo "malloc: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# ---- tools: what is missing, installed when we may ----
missing=()
command -v sqlite3 > /dev/null || missing+=(sqlite3)
command -v gcc > /dev/null || missing+=(gcc)
[ -x /usr/bin/python3 ] || missing+=(python3)
command -v git > /dev/null || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "installing ${missing[*]} with apt-get"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") > /dev/null 2>&1 \
            || { fail "install ${missing[*]} with apt-get"; finish; }
    else
        fail "missing tools: ${missing[*]} (run as root with apt-get, or install them)"; finish
    fi
fi

if [ "$build" = 1 ]; then
    dotnet publish "$root/src/BuddySlab.Malloc" -c Release -nologo -v quiet || { fail "dotnet publish src/BuddySlab.Malloc"; finish; }
fi
lib=$(ls "$root"/src/BuddySlab.Malloc/bin/Release/net10.0/*/publish/libbuddyslab-malloc.so 2>/dev/null | head -n 1)
[ -n "$lib" ] || { fail "no libbuddyslab-malloc.so: publish src/BuddySlab.Malloc first"; finish; }
echo "library: $lib ($(stat -c %s "$lib") bytes)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cflags=(-O2 -Wall -Wno-free-nonheap-object -Wno-alloc-size-larger-than -Wno-use-after-free -pthread)
for t in api_contract threads fork; do
    gcc "${cflags[@]}" -o "$work/$t" "$here/$t.c" || fail "compile $t.c"
done

# ---- no metrics in the library: the switch BuddySlab.Metrics.IsSupported=false trims the meter out ----
# .NET keeps string literals in UTF-16 (strings -e l reads them; it drops the last letter of this one).
if strings -e l "$lib" | grep -q 'buddyslab\.heap\.manage'; then
    fail "the library carries the meter's code (BuddySlab.Metrics.IsSupported not trimmed)"
else
    pass "no meter in the library (BuddySlab.Metrics.IsSupported=false, trimmed)"
fi

# ---- the API contract ----
if out=$(timeout 120 env LD_PRELOAD="$lib" "$work/api_contract" 2>&1) && grep -q ', 0 failed' <<< "$out"; then
    pass "api contract: $(tail -n 1 <<< "$out")"
else
    fail "api contract"; echo "$out" | tail -n 20
fi

# ---- bad pointers: reported with the address, then SIGABRT; or reported and ignored ----
# Answers the exit status; the shell that reports the expected abort says so into /dev/null.
bad_pointer() { ( timeout 60 env LD_PRELOAD="$lib" "$work/api_contract" bad "$1" > "$work/out" 2> "$work/err"; echo $? ) 2> /dev/null; }
for kind in double double-run interior interior-run unallocated realloc; do
    call=free
    [ "$kind" = realloc ] && call=realloc
    status=$(bad_pointer "$kind")
    if [ "$status" = 134 ] && grep -Eq "^buddyslab-malloc: $call\(0x[0-9a-f]+\): invalid pointer" "$work/err" && ! grep -q survived "$work/out"; then
        pass "bad pointer ($kind) aborts: $(head -n 1 "$work/err")"
    else
        fail "bad pointer ($kind) aborts (exit $status)"; cat "$work/err"
    fi
    status=$(BUDDYSLAB_MALLOC_ON_ERROR=ignore bad_pointer "$kind")
    if [ "$status" = 0 ] && grep -q survived "$work/out" && grep -q 'invalid pointer' "$work/err"; then
        pass "bad pointer ($kind) reported and ignored with BUDDYSLAB_MALLOC_ON_ERROR=ignore"
    else
        fail "bad pointer ($kind) ignored (exit $status)"; cat "$work/err"
    fi
done

# ---- statistics at exit ----
BUDDYSLAB_MALLOC_STATS=1 timeout 120 env LD_PRELOAD="$lib" "$work/api_contract" > /dev/null 2> "$work/err"
if grep -Eq '^buddyslab-malloc: +pages .* in use [0-9.]+ [KMG]?i?B \([0-9]+ bytes\)' "$work/err" \
    && grep -Eq '^buddyslab-malloc: +glibc +[0-9]+ frees' "$work/err"; then
    pass "BUDDYSLAB_MALLOC_STATS=1 prints the heap's statistics at exit ($(wc -l < "$work/err") lines)"
else
    fail "BUDDYSLAB_MALLOC_STATS=1 prints the heap's statistics at exit"; cat "$work/err"
fi

# ---- start-up: short processes in a row, each starting the runtime while its threads start (none may die) ----
# A shell with a command substitution (a fork) exits within milliseconds of loading the library, while the heap's
# clock thread is still starting: a start-up race shows here as a process killed by a signal.
died=0
for i in $(seq 1 300); do
    out=$(timeout 20 env LD_PRELOAD="$lib" bash -c 'x=$(echo "$1"); echo "$x"' sh "$i" 2> "$work/err")
    status=$?
    if [ "$status" != 0 ] || [ "$out" != "$i" ]; then
        died=$((died + 1))
        [ "$died" -le 3 ] && { echo "  run $i: exit $status, printed '$out'"; head -n 5 "$work/err"; }
    fi
done
if [ "$died" = 0 ]; then pass "start-up: 300 shells with a command substitution, none died"; else fail "start-up: $died of 300 shells died"; fi

# ---- real programs: the same output as on glibc ----
if [ "$full" = 1 ]; then
    export PYTHON_DICTS=${PYTHON_DICTS:-2000000} GCC_FUNCTIONS=${GCC_FUNCTIONS:-1500}
else
    export PYTHON_DICTS=${PYTHON_DICTS:-500000} GCC_FUNCTIONS=${GCC_FUNCTIONS:-300}
fi
export SQLITE_ROWS=${SQLITE_ROWS:-300000}
source "$here/workloads.sh"
# A workload runs in a shell of its own (under the library too, with it preloaded), stopped after 5 minutes.
run_workload() { timeout 300 bash -c "source '$here/workloads.sh'; workload_$1 '$work'"; }
for program in python sqlite git gcc; do
    setup_$program "$work"
    start=$(date +%s.%N)
    run_workload "$program" > "$work/$program.glibc" 2>&1
    glibc_status=$?
    middle=$(date +%s.%N)
    LD_PRELOAD="$lib" run_workload "$program" > "$work/$program.buddyslab" 2>&1
    status=$?
    end=$(date +%s.%N)
    times=$(awk -v a="$start" -v b="$middle" -v c="$end" 'BEGIN { printf "glibc %.2f s, buddyslab %.2f s", b - a, c - b }')
    if [ "$glibc_status" != 0 ]; then
        fail "$program: the workload failed without the library (exit $glibc_status)"; tail -n 5 "$work/$program.glibc"
    elif [ "$status" = 0 ] && [ -s "$work/$program.glibc" ] && cmp -s "$work/$program.glibc" "$work/$program.buddyslab"; then
        pass "$program: output identical to glibc's ($times)"
    else
        fail "$program: exit $status$([ "$status" = 124 ] && echo ' (hung)'), output differs from glibc's"
        diff "$work/$program.glibc" "$work/$program.buddyslab" | head -n 20
    fi
done

# ---- fork: 1,000 forks while 2 threads allocate; a hang fails (each child after 10 s, the whole test after 3 min) ----
out=$(timeout 180 env LD_PRELOAD="$lib" "$work/fork" 2>&1)
status=$?
if [ "$status" = 0 ]; then pass "$out"; else fail "fork (exit $status$([ "$status" = 124 ] && echo ': hung')): $out"; fi

# ---- threads: 2,000 short-lived native threads ----
# Peak RSS at most 2x glibc's + 16 MiB. After the threads exit (at the main thread's exit) the threads' own caches hold
# at most 1 MiB (only the main thread's is left: every exited thread's went back when it exited), and the pages in use
# are at most what the caches may keep whatever the number of threads: the shared caches' budget of 2 MiB a CPU (plus a
# quarter of the live set at the last purge pass, docs/design.md) and 8 MiB for one thread's cache, the empty slab each
# CPU keeps per class and partly used slabs.
glibc_out=$(timeout 180 "$work/threads")
bsm_out=$(BUDDYSLAB_MALLOC_STATS=1 timeout 180 env LD_PRELOAD="$lib" "$work/threads" 2> "$work/err")
status=$?
glibc_rss=$(grep -o 'peak RSS [0-9]*' <<< "$glibc_out" | grep -o '[0-9]*$')
bsm_rss=$(grep -o 'peak RSS [0-9]*' <<< "$bsm_out" | grep -o '[0-9]*$')
in_use=$(grep -E '^buddyslab-malloc: +pages' "$work/err" | grep -Eo 'in use [^;]*' | grep -Eo '[0-9]+ bytes' | grep -Eo '[0-9]+')
own=$(grep -E '^buddyslab-malloc: +threads' "$work/err" | grep -Eo '[0-9]+ bytes' | head -n 1 | grep -Eo '[0-9]+')
shared=$(grep -E '^buddyslab-malloc: +shared' "$work/err" | grep -Eo '[0-9]+ bytes' | head -n 1 | grep -Eo '[0-9]+')
rss_bound=$((2 * ${glibc_rss:-0} + 16384))
own_bound=$((1 << 20))
use_bound=$(( (2 * $(nproc) + 8) << 20 ))
summary="threads: glibc ${glibc_out#threads: }; buddyslab ${bsm_out#threads: } (bound $rss_bound KiB); after the threads: \
${in_use:-?} bytes in use (bound $use_bound), ${own:-?} in threads' caches (bound $own_bound), ${shared:-?} in the shared caches"
if [ "$status" = 0 ] && [ -n "$bsm_rss" ] && [ -n "$in_use" ] && [ -n "$own" ] && [ "$bsm_rss" -le "$rss_bound" ] \
    && [ "$in_use" -le "$use_bound" ] && [ "$own" -le "$own_bound" ]; then
    pass "$summary"
else
    fail "$summary (exit $status)"; cat "$work/err"
fi

finish
