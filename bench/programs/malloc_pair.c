/* The cost of one malloc(64) + free pair, on whichever malloc the process runs with (LD_PRELOAD).
 * Usage: malloc_pair [pairs] [pair|empty|managed]; prints the best of 5 runs in ns.
 *   pair     malloc(64) + free through the C API (any allocator)
 *   empty    an empty call into libbuddyslab-malloc.so, entered as malloc enters it: what each of the pair's two calls
 *            pays to reach the heap and come back (needs the library preloaded)
 *   managed  the pair's work inside the heap with no transition: the loop runs in managed code (needs the library) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long pairs = argc > 1 ? atol(argv[1]) : 20000000;
    const char *mode = argc > 2 ? argv[2] : "pair";
    void (*empty_call)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "buddyslab_malloc_empty_call");
    void (*managed_pairs)(long, size_t) = (void (*)(long, size_t))dlsym(RTLD_DEFAULT, "buddyslab_malloc_managed_pairs");
    if ((strcmp(mode, "empty") == 0 && !empty_call) || (strcmp(mode, "managed") == 0 && !managed_pairs))
    {
        fprintf(stderr, "malloc_pair: %s needs libbuddyslab-malloc.so preloaded\n", mode);
        return 2;
    }
    double best = 1e30;
    for (int run = 0; run < 5; run++)
    {
        double start = now();
        if (strcmp(mode, "empty") == 0)
            for (long i = 0; i < pairs; i++) empty_call();
        else if (strcmp(mode, "managed") == 0)
            managed_pairs(pairs, 64);
        else
            for (long i = 0; i < pairs; i++)
            {
                void *p = malloc(64);
                __asm__ volatile("" : : "r"(p) : "memory");     /* the pair may not be optimized away */
                free(p);
            }
        double ns = (now() - start) * 1e9 / (double)pairs;
        if (ns < best) best = ns;
    }
    printf("%.1f\n", best);
    return 0;
}
