/* glibc's malloc contract, checked against whichever malloc the process runs with (run under LD_PRELOAD).
 * Usage: api_contract            the contract checks; prints "api: N passed, N failed"
 *        api_contract bad KIND   one bad pointer (double, double-run, interior, interior-run, unallocated: to free;
 *                                realloc: a freed block to realloc) for the error-report checks */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);

static int passed, failed;
#define CHECK(cond) do { if (cond) passed++; else { failed++; fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #cond); } } while (0)
#define ALIGNED(p, a) (((uintptr_t)(p) & ((a) - 1)) == 0)

static void *consume(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < 10000; i++) free(blocks[i]);        /* frees another thread's blocks */
    return NULL;
}

/* A thread's pthread key whose destructor runs after the library's (its key is younger): the thread is leaving, and
 * its calls go to glibc while the heap's blocks it frees or reallocates are still handled right. */
static pthread_key_t late_key;
static atomic_int late_ok;

static void late_destructor(void *block)
{
    char *moved = realloc(block, 5000);                     /* a heap block, reallocated where the heap is left */
    if (moved != NULL && strcmp(moved, "late") == 0) atomic_fetch_add(&late_ok, 1);
    free(moved);
    free(malloc(100));
}

static void *late_thread(void *arg)
{
    char *p = malloc(arg ? 6000 : 100);                     /* 6000: a block of whole pages, off the page boundary */
    strcpy(p, "late");
    char *q = malloc(200);
    pthread_setspecific(late_key, p);
    free(q);
    return NULL;
}

static int bad_free(const char *kind)
{
    char *volatile p = malloc(100), *volatile big = malloc(1 << 20);   /* volatile: the compiler keeps both frees */
    char *volatile run = malloc(5000);                      /* whole pages, starting off the page boundary */
    if (strcmp(kind, "double") == 0) { free(p); free(p); }
    else if (strcmp(kind, "double-run") == 0) { free(run); free(run); }
    else if (strcmp(kind, "interior-run") == 0) free(big + 64);      /* where an offset block of big would start */
    else if (strcmp(kind, "realloc") == 0) { free(p); p = realloc(p, 200); }
    else if (strcmp(kind, "interior") == 0) free(big + 4096);
    else if (strcmp(kind, "unallocated") == 0) free(big + ((size_t)1 << 34));   /* inside the heap's range, never handed out */
    printf("survived\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "bad") == 0) return bad_free(argv[2]);
    long page = sysconf(_SC_PAGESIZE);

    Dl_info info;
    CHECK(dladdr((void *)malloc, &info) && strstr(info.dli_fname, "buddyslab-malloc") != NULL);

    /* malloc: unique pointers for size 0, alignment, contents kept */
    void *z1 = malloc(0), *z2 = malloc(0);
    CHECK(z1 != NULL && z2 != NULL && z1 != z2);
    free(z1); free(z2);
    for (size_t size = 1; size < (1 << 22); size = size * 3 + 1)
    {
        unsigned char *p = malloc(size);
        CHECK(p != NULL && ALIGNED(p, size >= 16 ? 16 : 8) && malloc_usable_size(p) >= size);
        memset(p, 0xa5, size);
        CHECK(p[0] == 0xa5 && p[size - 1] == 0xa5);
        free(p);
    }
    errno = 0;
    CHECK(malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(SIZE_MAX / 2) == NULL && errno == ENOMEM);
    CHECK(malloc_usable_size(NULL) == 0);

    /* free: NULL is nothing, errno is kept */
    free(NULL);
    errno = 1234;
    free(malloc(10));
    CHECK(errno == 1234);

    /* calloc: zeroed, overflow refused */
    for (int round = 0; round < 2; round++)
    {
        unsigned char *c = calloc(1000, 8);
        int zero = 1;
        for (int i = 0; i < 8000; i++) zero &= c[i] == 0;
        CHECK(zero);
        memset(c, 0xff, 8000);
        free(c);                                            /* the second round likely gets the same, dirty block */
    }
    errno = 0;
    CHECK(calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc((size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);

    /* realloc: NULL allocates, 0 frees and answers NULL, contents kept both ways, failure keeps the block */
    char *r = realloc(NULL, 10);
    CHECK(r != NULL);
    strcpy(r, "abcdefghi");
    r = realloc(r, 100000);
    CHECK(r != NULL && strcmp(r, "abcdefghi") == 0);
    r = realloc(r, 5);
    CHECK(r != NULL && memcmp(r, "abcde", 5) == 0);
    errno = 0;
    CHECK(realloc(r, SIZE_MAX / 2) == NULL && errno == ENOMEM && memcmp(r, "abcde", 5) == 0);
    CHECK(realloc(r, 0) == NULL);

    /* reallocarray: overflow refused, block kept */
    int *a = reallocarray(NULL, 10, sizeof(int));
    CHECK(a != NULL);
    a[9] = 99;
    errno = 0;
    CHECK(reallocarray(a, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM && a[9] == 99);
    a = reallocarray(a, 1000, sizeof(int));
    CHECK(a != NULL && a[9] == 99);
    free(a);

    /* posix_memalign: power of two multiple of sizeof(void *), EINVAL otherwise, *out untouched on failure */
    void *m = (void *)1;
    CHECK(posix_memalign(&m, 0, 8) == EINVAL && m == (void *)1);
    CHECK(posix_memalign(&m, 4, 8) == EINVAL && m == (void *)1);
    CHECK(posix_memalign(&m, 24, 8) == EINVAL && m == (void *)1);
    CHECK(posix_memalign(&m, 64, SIZE_MAX / 2) == ENOMEM && m == (void *)1);
    for (size_t align = 8; align <= (1 << 21); align <<= 1)
    {
        for (size_t size = 0; size < 100000; size = size * 7 + 3)
        {
            CHECK(posix_memalign(&m, align, size) == 0 && m != NULL && ALIGNED(m, align));
            memset(m, 1, size);
            free(m);
        }
    }

    /* aligned_alloc: a power of two, EINVAL otherwise (glibc 2.38 and later) */
    errno = 0;
    CHECK(aligned_alloc(0, 16) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(aligned_alloc(24, 48) == NULL && errno == EINVAL);
    void *al = aligned_alloc(4096, 100);
    CHECK(al != NULL && ALIGNED(al, 4096));
    free(al);
    al = aligned_alloc(16, 1);
    CHECK(al != NULL && ALIGNED(al, 16));
    free(al);

    /* memalign: a non-power of two rounds up, an impossible alignment is EINVAL; valloc, pvalloc: pages */
    void *ma = memalign(24, 10);
    CHECK(ma != NULL && ALIGNED(ma, 32));
    free(ma);
    errno = 0;
    CHECK(memalign(SIZE_MAX, 10) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(memalign((size_t)1 << 62, 10) == NULL && errno == ENOMEM);     /* no heap is that large */
    m = (void *)1;
    CHECK(posix_memalign(&m, (size_t)1 << 50, 1) == ENOMEM && m == (void *)1);
    void *v = valloc(10);
    CHECK(v != NULL && ALIGNED(v, page));
    free(v);
    v = pvalloc(1);
    CHECK(v != NULL && ALIGNED(v, page) && malloc_usable_size(v) >= (size_t)page);
    free(v);
    v = pvalloc(0);
    CHECK(v != NULL && ALIGNED(v, page));
    free(v);

    /* blocks of whole pages that leave room in their last page start off the page boundary (a kernel copy into a buffer
     * a few bytes past a page boundary, from the page cache, is slow); every call takes them as the blocks they are */
    for (size_t size = 2100; size < 3000000; size = size * 5 / 3)
    {
        unsigned char *p = malloc(size);
        CHECK(p != NULL && ALIGNED(p, 16) && malloc_usable_size(p) >= size);
        memset(p, 0x5a, size);
        unsigned char *q = realloc(p, size + size / 8);    /* in place or moved: the contents go along */
        CHECK(q != NULL && malloc_usable_size(q) >= size + size / 8 && q[0] == 0x5a && q[size - 1] == 0x5a);
        q = realloc(q, size / 3);
        CHECK(q != NULL && malloc_usable_size(q) >= size / 3 && q[0] == 0x5a && q[size / 3 - 1] == 0x5a);
        free(q);
        q = calloc(1, size);
        int zero = 1;
        for (size_t i = 0; i < size; i += 97) zero &= q[i] == 0;
        CHECK(q != NULL && zero && q[size - 1] == 0);
        free(q);
    }
    void *sqlite_page = malloc(4096 + 8);                   /* sqlite reads 4096-byte pages to 8 bytes into these */
    CHECK(((uintptr_t)sqlite_page & (page - 1)) != 0);
    free(sqlite_page);

    /* glibc's own blocks (made before the heap, or by glibc itself) go back to glibc */
    char *g = __libc_malloc(100);
    CHECK(malloc_usable_size(g) >= 100);
    strcpy(g, "glibc");
    g = realloc(g, 50000);
    CHECK(g != NULL && strcmp(g, "glibc") == 0);
    free(g);

    /* blocks freed by another thread */
    void **blocks = malloc(10000 * sizeof(void *));
    for (int i = 0; i < 10000; i++) blocks[i] = malloc(i % 10 ? 16 + (i % 300) : 2100 + i);   /* a tenth of whole pages */
    pthread_t t;
    pthread_create(&t, NULL, consume, blocks);
    pthread_join(t, NULL);
    free(blocks);
    CHECK(1);

    /* frees and reallocations on a thread that is leaving, after the heap let go of it */
    pthread_key_create(&late_key, late_destructor);
    for (int i = 0; i < 20; i++)
    {
        pthread_create(&t, NULL, late_thread, i % 2 ? &late_ok : NULL);
        pthread_join(t, NULL);
    }
    for (int i = 0; i < 100; i++) free(malloc(32));        /* a call that drains the blocks parked meanwhile */
    CHECK(atomic_load(&late_ok) == 20);

    printf("api: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
