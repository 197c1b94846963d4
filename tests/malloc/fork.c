/* 1,000 forks while 2 threads allocate and free without pause; every child allocates, frees and exits. A child that
 * has not exited 10 s after its fork counts as hung and is killed. Prints "fork: N forks, N hung". */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { FORKS = 1000 };
static atomic_int stop;

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *slots[512] = { 0 };
    while (!atomic_load(&stop))
    {
        int i = rand_r(&seed) % 512;
        free(slots[i]);
        size_t size = rand_r(&seed) % 8 == 0 ? 4096 + rand_r(&seed) % 100000 : 8 + rand_r(&seed) % 2000;
        slots[i] = malloc(size);
        memset(slots[i], 1, 8);
    }
    for (int i = 0; i < 512; i++) free(slots[i]);
    return NULL;
}

static int wait_for(pid_t pid)
{
    for (int waited_ms = 0; waited_ms < 10000; waited_ms++)
    {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 2;
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 1;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, churn, (void *)(size_t)(i + 1));
    int hung = 0, failed = 0;
    for (int i = 0; i < FORKS; i++)
    {
        void *before = malloc(100);
        pid_t pid = fork();
        if (pid == 0)
        {
            void *blocks[64];
            for (int k = 0; k < 64; k++) blocks[k] = malloc(16 + 97 * k);
            for (int k = 0; k < 64; k++) free(blocks[k]);
            free(before);
            exit(0);
        }
        free(before);
        int r = pid < 0 ? 2 : wait_for(pid);
        hung += r == 1;
        failed += r == 2;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("fork: %d forks, %d hung, %d failed\n", FORKS, hung, failed);
    return hung != 0 || failed != 0;
}
