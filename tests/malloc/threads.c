/* 2,000 short-lived threads created by native code, 4 at a time; each allocates and frees 4,000 small and
 * 40 page-sized blocks and exits. Prints the wall time and the peak RSS, the figures run.sh compares with glibc's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { THREADS = 2000, AT_ONCE = 4, SMALL = 4000, LARGE = 40 };

static void *work(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *small[SMALL], *large[LARGE];
    for (int i = 0; i < SMALL; i++)
    {
        small[i] = malloc(8 + rand_r(&seed) % 1024);
        memset(small[i], i, 8);
    }
    for (int i = 0; i < LARGE; i++) large[i] = calloc(1, 4096 + rand_r(&seed) % 60000);
    for (int i = 0; i < SMALL; i++) free(small[i]);
    for (int i = 0; i < LARGE; i++) free(large[i]);
    return NULL;
}

int main(void)
{
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int done = 0; done < THREADS; done += AT_ONCE)
    {
        pthread_t t[AT_ONCE];
        for (int i = 0; i < AT_ONCE; i++) pthread_create(&t[i], NULL, work, (void *)(size_t)(done + i + 1));
        for (int i = 0; i < AT_ONCE; i++) pthread_join(t[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("threads: %d threads in %.2f s, peak RSS %ld KiB\n", THREADS,
           (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9, usage.ru_maxrss);
    return 0;
}
