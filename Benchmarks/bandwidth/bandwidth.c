// Memory read bandwidth on 1 and 2 threads (issue 13, goal 5): each thread sums its half (or all)
// of a buffer of N MiB with AVX2 loads, repeated; prints the median GB/s over 21 rounds and the
// two-thread / one-thread ratio. The d = 2048 dense cell reads its 32 MiB W once per evaluation,
// so this ratio bounds what a second core can give a memory-bound batch-8 evaluation.
//   cc -O2 -mavx2 -pthread -o bandwidth Benchmarks/bandwidth/bandwidth.c && ./bandwidth 32 64 256
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct { const double *a; size_t n; double sum; } Part;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

static void *readPart(void *p) {
    Part *part = p;
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 16 <= part->n; i += 16) {
        s0 = _mm256_add_pd(s0, _mm256_load_pd(part->a + i));
        s1 = _mm256_add_pd(s1, _mm256_load_pd(part->a + i + 4));
        s2 = _mm256_add_pd(s2, _mm256_load_pd(part->a + i + 8));
        s3 = _mm256_add_pd(s3, _mm256_load_pd(part->a + i + 12));
    }
    double out[4];
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    part->sum = out[0] + out[1] + out[2] + out[3];
    return NULL;
}

static int compare(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }

// Seconds for one read of the whole buffer by `threads` threads (each its contiguous share).
static double readOnce(const double *a, size_t n, int threads) {
    pthread_t id[2]; Part parts[2];
    double start = now();
    for (int t = 0; t < threads; t++) {
        parts[t] = (Part){ a + t * (n / threads), n / threads, 0 };
        if (t > 0) pthread_create(&id[t], NULL, readPart, &parts[t]);
    }
    readPart(&parts[0]);
    for (int t = 1; t < threads; t++) pthread_join(id[t], NULL);
    double seconds = now() - start;
    if (parts[0].sum == 12345.678) puts("");  // keep the sums alive
    return seconds;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bandwidth MiB [MiB ...]\n"); return 2; }
    printf("%8s %14s %14s %8s\n", "MiB", "1 thread GB/s", "2 threads GB/s", "ratio");
    for (int k = 1; k < argc; k++) {
        long mib = strtol(argv[k], NULL, 10);
        if (mib < 1 || mib > 4096) { fprintf(stderr, "bandwidth: MiB must be in 1...4096, got '%s'\n", argv[k]); return 2; }
        size_t n = (size_t)mib << 17;  // doubles
        double *a = aligned_alloc(64, n * sizeof(double));
        if (!a) { fprintf(stderr, "bandwidth: cannot allocate %ld MiB\n", mib); return 1; }
        for (size_t i = 0; i < n; i++) a[i] = 1e-9 * (double)(i % 1000);
        double rate[2];
        for (int threads = 1; threads <= 2; threads++) {
            double samples[21];
            readOnce(a, n, threads);
            for (int r = 0; r < 21; r++) samples[r] = n * sizeof(double) / readOnce(a, n, threads) / 1e9;
            qsort(samples, 21, sizeof(double), compare);
            rate[threads - 1] = samples[10];
        }
        printf("%8ld %14.1f %14.1f %7.2fx\n", mib, rate[0], rate[1], rate[1] / rate[0]);
        free(a);
    }
    return 0;
}
