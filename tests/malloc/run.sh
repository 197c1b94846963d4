#!/usr/bin/env bash
# Tests of libbuddyslab-malloc.so as the malloc of native programs. Builds the library (one dotnet publish), then:
# the API contract in C, bad-pointer reports, real programs (python3, sqlite3, git, gcc) whose output must equal a
# run on glibc's malloc, a fork test and a thread test.
#
# Usage: tests/malloc/run.sh [--no-build] [--strict]
#   --no-build  use the library already published
#   --strict    (or BUDDYSLAB_MALLOC_STRICT=1) count a failure of the tests marked as waiting for library support
#               (fork, threads) as a failure; without it such a failure is reported as expected and does not fail
#               the run
# Ends with "malloc: N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=1
strict=${BUDDYSLAB_MALLOC_STRICT:-0}
for arg in "$@"; do
    case $arg in
        --no-build) build=0 ;;
        --strict) strict=1 ;;
        *) echo "usage: $0 [--no-build] [--strict]" >&2; exit 2 ;;
    esac
done

passed=0 failed=0 expected=0
pass() { passed=$((passed + 1)); echo "PASS  $1"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1"; }
# A test of behaviour that needs library support (see src/BuddySlab.Malloc/README.md): its failure is expected today.
fail_waiting() {
    if [ "$strict" = 1 ]; then fail "$1"; else expected=$((expected + 1)); echo "XFAIL $1 (expected to fail until the library supports it)"; fi
}

if [ "$build" = 1 ]; then
    dotnet publish "$root/src/BuddySlab.Malloc" -c Release -nologo -v quiet || { echo "malloc: 0 passed, 1 failed"; exit 1; }
fi
lib=$(ls "$root"/src/BuddySlab.Malloc/bin/Release/net10.0/*/publish/libbuddyslab-malloc.so 2>/dev/null | head -n 1)
[ -n "$lib" ] || { echo "no libbuddyslab-malloc.so: publish src/BuddySlab.Malloc first"; echo "malloc: 0 passed, 1 failed"; exit 1; }
echo "library: $lib ($(stat -c %s "$lib") bytes)"

if ! command -v sqlite3 > /dev/null; then
    (apt-get update -qq && apt-get install -y -qq sqlite3) > /dev/null 2>&1 || echo "could not install sqlite3"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cflags=(-O2 -Wall -Wno-free-nonheap-object -Wno-alloc-size-larger-than -Wno-use-after-free -pthread)
for t in api_contract threads fork; do
    gcc "${cflags[@]}" -o "$work/$t" "$here/$t.c" || fail "compile $t.c"
done
preload() { env LD_PRELOAD="$lib" "$@"; }

# ---- the API contract ----
if out=$(preload "$work/api_contract" 2>&1) && grep -q ', 0 failed' <<< "$out"; then
    pass "api contract: $(tail -n 1 <<< "$out")"
else
    fail "api contract"; echo "$out" | tail -n 20
fi

# ---- bad pointers: reported with the address, then SIGABRT; or reported and ignored ----
for kind in double interior unallocated; do
    preload "$work/api_contract" bad "$kind" > "$work/out" 2> "$work/err"
    status=$?
    if [ "$status" = 134 ] && grep -Eq '^buddyslab-malloc: free\(0x[0-9a-f]+\): invalid pointer' "$work/err" && ! grep -q survived "$work/out"; then
        pass "bad free ($kind) aborts: $(head -n 1 "$work/err")"
    else
        fail "bad free ($kind) aborts (exit $status)"; cat "$work/err"
    fi
    BUDDYSLAB_MALLOC_ON_ERROR=ignore preload "$work/api_contract" bad "$kind" > "$work/out" 2> "$work/err"
    status=$?
    if [ "$status" = 0 ] && grep -q survived "$work/out" && grep -q 'invalid pointer' "$work/err"; then
        pass "bad free ($kind) reported and ignored with BUDDYSLAB_MALLOC_ON_ERROR=ignore"
    else
        fail "bad free ($kind) ignored (exit $status)"; cat "$work/err"
    fi
done

# ---- statistics at exit ----
if BUDDYSLAB_MALLOC_STATS=1 preload "$work/api_contract" 2>&1 | grep -q '^buddyslab-malloc: [0-9]* bytes of pages managed'; then
    pass "BUDDYSLAB_MALLOC_STATS=1 prints the heap's statistics at exit"
else
    fail "BUDDYSLAB_MALLOC_STATS=1 prints the heap's statistics at exit"
fi

# ---- real programs: the same output as on glibc ----
export PYTHON_DICTS=${PYTHON_DICTS:-500000} GCC_FUNCTIONS=${GCC_FUNCTIONS:-300}
source "$here/workloads.sh"
for program in python sqlite git gcc; do
    setup_$program "$work"
    start=$(date +%s.%N)
    workload_$program "$work" > "$work/$program.glibc" 2>&1
    middle=$(date +%s.%N)
    LD_PRELOAD="$lib" workload_$program "$work" > "$work/$program.buddyslab" 2>&1
    end=$(date +%s.%N)
    times=$(awk -v a="$start" -v b="$middle" -v c="$end" 'BEGIN { printf "glibc %.2f s, buddyslab %.2f s", b - a, c - b }')
    if [ -s "$work/$program.glibc" ] && cmp -s "$work/$program.glibc" "$work/$program.buddyslab"; then
        pass "$program: output identical to glibc's ($times)"
    else
        fail "$program: output differs from glibc's"; diff "$work/$program.glibc" "$work/$program.buddyslab" | head -n 20
    fi
done

# ---- fork: 1,000 forks while 2 threads allocate; a hang fails (per child after 10 s, the whole test after 10 min) ----
out=$(timeout 600 env LD_PRELOAD="$lib" "$work/fork" 2>&1)
status=$?
if [ "$status" = 0 ]; then pass "$out"; else fail_waiting "fork (exit $status): ${out:-timed out}"; fi

# ---- threads: 2,000 short-lived native threads; peak RSS at most 2x glibc's + 16 MiB ----
glibc_out=$("$work/threads")
bsm_out=$(BUDDYSLAB_MALLOC_STATS=1 timeout 600 env LD_PRELOAD="$lib" "$work/threads" 2> "$work/err")
status=$?
glibc_rss=$(grep -o 'peak RSS [0-9]*' <<< "$glibc_out" | grep -o '[0-9]*$')
bsm_rss=$(grep -o 'peak RSS [0-9]*' <<< "$bsm_out" | grep -o '[0-9]*$')
summary="threads: glibc ${glibc_out#threads: }; buddyslab ${bsm_out#threads: }; at exit $(grep -o '[0-9]\+ in use' "$work/err" | head -n 1 | cut -d' ' -f1) bytes of pages in use"
if [ "$status" = 0 ] && [ -n "$bsm_rss" ] && [ "$bsm_rss" -le $((2 * glibc_rss + 16384)) ]; then
    pass "$summary"
else
    fail_waiting "$summary (exit $status; peak RSS bound $((2 * glibc_rss + 16384)) KiB)"
fi

[ "$expected" -gt 0 ] && echo "expected to fail until the library supports them: $expected"
echo "malloc: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
