/*
 * The C face of libbuddyslab-malloc.so: owns glibc's malloc API and forwards it to the heap's managed entry points
 * (bsm_*, UnmanagedCallersOnly methods linked into the same library). These symbols are exported unversioned, so they
 * interpose malloc@GLIBC_2.2.5 and friends.
 *
 * Invariants:
 * - A call goes to the heap only from a registered live thread that is not already inside the heap (self.busy == 0)
 *   and only after the constructor started the runtime; every other call (from the heap or the runtime themselves,
 *   from a thread the runtime started, before the constructor, on an exiting thread) is served by glibc's __libc_*
 *   functions. So everything the runtime allocates is glibc's, and the heap's blocks are only ever the program's.
 * - A pointer the heap does not own always reaches glibc; one it owns never does. Inside the heap the library's Owns
 *   decides; where the heap cannot be entered the shim's copy of the heap's one reservation [heap_lo, heap_hi) does,
 *   and heap blocks freed there are parked on a lock-free list that the next call drains.
 * - fork: the prepare handler closes a gate and waits until no program thread is inside the heap (so no call is half
 *   way through a lock-free step, or running managed code the child's runtime would wait for), then takes every lock
 *   of the heap in the library's order; parent and child let go. Entering threads publish busy before reading the
 *   gate; the forking thread's membarrier makes the pair a full barrier without a fence on the fast path.
 * - Offset page runs: a block the heap serves as more than one page (larger than its largest slab object and than a
 *   page) starts RUN_OFFSET bytes into its run when the run's last page has that much to spare, so that it does not
 *   start on a page boundary. A program that reads page-sized units into a buffer a few bytes into such a block
 *   (sqlite's 4096 + 8) otherwise makes the kernel copy between addresses a few bytes apart modulo 4 KiB, which runs
 *   several times slower. The run's first word then holds a tag (the block's address mixed with a per-process secret),
 *   cleared when the block is freed; free, realloc and malloc_usable_size take a pointer RUN_OFFSET into a page of the
 *   heap whose tag matches as that run, and the heap checks that the run is a live page run before it acts.
 * - Thread exit: a pthread key destructor, created before the runtime's own key so it runs first, hands the thread's
 *   caches back while the runtime still knows the thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dlfcn.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* What the heap answers about a pointer it was given (bsm_free, bsm_realloc, bsm_usable_size). */
enum { BSM_DONE = 0, BSM_FOREIGN = 1, BSM_INVALID = 2 };

/* 0 when the heap is ready; its reservation [lo, hi), its page size and its largest slab object */
extern int bsm_initialize(uintptr_t *lo, uintptr_t *hi, size_t *page_size, size_t *largest_object);
extern void *bsm_malloc(size_t size);                       /* NULL when out of memory */
extern void *bsm_memalign(size_t alignment, size_t size);   /* alignment: a power of two above 8 */
extern int bsm_free(void *p);
extern void *bsm_realloc(void *p, size_t size, int *status);   /* NULL with BSM_DONE: out of memory, p unchanged */
extern size_t bsm_usable_size(void *p, int *status);
extern int bsm_free_run(void *run);                         /* BSM_INVALID unless run heads a live page run */
extern void bsm_fork_prepare(void), bsm_fork_parent(void), bsm_fork_child(void);
extern void bsm_thread_exit(void);
extern void bsm_print_statistics(long foreign, long invalid);
extern void bsm_empty_call(void), bsm_managed_pairs(long pairs, size_t size);

/* THREAD_RUNTIME: a thread the runtime started for itself (finalizer, the heap's clock). It may call malloc while it
 * attaches to the runtime, holding locks the attach takes again: glibc serves it, like an exiting thread. */
enum { THREAD_NEW, THREAD_LIVE, THREAD_GONE, THREAD_RUNTIME };
struct thread_state { int busy; int state; struct thread_state *next, *prev; };

static __thread struct thread_state self __attribute__((tls_model("initial-exec")));
static int ready;
static int abort_on_error = 1;                              /* BUDDYSLAB_MALLOC_ON_ERROR=ignore clears it */
static uintptr_t heap_lo, heap_hi;                          /* the heap's reservation: all of its address range */
static size_t page_mask = 4095, largest_object = SIZE_MAX;   /* from the heap; no offset runs before it starts */
static uintptr_t tag_secret;

#define RUN_OFFSET 64                                       /* a cache line: keeps every alignment malloc promises */
static pthread_key_t exit_key;
static size_t (*libc_usable_size)(void *);
static int fence_needed;                                    /* no expedited membarrier: fence on entry instead */
static atomic_int fork_gate;
static pthread_mutex_t fork_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct thread_state *threads;                        /* registered live threads, under registry_mutex */
static _Atomic(void *) deferred;                            /* heap blocks freed where the heap could not be entered */
static atomic_long foreign_calls, invalid_pointers;         /* for BUDDYSLAB_MALLOC_STATS */

static inline int owned(void *p) { return (uintptr_t)p - heap_lo < heap_hi - heap_lo; }

/* RUN_OFFSET when a block of size bytes is a run of more than one page whose last page spares RUN_OFFSET bytes, else
 * 0. A block smaller than a page is no buffer for page-sized copies, and keeps the one lookup of a plain free. */
static inline size_t run_offset(size_t size)
{
    return size > largest_object && size > page_mask && size <= SIZE_MAX / 2 && (-size & page_mask) >= RUN_OFFSET ? RUN_OFFSET : 0;
}

static inline uintptr_t run_tag(void *p) { return (uintptr_t)p ^ tag_secret; }

/* The run under an offset block p (see run_offset), or NULL when p is not one. Reads the run's first word only for a
 * pointer inside the heap's reservation, which is mapped whole. */
static inline void *offset_run(void *p)
{
    if (LIKELY(((uintptr_t)p & page_mask) != RUN_OFFSET) || !owned(p)) return NULL;
    uintptr_t *run = (uintptr_t *)((char *)p - RUN_OFFSET);
    return *run == run_tag(p) ? run : NULL;
}

/* A heap block from bsm_malloc(size + offset): the tag written, the program's pointer answered. */
static inline void *place(void *run, size_t offset)
{
    if (offset == 0 || run == NULL) return run;
    void *p = (char *)run + offset;
    *(uintptr_t *)run = run_tag(p);
    return p;
}

/* Frees the run of an offset block: the tag cleared first, so that a second free of the block is no longer taken for
 * one. Answers what the heap answered. */
static int free_run(void *run)
{
    uintptr_t tag = *(uintptr_t *)run;
    *(uintptr_t *)run = 0;
    int status = bsm_free_run(run);
    if (status != BSM_DONE) *(uintptr_t *)run = tag;       /* not a live run after all: leave the memory as it was */
    return status;
}

/* Frees any pointer inside the heap: an offset block's run, or the block itself. A pointer that only looked like an
 * offset block (its page's first word happened to match) is freed as itself. */
static inline int free_block(void *p)
{
    void *run = offset_run(p);
    if (LIKELY(run == NULL)) return bsm_free(p);
    int status = free_run(run);
    return status == BSM_INVALID ? bsm_free(p) : status;
}

/* A bad pointer: one line on stderr, as glibc reports a corrupted heap, then SIGABRT unless told to go on. Formats
 * into the stack and writes once: nothing here allocates. */
static __attribute__((noinline, cold)) void report_invalid(const char *call, void *p)
{
    char line[192];
    int n = snprintf(line, sizeof line, "buddyslab-malloc: %s(%p): invalid pointer (not a live block of the heap: freed "
                     "already, inside a block, or never handed out)%s\n", call, p, abort_on_error ? "" : "; ignored");
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) { /* nowhere to say it */ }
    atomic_fetch_add_explicit(&invalid_pointers, 1, memory_order_relaxed);
    if (abort_on_error) abort();
}

static void defer(void *p)
{
    void *head = atomic_load_explicit(&deferred, memory_order_relaxed);
    do *(void **)p = head;
    while (!atomic_compare_exchange_weak_explicit(&deferred, &head, p, memory_order_release, memory_order_relaxed));
}

static void register_thread(void)
{
    self.busy = 1;                                          /* pthread_setspecific may allocate: glibc serves it */
    pthread_setspecific(exit_key, &self);
    self.busy = 0;
    pthread_mutex_lock(&registry_mutex);
    self.next = threads;
    self.prev = NULL;
    if (threads) threads->prev = &self;
    threads = &self;
    self.state = THREAD_LIVE;
    pthread_mutex_unlock(&registry_mutex);
}

/* Marks the thread inside the heap; 0 when the call must go to glibc instead. */
static __attribute__((noinline)) int enter_slow(void)
{
    if (self.busy || !ready || self.state >= THREAD_GONE) return 0;
    if (self.state == THREAD_NEW) register_thread();
    for (;;)
    {
        self.busy = 1;
        if (fence_needed) atomic_thread_fence(memory_order_seq_cst);
        else atomic_signal_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&fork_gate, memory_order_relaxed)) return 1;
        self.busy = 0;                                      /* a fork is under way: wait it out outside the heap */
        pthread_mutex_lock(&fork_mutex);
        pthread_mutex_unlock(&fork_mutex);
    }
}

static inline int enter(void)
{
    if (LIKELY(!self.busy && self.state == THREAD_LIVE && !fence_needed))
    {
        self.busy = 1;
        atomic_signal_fence(memory_order_seq_cst);
        if (LIKELY(!atomic_load_explicit(&fork_gate, memory_order_relaxed))) return 1;
        self.busy = 0;
    }
    return enter_slow();
}

static __attribute__((noinline)) void drain_deferred(void)
{
    for (void *p = atomic_exchange_explicit(&deferred, NULL, memory_order_acquire), *next; p; p = next)
    {
        next = *(void **)p;
        if (free_block(p) == BSM_INVALID) report_invalid("free", p);
    }
}

static inline void leave(void)
{
    if (UNLIKELY(atomic_load_explicit(&deferred, memory_order_relaxed) != NULL)) drain_deferred();
    __atomic_store_n(&self.busy, 0, __ATOMIC_RELEASE);
}

static __attribute__((noinline, cold)) void *out_of_memory(void)
{
    errno = ENOMEM;
    return NULL;
}

API void *malloc(size_t size)
{
    if (UNLIKELY(!enter())) return __libc_malloc(size);
    size_t offset = run_offset(size);
    void *p = place(bsm_malloc(size + offset), offset);
    leave();
    return LIKELY(p != NULL) ? p : out_of_memory();
}

static __attribute__((noinline)) void free_elsewhere(void *p)
{
    if (ready && owned(p)) defer(p);                        /* the heap's, where the heap cannot be entered */
    else __libc_free(p);
}

API void free(void *p)
{
    if (p == NULL) return;
    int saved = errno;                                      /* free never changes errno */
    if (UNLIKELY(!enter())) { free_elsewhere(p); errno = saved; return; }
    int status = free_block(p);
    leave();
    if (UNLIKELY(status != BSM_DONE))
    {
        if (status == BSM_FOREIGN) { atomic_fetch_add_explicit(&foreign_calls, 1, memory_order_relaxed); __libc_free(p); }
        else report_invalid("free", p);
    }
    errno = saved;
}

static void *aligned(size_t alignment, size_t size)
{
    if (alignment <= 8) return malloc(size);
    if (UNLIKELY(!enter())) return __libc_memalign(alignment, size);
    void *p = bsm_memalign(alignment, size);
    leave();
    return LIKELY(p != NULL) ? p : out_of_memory();
}

API void *calloc(size_t count, size_t size)
{
    size_t bytes;
    if (UNLIKELY(__builtin_mul_overflow(count, size, &bytes))) return out_of_memory();
    if (UNLIKELY(!enter())) return __libc_calloc(count, size);
    size_t offset = run_offset(bytes);
    void *p = place(bsm_malloc(bytes + offset), offset);
    leave();
    if (UNLIKELY(p == NULL)) return out_of_memory();
    return memset(p, 0, bytes);
}

/* realloc of a heap block where the heap cannot be entered (an exiting thread): a glibc copy, the block parked. The
 * copy reads at most to the end of the reservation, which is mapped whole. */
static __attribute__((noinline)) void *realloc_elsewhere(void *p, size_t size)
{
    if (!ready || !owned(p)) return __libc_realloc(p, size);
    void *moved = __libc_malloc(size);
    if (moved == NULL) return NULL;
    memcpy(moved, p, size < heap_hi - (uintptr_t)p ? size : heap_hi - (uintptr_t)p);
    defer(p);
    return moved;
}

/* realloc of an offset block (see run_offset), inside the heap: in place while the run holds the new size and the size
 * keeps at least half the block, else a new block (offset or not, as malloc would give it), the bytes copied and the
 * run freed. */
static void *realloc_run(void *p, void *run, size_t size, int *invalid)
{
    int status = BSM_DONE;
    size_t usable = bsm_usable_size(run, &status);
    if (UNLIKELY(status != BSM_DONE || usable <= largest_object + RUN_OFFSET)) { *invalid = 1; return NULL; }
    usable -= RUN_OFFSET;
    if (size <= usable && size >= usable / 2) return p;
    size_t offset = run_offset(size);
    void *moved = place(bsm_malloc(size + offset), offset);
    if (moved == NULL) return NULL;
    memcpy(moved, p, size < usable ? size : usable);
    free_run(run);
    return moved;
}

API void *realloc(void *p, size_t size)
{
    if (p == NULL) return malloc(size);
    if (size == 0) { free(p); return NULL; }                /* glibc: frees and answers NULL */
    if (UNLIKELY(!enter())) return realloc_elsewhere(p, size);
    void *run = offset_run(p);
    if (UNLIKELY(run != NULL))
    {
        int invalid = 0;
        void *q = realloc_run(p, run, size, &invalid);
        leave();
        if (q != NULL) return q;
        if (invalid) report_invalid("realloc", p);
        return out_of_memory();
    }
    int status = BSM_DONE;
    void *q = bsm_realloc(p, size, &status);
    leave();
    if (LIKELY(q != NULL)) return q;
    if (status == BSM_FOREIGN) { atomic_fetch_add_explicit(&foreign_calls, 1, memory_order_relaxed); return __libc_realloc(p, size); }
    if (status == BSM_INVALID) report_invalid("realloc", p);
    return out_of_memory();                                 /* the block stays as it was */
}

API void *reallocarray(void *p, size_t count, size_t size)
{
    size_t bytes;
    if (UNLIKELY(__builtin_mul_overflow(count, size, &bytes))) return out_of_memory();
    return realloc(p, bytes);
}

API int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    int saved = errno;
    void *p = aligned(alignment, size);
    if (p == NULL) { errno = saved; return ENOMEM; }
    *out = p;
    return 0;
}

API void *aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) { errno = EINVAL; return NULL; }
    return aligned(alignment, size);
}

API void *memalign(size_t alignment, size_t size)
{
    if (alignment > SIZE_MAX / 2 + 1) { errno = EINVAL; return NULL; }
    if (alignment & (alignment - 1)) alignment = (size_t)1 << (64 - __builtin_clzl(alignment));   /* glibc rounds up */
    return aligned(alignment, size);
}

API void *valloc(size_t size) { return aligned((size_t)sysconf(_SC_PAGESIZE), size); }

API void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), rounded;
    if (UNLIKELY(__builtin_add_overflow(size, page - 1, &rounded))) return out_of_memory();
    rounded &= ~(page - 1);
    return aligned(page, rounded ? rounded : page);
}

API size_t malloc_usable_size(void *p)
{
    if (p == NULL) return 0;
    if (UNLIKELY(!enter())) return ready && owned(p) ? 0 : libc_usable_size(p);
    int status = BSM_DONE;
    void *run = offset_run(p);
    size_t n = LIKELY(run == NULL) ? bsm_usable_size(p, &status) : bsm_usable_size(run, &status) - RUN_OFFSET;
    leave();
    if (UNLIKELY(status == BSM_FOREIGN)) return libc_usable_size(p);
    if (UNLIKELY(status == BSM_INVALID)) report_invalid("malloc_usable_size", p);
    return n;
}

/* fork: no program thread inside the heap, and every heap lock held, while the address space is copied. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&fork_mutex);
    pthread_mutex_lock(&registry_mutex);
    atomic_store(&fork_gate, 1);
    if (!fence_needed) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (struct thread_state *t = threads; t; t = t->next)
        while (t != &self && __atomic_load_n(&t->busy, __ATOMIC_ACQUIRE)) sched_yield();
    int was = self.busy;
    self.busy = 1;
    bsm_fork_prepare();
    self.busy = was;
}

static void fork_parent(void)
{
    int was = self.busy;
    self.busy = 1;
    bsm_fork_parent();
    self.busy = was;
    atomic_store(&fork_gate, 0);
    pthread_mutex_unlock(&registry_mutex);
    pthread_mutex_unlock(&fork_mutex);
}

static void fork_child(void)
{
    threads = NULL;                                         /* only this thread goes on in the child */
    if (self.state == THREAD_LIVE) { self.next = self.prev = NULL; threads = &self; }
    if (!fence_needed) syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
    int was = self.busy;
    self.busy = 1;
    bsm_fork_child();
    self.busy = was;
    atomic_store(&fork_gate, 0);
    pthread_mutex_init(&registry_mutex, NULL);
    pthread_mutex_init(&fork_mutex, NULL);
}

/* Thread exit (a pthread key destructor: the key is created before the runtime's, so it runs first). */
static void thread_exit(void *unused)
{
    (void)unused;
    if (enter()) { bsm_thread_exit(); leave(); }
    self.state = THREAD_GONE;                               /* from now on: glibc, and deferred frees */
    pthread_mutex_lock(&registry_mutex);
    if (self.prev) self.prev->next = self.next; else threads = self.next;
    if (self.next) self.next->prev = self.prev;
    pthread_mutex_unlock(&registry_mutex);
}

/* Every thread the runtime creates (its references to pthread_create are linked to this with --wrap) is a runtime
 * thread from its first instruction, before it can call malloc. The program's pthread_create is not affected. */
struct runtime_start { void *(*start)(void *); void *arg; };
extern int __real_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static void *runtime_thread(void *arg)
{
    self.state = THREAD_RUNTIME;
    struct runtime_start s = *(struct runtime_start *)arg;
    __libc_free(arg);
    return s.start(s.arg);
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    struct runtime_start *s = __libc_malloc(sizeof *s);
    if (s == NULL) return EAGAIN;
    s->start = start;
    s->arg = arg;
    int result = __real_pthread_create(thread, attr, runtime_thread, s);
    if (result != 0) __libc_free(s);
    return result;
}

/* For bench/programs/malloc_pair.c: the cost of a malloc + free pair taken apart (see BenchmarkExports.cs). */
API void buddyslab_malloc_empty_call(void)
{
    if (enter()) { bsm_empty_call(); leave(); }
}

API void buddyslab_malloc_managed_pairs(long pairs, size_t size)
{
    if (enter()) { bsm_managed_pairs(pairs, size); leave(); }
}

static void print_statistics(void)
{
    if (enter())
    {
        bsm_print_statistics(atomic_load(&foreign_calls), atomic_load(&invalid_pointers));
        leave();
    }
}

__attribute__((constructor)) static void start(void)
{
    self.busy = 1;                                          /* everything the start allocates comes from glibc */
    const char *on_error = getenv("BUDDYSLAB_MALLOC_ON_ERROR");
    abort_on_error = !(on_error && strcmp(on_error, "ignore") == 0);
    libc_usable_size = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    fence_needed = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0;
    size_t heap_page = 0, heap_largest = 0;
    if (libc_usable_size == NULL || pthread_key_create(&exit_key, thread_exit) != 0
        || bsm_initialize(&heap_lo, &heap_hi, &heap_page, &heap_largest) != 0)
    {
        self.busy = 0;
        return;                                             /* no heap: glibc serves the whole process */
    }
    const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);   /* 16 bytes the kernel chose */
    if (random) memcpy(&tag_secret, random + 8, sizeof tag_secret);
    tag_secret ^= (uintptr_t)&tag_secret ^ ((uintptr_t)getpid() << 32);
    page_mask = heap_page - 1;
    largest_object = heap_largest;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    const char *stats = getenv("BUDDYSLAB_MALLOC_STATS");
    if (stats && strcmp(stats, "1") == 0) atexit(print_statistics);
    self.busy = 0;
    ready = 1;
}
