// The streamed product C ← α A Bᵀ + β C for a few rows of A (Sources/Equilibrium/LinearAlgebra/
// BLAS.swift, `streamedProduct`): a batch of B ≤ 16 states times a d × d weight, the product
// every dense cell evaluates. OpenBLAS 0.3.21's GEMM packs the weight on every call, which at
// B = 8 costs more than the multiply-adds (issue 13: `dgemm_incopy` 31 % of a d = 2048, B = 8
// solve); here every row of B is read from memory once and used for all rows of A.
//
// Every entry cᵢⱼ = α sᵢⱼ (+ β cᵢⱼ) has the same sum sᵢⱼ whatever the blocking, the column range
// or the number of rows: four partial sums, entry l in sum l mod 4 for l < 4⌊k/4⌋, each an
// FMA chain in order of l; then ((p₀ + p₁) + (p₂ + p₃)); then the remaining l by FMA in order.
// So results do not depend on the thread split or on which other rows are in the batch.
#include "EquilibriumKernels.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

int eqk_fma_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
}

#define EQK_TARGET __attribute__((target("avx2,fma")))

/// ((p₀ + p₁) + (p₂ + p₃)) + the tail Σ_{l ≥ k4} aₗ bₗ by FMA in order of l.
EQK_TARGET
static inline double finish(__m256d p, const double *a, const double *b, int64_t k4, int64_t k) {
    double lanes[4];
    _mm256_storeu_pd(lanes, p);
    __m128d s = _mm_set_sd((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));
    for (int64_t l = k4; l < k; l++) s = _mm_fmadd_sd(_mm_set_sd(a[l]), _mm_set_sd(b[l]), s);
    return _mm_cvtsd_f64(s);
}

EQK_TARGET
static inline void put(double *c, double alpha, double beta, double s) {
    *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
}

/// One entry: the sum of a (row of A) and b (row of B), in the order stated above.
EQK_TARGET
static inline double dot(const double *a, const double *b, int64_t k) {
    int64_t k4 = k & ~(int64_t)3;
    __m256d p = _mm256_setzero_pd();
    for (int64_t l = 0; l < k4; l += 4) p = _mm256_fmadd_pd(_mm256_loadu_pd(a + l), _mm256_loadu_pd(b + l), p);
    return finish(p, a, b, k4, k);
}

EQK_TARGET
void eqk_streamed_product(int64_t m, int64_t k, double alpha, const double *a, int64_t lda,
                          const double *b, int64_t ldb, double beta, double *c, int64_t ldc,
                          int64_t j0, int64_t j1) {
    const int64_t k4 = k & ~(int64_t)3;
    int64_t j = j0;
    // Three rows of B against four rows of A: twelve partial-sum vectors, three loads of B and
    // four of A per twelve FMAs. The three rows (3 k doubles) stay in L1/L2 across the row groups.
    for (; j + 3 <= j1; j += 3) {
        const double *b0 = b + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb;
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) {
            const double *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            __m256d p00 = _mm256_setzero_pd(), p01 = p00, p02 = p00, p03 = p00,
                    p10 = p00, p11 = p00, p12 = p00, p13 = p00,
                    p20 = p00, p21 = p00, p22 = p00, p23 = p00;
            for (int64_t l = 0; l < k4; l += 4) {
                __m256d v0 = _mm256_loadu_pd(b0 + l), v1 = _mm256_loadu_pd(b1 + l), v2 = _mm256_loadu_pd(b2 + l), x;
                x = _mm256_loadu_pd(a0 + l);
                p00 = _mm256_fmadd_pd(x, v0, p00); p10 = _mm256_fmadd_pd(x, v1, p10); p20 = _mm256_fmadd_pd(x, v2, p20);
                x = _mm256_loadu_pd(a1 + l);
                p01 = _mm256_fmadd_pd(x, v0, p01); p11 = _mm256_fmadd_pd(x, v1, p11); p21 = _mm256_fmadd_pd(x, v2, p21);
                x = _mm256_loadu_pd(a2 + l);
                p02 = _mm256_fmadd_pd(x, v0, p02); p12 = _mm256_fmadd_pd(x, v1, p12); p22 = _mm256_fmadd_pd(x, v2, p22);
                x = _mm256_loadu_pd(a3 + l);
                p03 = _mm256_fmadd_pd(x, v0, p03); p13 = _mm256_fmadd_pd(x, v1, p13); p23 = _mm256_fmadd_pd(x, v2, p23);
            }
            double *c0 = c + i * ldc + j, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
            put(c0, alpha, beta, finish(p00, a0, b0, k4, k));
            put(c0 + 1, alpha, beta, finish(p10, a0, b1, k4, k));
            put(c0 + 2, alpha, beta, finish(p20, a0, b2, k4, k));
            put(c1, alpha, beta, finish(p01, a1, b0, k4, k));
            put(c1 + 1, alpha, beta, finish(p11, a1, b1, k4, k));
            put(c1 + 2, alpha, beta, finish(p21, a1, b2, k4, k));
            put(c2, alpha, beta, finish(p02, a2, b0, k4, k));
            put(c2 + 1, alpha, beta, finish(p12, a2, b1, k4, k));
            put(c2 + 2, alpha, beta, finish(p22, a2, b2, k4, k));
            put(c3, alpha, beta, finish(p03, a3, b0, k4, k));
            put(c3 + 1, alpha, beta, finish(p13, a3, b1, k4, k));
            put(c3 + 2, alpha, beta, finish(p23, a3, b2, k4, k));
        }
        // The last one to three rows of A: three partial sums per row.
        for (; i < m; i++) {
            const double *x = a + i * lda;
            __m256d p0 = _mm256_setzero_pd(), p1 = p0, p2 = p0;
            for (int64_t l = 0; l < k4; l += 4) {
                __m256d v = _mm256_loadu_pd(x + l);
                p0 = _mm256_fmadd_pd(v, _mm256_loadu_pd(b0 + l), p0);
                p1 = _mm256_fmadd_pd(v, _mm256_loadu_pd(b1 + l), p1);
                p2 = _mm256_fmadd_pd(v, _mm256_loadu_pd(b2 + l), p2);
            }
            double *ci = c + i * ldc + j;
            put(ci, alpha, beta, finish(p0, x, b0, k4, k));
            put(ci + 1, alpha, beta, finish(p1, x, b1, k4, k));
            put(ci + 2, alpha, beta, finish(p2, x, b2, k4, k));
        }
    }
    for (; j < j1; j++)
        for (int64_t i = 0; i < m; i++) put(c + i * ldc + j, alpha, beta, dot(a + i * lda, b + j * ldb, k));
}

#else

int eqk_fma_available(void) { return 0; }
void eqk_streamed_product(int64_t m, int64_t k, double alpha, const double *a, int64_t lda,
                          const double *b, int64_t ldb, double beta, double *c, int64_t ldc,
                          int64_t j0, int64_t j1) {
    (void)m; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc; (void)j0; (void)j1;
}

#endif
