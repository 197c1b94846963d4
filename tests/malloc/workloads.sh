# The program workloads shared by tests/malloc/run.sh and bench/programs/run.sh. Each workload_NAME function runs
# one real program on data it makes itself (in $1, a scratch directory it may fill) and prints output that depends
# only on the data, so a run under another malloc must print exactly the same. The allocator is whatever the caller
# put in the environment (LD_PRELOAD); setup_NAME prepares the data once, outside any measurement.

PYTHON_DICTS=${PYTHON_DICTS:-1000000}
SQLITE_ROWS=${SQLITE_ROWS:-300000}
GCC_FUNCTIONS=${GCC_FUNCTIONS:-1500}

setup_python() { :; }
workload_python() {
    PYTHONMALLOC=malloc /usr/bin/python3 - "$PYTHON_DICTS" <<'PY'
import random, sys
n = int(sys.argv[1])
random.seed(42)
rows = [{"id": i, "key": random.random(), "name": "n%d" % random.randrange(n), "tags": [i % 7, i % 11]} for i in range(n)]
rows.sort(key=lambda r: (r["name"], r["key"]))
h = 0
for r in rows[::997]:
    h = (h * 1000003 + r["id"]) % (1 << 61)
print(n, h)
PY
}

setup_sqlite() {
    awk -v n="$SQLITE_ROWS" 'BEGIN {
        print "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL);"; print "BEGIN;"
        for (i = 1; i <= n; i++) printf "INSERT INTO t VALUES(%d, \047name%d\047, \047city%d\047, %.3f);\n", i, (i * 7919) % n, i % 97, ((i * 104729) % 100000) / 1000.0
        print "COMMIT;"; print "CREATE INDEX t_city_score ON t(city, score);"
        print "SELECT count(*), sum(score) FROM t;"
        print "SELECT city, count(*), round(avg(score), 3) FROM t GROUP BY city ORDER BY city LIMIT 10;"
        print "SELECT id, name FROM t WHERE city = \047city42\047 ORDER BY score DESC, id LIMIT 5;"
        print "SELECT count(DISTINCT name) FROM t;"
        print "SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY name, id LIMIT 20);"
    }' > "$1/sqlite.sql"
}
workload_sqlite() {
    rm -f "$1/sqlite.db"
    sqlite3 "$1/sqlite.db" < "$1/sqlite.sql"
}

setup_git() {
    local repo="$1/git-origin"
    rm -rf "$repo" && git init -q "$repo"
    # 400 commits over 60 files, made with fast-import so the setup costs a second, not minutes.
    awk 'BEGIN {
        for (c = 1; c <= 400; c++) {
            printf "commit refs/heads/main\ncommitter T <t@example.com> %d +0000\ndata <<E\ncommit %d\nE\n", 1600000000 + c * 60, c
            for (f = 0; f < 3; f++) {
                file = (c * 7 + f * 13) % 60; body = ""
                for (l = 0; l < 40 + (c % 50); l++) body = body sprintf("line %d of file %d changed in commit %d\n", l, file, c * (l % 3))
                printf "M 644 inline src/file%d.c\ndata %d\n%s\n", file, length(body), body
            }
        }
    }' | git -C "$repo" fast-import --quiet
    git -C "$repo" checkout -q main
}
workload_git() {
    local repo="$1/git-work"
    rm -rf "$repo" && cp -r "$1/git-origin" "$repo"
    git -C "$repo" log -p | sha256sum
    git -C "$repo" -c pack.threads=2 repack -adfq
    git -C "$repo" fsck --full --no-progress 2>&1
    git -C "$repo" rev-list --all --objects | sort | sha256sum
    git -C "$repo" count-objects -v | grep -E '^(count|in-pack|packs)'
}

setup_gcc() {
    awk -v n="$GCC_FUNCTIONS" 'BEGIN {
        print "#include <string.h>"
        for (i = 0; i < n; i++) {
            printf "struct s%d { int a[%d]; double d; };\n", i, i % 13 + 1
            printf "double f%d(struct s%d *p, int n) { double r = p->d; for (int i = 0; i < n; i++) { r += p->a[i %% %d] * %d.5; if (r > %d) r = r / 3 - i; } return r; }\n", i, i, i % 13 + 1, i, i * 10
            printf "int g%d(const char *s) { int h = %d; while (*s) h = h * 31 + *s++; switch (h & 7) { case 0: return h; case 1: return -h; case 3: return h ^ %d; default: return (int)strlen(s) + %d; } }\n", i, i, i * 17, i
        }
    }' > "$1/gcc-input.c"
}
workload_gcc() {
    gcc -O2 -c "$1/gcc-input.c" -o "$1/gcc-output.o"
    sha256sum < "$1/gcc-output.o"
}
