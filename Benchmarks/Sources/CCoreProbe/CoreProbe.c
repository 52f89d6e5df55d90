// Cross-core latency probe for the benchmarks (Benchmarks/README.md, "Two-thread timings and vCPU
// placement"): on a virtual machine the hypervisor may place the two vCPUs on cores that share a
// cache (a round trip of about 60 ns on the issue-13 machine) or farther apart (about 200 or
// 390 ns), and changes that between runs; two-thread work that passes data between the cores
// slows by up to 2.5× at 390 ns. The benchmarks print this figure so that each run says which
// placement it had.
#define _GNU_SOURCE
#include "CoreProbe.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct probe {
    _Alignas(64) _Atomic long turn;
    int cpu;
    int trips;
    int pinned;
};

static int pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

static void *partner(void *argument) {
    struct probe *p = argument;
    p->pinned = pin(p->cpu);
    for (long i = 0; i < p->trips; i++) {
        while (atomic_load_explicit(&p->turn, memory_order_acquire) != 2 * i + 1) {}
        atomic_store_explicit(&p->turn, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double core_probe_round_trip_ns(int trips, int repeats) {
    cpu_set_t allowed;
    if (trips < 1 || repeats < 1 || repeats > 64 || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    int cpus[2], found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
        if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
    if (found < 2) return -1;
    double results[64];
    // The calling thread is pinned for the probe and given its former affinity back after.
    for (int r = 0; r < repeats; r++) {
        struct probe p = {.turn = 0, .cpu = cpus[1], .trips = trips, .pinned = 0};
        cpu_set_t before;
        pthread_getaffinity_np(pthread_self(), sizeof before, &before);
        if (!pin(cpus[0])) return -1;
        pthread_t thread;
        if (pthread_create(&thread, NULL, partner, &p) != 0) {
            pthread_setaffinity_np(pthread_self(), sizeof before, &before);
            return -1;
        }
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (long i = 0; i < trips; i++) {
            while (atomic_load_explicit(&p.turn, memory_order_acquire) != 2 * i) {}
            atomic_store_explicit(&p.turn, 2 * i + 1, memory_order_release);
        }
        while (atomic_load_explicit(&p.turn, memory_order_acquire) != 2L * trips) {}
        clock_gettime(CLOCK_MONOTONIC, &end);
        pthread_join(thread, NULL);
        pthread_setaffinity_np(pthread_self(), sizeof before, &before);
        if (!p.pinned) return -1;
        results[r] = ((double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec)) / trips;
    }
    qsort(results, (size_t)repeats, sizeof results[0], compare);
    return results[repeats / 2];
}
