/*
 * The C face of libbuddyslab-malloc.so: owns glibc's malloc API and forwards it to the heap's managed entry points
 * (bsm_*, UnmanagedCallersOnly methods linked into the same library). These symbols are exported unversioned, so they
 * interpose malloc@GLIBC_2.2.5 and friends.
 *
 * Invariants:
 * - A call goes to the heap only from a registered live thread that is not already inside the heap (self.busy == 0)
 *   and only after the constructor started the runtime; every other call (from the heap or the runtime themselves,
 *   before the constructor, on an exiting thread) is served by glibc's __libc_* functions.
 * - A pointer the heap does not own always reaches glibc; one it owns never does: frees of the heap's pointers that
 *   cannot enter the heap (inside it, or on an exiting thread) are parked on a lock-free list the next call drains.
 * - fork: the prepare handler closes a gate and waits until no thread is inside the heap, so the child never sees a
 *   heap lock held by a thread that no longer exists. Entering threads publish busy before reading the gate; the
 *   forking thread's membarrier makes the pair a full barrier without a fence on the fast path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dlfcn.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* Address ranges [start, end) of the heap's sections, kept up to date by the managed side. */
struct bsm_ranges { volatile intptr_t count; uintptr_t bounds[2 * 64]; };

extern int bsm_initialize(struct bsm_ranges *ranges);      /* 0 when the heap is ready */
extern void *bsm_malloc(size_t size);                       /* NULL when out of memory */
extern void *bsm_memalign(size_t alignment, size_t size);   /* alignment: a power of two above 8 */
extern int bsm_free(void *p);                               /* 0 freed (or a bad free reported), 1 not the heap's */
extern void *bsm_realloc(void *p, size_t size, int *foreign);
extern size_t bsm_usable_size(void *p, int *foreign);
extern void bsm_fork_prepare(void), bsm_fork_parent(void), bsm_fork_child(void);
extern void bsm_thread_exit(void);
extern void bsm_print_statistics(void);

/* THREAD_RUNTIME: a thread the runtime started for itself (named ".NET ..."), which may call malloc while it attaches
 * to the runtime, holding locks the attach takes again: glibc serves it, like an exiting thread. */
enum { THREAD_NEW, THREAD_LIVE, THREAD_GONE, THREAD_RUNTIME };
struct thread_state { int busy; int state; struct thread_state *next, *prev; };

static __thread struct thread_state self __attribute__((tls_model("initial-exec")));
static struct bsm_ranges ranges;
static int ready;
static pthread_key_t exit_key;
static size_t (*libc_usable_size)(void *);
static int fence_needed;                                    /* no expedited membarrier: fence on entry instead */
static atomic_int fork_gate;
static pthread_mutex_t fork_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct thread_state *threads;                        /* registered live threads, under registry_mutex */
static _Atomic(void *) deferred;                            /* heap blocks freed where the heap could not be entered */

static int owned(void *p)
{
    intptr_t n = ranges.count;
    for (intptr_t i = 0; i < n; i++)
        if ((uintptr_t)p - ranges.bounds[2 * i] < ranges.bounds[2 * i + 1] - ranges.bounds[2 * i]) return 1;
    return 0;
}

static void defer(void *p)
{
    void *head = atomic_load_explicit(&deferred, memory_order_relaxed);
    do *(void **)p = head;
    while (!atomic_compare_exchange_weak_explicit(&deferred, &head, p, memory_order_release, memory_order_relaxed));
}

static void register_thread(void)
{
    char name[16] = { 0 };
    if (prctl(PR_GET_NAME, name) == 0 && strncmp(name, ".NET ", 5) == 0) { self.state = THREAD_RUNTIME; return; }
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
    if (self.state == THREAD_NEW && (register_thread(), self.state != THREAD_LIVE)) return 0;
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
        if (bsm_free(p)) __libc_free(p);
    }
}

static inline void leave(void)
{
    if (UNLIKELY(atomic_load_explicit(&deferred, memory_order_relaxed) != NULL)) drain_deferred();
    __atomic_store_n(&self.busy, 0, __ATOMIC_RELEASE);
}

API void *malloc(size_t size)
{
    if (UNLIKELY(!enter())) return __libc_malloc(size);
    void *p = bsm_malloc(size);
    leave();
    if (UNLIKELY(p == NULL)) errno = ENOMEM;
    return p;
}

API void free(void *p)
{
    if (p == NULL) return;
    int saved = errno;                                      /* free never changes errno */
    if (UNLIKELY(!enter())) { if (ready && owned(p)) defer(p); else __libc_free(p); errno = saved; return; }
    int foreign = bsm_free(p);
    leave();
    if (UNLIKELY(foreign)) __libc_free(p);
    errno = saved;
}

static void *aligned(size_t alignment, size_t size)
{
    if (alignment <= 8) return malloc(size);
    if (UNLIKELY(!enter())) return __libc_memalign(alignment, size);
    void *p = bsm_memalign(alignment, size);
    leave();
    if (UNLIKELY(p == NULL)) errno = ENOMEM;
    return p;
}

API void *calloc(size_t count, size_t size)
{
    size_t bytes;
    if (UNLIKELY(__builtin_mul_overflow(count, size, &bytes))) { errno = ENOMEM; return NULL; }
    if (UNLIKELY(!enter())) return __libc_calloc(count, size);
    void *p = bsm_malloc(bytes);
    leave();
    if (UNLIKELY(p == NULL)) { errno = ENOMEM; return NULL; }
    return memset(p, 0, bytes);
}

API void *realloc(void *p, size_t size)
{
    if (p == NULL) return malloc(size);
    if (size == 0) { free(p); return NULL; }                /* glibc: frees and answers NULL */
    if (UNLIKELY(!enter()))
    {
        if (!ready || !owned(p)) return __libc_realloc(p, size);
        void *moved = __libc_malloc(size);                  /* a heap block where the heap cannot be entered */
        if (moved == NULL) return NULL;
        for (intptr_t i = 0; i < ranges.count; i++)         /* copy at most to the end of its range */
            if ((uintptr_t)p - ranges.bounds[2 * i] < ranges.bounds[2 * i + 1] - ranges.bounds[2 * i])
                memcpy(moved, p, size < ranges.bounds[2 * i + 1] - (uintptr_t)p ? size : ranges.bounds[2 * i + 1] - (uintptr_t)p);
        defer(p);
        return moved;
    }
    int foreign = 0;
    void *q = bsm_realloc(p, size, &foreign);
    leave();
    if (UNLIKELY(foreign)) return __libc_realloc(p, size);
    if (UNLIKELY(q == NULL)) errno = ENOMEM;
    return q;
}

API void *reallocarray(void *p, size_t count, size_t size)
{
    size_t bytes;
    if (UNLIKELY(__builtin_mul_overflow(count, size, &bytes))) { errno = ENOMEM; return NULL; }
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
    if (UNLIKELY(__builtin_add_overflow(size, page - 1, &rounded))) { errno = ENOMEM; return NULL; }
    rounded &= ~(page - 1);
    return aligned(page, rounded ? rounded : page);
}

API size_t malloc_usable_size(void *p)
{
    if (p == NULL) return 0;
    if (UNLIKELY(!enter())) return ready && owned(p) ? 0 : libc_usable_size(p);
    int foreign = 0;
    size_t n = bsm_usable_size(p, &foreign);
    leave();
    return foreign ? libc_usable_size(p) : n;
}

/* fork: no thread may be inside the heap while the address space is copied. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&fork_mutex);
    pthread_mutex_lock(&registry_mutex);
    atomic_store(&fork_gate, 1);
    if (!fence_needed) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (struct thread_state *t = threads; t; t = t->next)
        while (t != &self && __atomic_load_n(&t->busy, __ATOMIC_ACQUIRE)) sched_yield();
    self.busy = 1;
    bsm_fork_prepare();
    self.busy = 0;
}

static void fork_parent(void)
{
    self.busy = 1;
    bsm_fork_parent();
    self.busy = 0;
    atomic_store(&fork_gate, 0);
    pthread_mutex_unlock(&registry_mutex);
    pthread_mutex_unlock(&fork_mutex);
}

static void fork_child(void)
{
    threads = NULL;                                         /* only this thread goes on in the child */
    if (self.state == THREAD_LIVE) { self.next = self.prev = NULL; threads = &self; }
    if (!fence_needed) syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
    self.busy = 1;
    bsm_fork_child();
    self.busy = 0;
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

static void print_statistics(void)
{
    if (enter()) { bsm_print_statistics(); leave(); }
}

__attribute__((constructor)) static void start(void)
{
    self.busy = 1;                                          /* everything the start allocates comes from glibc */
    libc_usable_size = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    fence_needed = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0;
    if (libc_usable_size == NULL || pthread_key_create(&exit_key, thread_exit) != 0 || bsm_initialize(&ranges) != 0)
    {
        self.busy = 0;
        return;                                             /* no heap: glibc serves the whole process */
    }
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    const char *stats = getenv("BUDDYSLAB_MALLOC_STATS");
    if (stats && strcmp(stats, "1") == 0) atexit(print_statistics);
    self.busy = 0;
    ready = 1;
}
