/* The cost of one malloc(64) + free pair, on whichever malloc the process runs with (LD_PRELOAD).
 * Usage: malloc_pair [pairs]; prints the best of 5 runs in ns per pair. */
#include <stdio.h>
#include <stdlib.h>
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
    double best = 1e30;
    for (int run = 0; run < 5; run++)
    {
        double start = now();
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
