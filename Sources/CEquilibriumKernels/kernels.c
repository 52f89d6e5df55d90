// AVX2 versions of the solvers' small matrix-vector products (Sources/Equilibrium/LinearAlgebra/
// BLAS.swift, `smallMatrixVectorProduct`). Swift compiles the package for baseline x86-64 (SSE2:
// two doubles per instruction, 16 registers), where the four-row dot products spill; these
// kernels do the same operations in the same order four doubles at a time. Multiplications and
// additions stay separate instructions (no FMA, and contraction is off), so every result is
// bitwise the Swift loops' (tested: `smallProductKernelsMatchPortableLoopsBitwise`).
#include "EquilibriumKernels.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#pragma clang fp contract(off)

int eqk_avx2_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

/// ((v₀ + v₁) + v₂) + v₃, the order of Swift's `SIMD4.sum()`.
__attribute__((target("avx2")))
static inline double sum4(__m256d v) {
    double lanes[4];
    _mm256_storeu_pd(lanes, v);
    return ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
}

__attribute__((target("avx2")))
static inline void store(double *y, double alpha, double beta, double dot) {
    *y = beta == 0 ? alpha * dot : alpha * dot + beta * *y;
}

__attribute__((target("avx2")))
void eqk_gemv_rows(int64_t m, int64_t n, double alpha, const double *a, int64_t lda,
                   const double *x, double beta, double *y) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const double *r0 = a + i * lda, *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda;
        __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256d x0 = _mm256_loadu_pd(x + j), x1 = _mm256_loadu_pd(x + j + 4);
            a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_loadu_pd(r0 + j), x0));
            a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_loadu_pd(r0 + j + 4), x1));
            b0 = _mm256_add_pd(b0, _mm256_mul_pd(_mm256_loadu_pd(r1 + j), x0));
            b1 = _mm256_add_pd(b1, _mm256_mul_pd(_mm256_loadu_pd(r1 + j + 4), x1));
            c0 = _mm256_add_pd(c0, _mm256_mul_pd(_mm256_loadu_pd(r2 + j), x0));
            c1 = _mm256_add_pd(c1, _mm256_mul_pd(_mm256_loadu_pd(r2 + j + 4), x1));
            e0 = _mm256_add_pd(e0, _mm256_mul_pd(_mm256_loadu_pd(r3 + j), x0));
            e1 = _mm256_add_pd(e1, _mm256_mul_pd(_mm256_loadu_pd(r3 + j + 4), x1));
        }
        double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (; j < n; j++) {
            t0 += r0[j] * x[j];
            t1 += r1[j] * x[j];
            t2 += r2[j] * x[j];
            t3 += r3[j] * x[j];
        }
        store(y + i, alpha, beta, sum4(_mm256_add_pd(a0, a1)) + t0);
        store(y + i + 1, alpha, beta, sum4(_mm256_add_pd(b0, b1)) + t1);
        store(y + i + 2, alpha, beta, sum4(_mm256_add_pd(c0, c1)) + t2);
        store(y + i + 3, alpha, beta, sum4(_mm256_add_pd(e0, e1)) + t3);
    }
    for (; i < m; i++) {
        const double *r = a + i * lda;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            s0 = _mm256_add_pd(s0, _mm256_mul_pd(_mm256_loadu_pd(r + j), _mm256_loadu_pd(x + j)));
            s1 = _mm256_add_pd(s1, _mm256_mul_pd(_mm256_loadu_pd(r + j + 4), _mm256_loadu_pd(x + j + 4)));
        }
        double tail = 0;
        for (; j < n; j++) tail += r[j] * x[j];
        store(y + i, alpha, beta, sum4(_mm256_add_pd(s0, s1)) + tail);
    }
}

/// Each row's two dot products, each in `eqk_gemv_rows`' order: partial sums s₀ (entries
/// j ≡ 0..3 mod 8) and s₁ (4..7), then sum4(s₀ + s₁), plus the tail summed from zero in order of j.
__attribute__((target("avx2")))
void eqk_gemv_rows_pair(int64_t m, int64_t n, const double *a, int64_t lda,
                        const double *x1, double *y1, const double *x2, double *y2) {
    int64_t i = 0;
    // Two rows per pass: eight partial-sum vectors, x₁ and x₂ loaded once for both rows.
    for (; i + 2 <= m; i += 2) {
        const double *r0 = a + i * lda, *r1 = r0 + lda;
        __m256d p0 = _mm256_setzero_pd(), p1 = p0, q0 = p0, q1 = p0, u0 = p0, u1 = p0, w0 = p0, w1 = p0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256d x10 = _mm256_loadu_pd(x1 + j), x11 = _mm256_loadu_pd(x1 + j + 4);
            __m256d x20 = _mm256_loadu_pd(x2 + j), x21 = _mm256_loadu_pd(x2 + j + 4);
            __m256d a0 = _mm256_loadu_pd(r0 + j), a1 = _mm256_loadu_pd(r0 + j + 4);
            p0 = _mm256_add_pd(p0, _mm256_mul_pd(a0, x10));
            p1 = _mm256_add_pd(p1, _mm256_mul_pd(a1, x11));
            u0 = _mm256_add_pd(u0, _mm256_mul_pd(a0, x20));
            u1 = _mm256_add_pd(u1, _mm256_mul_pd(a1, x21));
            __m256d b0 = _mm256_loadu_pd(r1 + j), b1 = _mm256_loadu_pd(r1 + j + 4);
            q0 = _mm256_add_pd(q0, _mm256_mul_pd(b0, x10));
            q1 = _mm256_add_pd(q1, _mm256_mul_pd(b1, x11));
            w0 = _mm256_add_pd(w0, _mm256_mul_pd(b0, x20));
            w1 = _mm256_add_pd(w1, _mm256_mul_pd(b1, x21));
        }
        double tp = 0, tq = 0, tu = 0, tw = 0;
        for (; j < n; j++) {
            tp += r0[j] * x1[j];
            tq += r1[j] * x1[j];
            tu += r0[j] * x2[j];
            tw += r1[j] * x2[j];
        }
        y1[i] = sum4(_mm256_add_pd(p0, p1)) + tp;
        y1[i + 1] = sum4(_mm256_add_pd(q0, q1)) + tq;
        y2[i] = sum4(_mm256_add_pd(u0, u1)) + tu;
        y2[i + 1] = sum4(_mm256_add_pd(w0, w1)) + tw;
    }
    for (; i < m; i++) {
        const double *r = a + i * lda;
        __m256d p0 = _mm256_setzero_pd(), p1 = p0, u0 = p0, u1 = p0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256d a0 = _mm256_loadu_pd(r + j), a1 = _mm256_loadu_pd(r + j + 4);
            p0 = _mm256_add_pd(p0, _mm256_mul_pd(a0, _mm256_loadu_pd(x1 + j)));
            p1 = _mm256_add_pd(p1, _mm256_mul_pd(a1, _mm256_loadu_pd(x1 + j + 4)));
            u0 = _mm256_add_pd(u0, _mm256_mul_pd(a0, _mm256_loadu_pd(x2 + j)));
            u1 = _mm256_add_pd(u1, _mm256_mul_pd(a1, _mm256_loadu_pd(x2 + j + 4)));
        }
        double tp = 0, tu = 0;
        for (; j < n; j++) {
            tp += r[j] * x1[j];
            tu += r[j] * x2[j];
        }
        y1[i] = sum4(_mm256_add_pd(p0, p1)) + tp;
        y2[i] = sum4(_mm256_add_pd(u0, u1)) + tu;
    }
}

__attribute__((target("avx2")))
void eqk_gemv_columns(int64_t m, int64_t n, double alpha, const double *a, int64_t lda,
                      const double *x, double *y) {
    int64_t i = 0;
    // Eight rows per pass over y (y loaded and stored once for eight rows instead of four); each
    // entry still adds the rows one after another, in order.
    for (; i + 8 <= m; i += 8) {
        const double *r[8];
        __m256d s[8];
        double k[8];
        for (int q = 0; q < 8; q++) {
            r[q] = a + (i + q) * lda;
            k[q] = alpha * x[i + q];
            s[q] = _mm256_set1_pd(k[q]);
        }
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            __m256d acc = _mm256_loadu_pd(y + j);
            for (int q = 0; q < 8; q++) acc = _mm256_add_pd(acc, _mm256_mul_pd(s[q], _mm256_loadu_pd(r[q] + j)));
            _mm256_storeu_pd(y + j, acc);
        }
        for (; j < n; j++) {
            double acc = y[j];
            for (int q = 0; q < 8; q++) acc += k[q] * r[q][j];
            y[j] = acc;
        }
    }
    for (; i + 4 <= m; i += 4) {
        const double *r0 = a + i * lda, *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda;
        double k0 = alpha * x[i], k1 = alpha * x[i + 1], k2 = alpha * x[i + 2], k3 = alpha * x[i + 3];
        __m256d s0 = _mm256_set1_pd(k0), s1 = _mm256_set1_pd(k1), s2 = _mm256_set1_pd(k2), s3 = _mm256_set1_pd(k3);
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            __m256d acc = _mm256_loadu_pd(y + j);
            acc = _mm256_add_pd(acc, _mm256_mul_pd(s0, _mm256_loadu_pd(r0 + j)));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(s1, _mm256_loadu_pd(r1 + j)));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(s2, _mm256_loadu_pd(r2 + j)));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(s3, _mm256_loadu_pd(r3 + j)));
            _mm256_storeu_pd(y + j, acc);
        }
        for (; j < n; j++) {
            double acc = y[j];
            acc += k0 * r0[j];
            acc += k1 * r1[j];
            acc += k2 * r2[j];
            acc += k3 * r3[j];
            y[j] = acc;
        }
    }
    for (; i < m; i++) {
        const double *r = a + i * lda;
        double k = alpha * x[i];
        for (int64_t j = 0; j < n; j++) y[j] += k * r[j];
    }
}

/// Row i's dot product with x (into y[i]) in `eqk_gemv_rows`' order, and w += u[i] · row i in
/// `eqk_gemv_columns`' order (rows added one after another for every entry), with A read once
/// for both. Four rows per pass: the four dots' partial sums and w's two vectors stay in registers.
__attribute__((target("avx2")))
void eqk_gemv_rows_and_columns(int64_t m, int64_t n, const double *a, int64_t lda,
                               const double *x, double *y, const double *u, double *w) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const double *r[4] = {a + i * lda, a + (i + 1) * lda, a + (i + 2) * lda, a + (i + 3) * lda};
        __m256d p[4][2];
        double k[4], t[4] = {0, 0, 0, 0};
        __m256d sk[4];
        for (int q = 0; q < 4; q++) {
            p[q][0] = _mm256_setzero_pd();
            p[q][1] = _mm256_setzero_pd();
            k[q] = u[i + q];  // eqk_gemv_columns' α x with α = 1, exactly x
            sk[q] = _mm256_set1_pd(k[q]);
        }
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256d x0 = _mm256_loadu_pd(x + j), x1 = _mm256_loadu_pd(x + j + 4);
            __m256d w0 = _mm256_loadu_pd(w + j), w1 = _mm256_loadu_pd(w + j + 4);
            for (int q = 0; q < 4; q++) {
                __m256d a0 = _mm256_loadu_pd(r[q] + j), a1 = _mm256_loadu_pd(r[q] + j + 4);
                p[q][0] = _mm256_add_pd(p[q][0], _mm256_mul_pd(a0, x0));
                p[q][1] = _mm256_add_pd(p[q][1], _mm256_mul_pd(a1, x1));
                w0 = _mm256_add_pd(w0, _mm256_mul_pd(sk[q], a0));
                w1 = _mm256_add_pd(w1, _mm256_mul_pd(sk[q], a1));
            }
            _mm256_storeu_pd(w + j, w0);
            _mm256_storeu_pd(w + j + 4, w1);
        }
        for (; j < n; j++) {
            double acc = w[j];
            for (int q = 0; q < 4; q++) {
                t[q] += r[q][j] * x[j];
                acc += k[q] * r[q][j];
            }
            w[j] = acc;
        }
        for (int q = 0; q < 4; q++) y[i + q] = sum4(_mm256_add_pd(p[q][0], p[q][1])) + t[q];
    }
    for (; i < m; i++) {
        const double *r = a + i * lda;
        double k = u[i];
        __m256d sk = _mm256_set1_pd(k), p0 = _mm256_setzero_pd(), p1 = p0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256d a0 = _mm256_loadu_pd(r + j), a1 = _mm256_loadu_pd(r + j + 4);
            p0 = _mm256_add_pd(p0, _mm256_mul_pd(a0, _mm256_loadu_pd(x + j)));
            p1 = _mm256_add_pd(p1, _mm256_mul_pd(a1, _mm256_loadu_pd(x + j + 4)));
            _mm256_storeu_pd(w + j, _mm256_add_pd(_mm256_loadu_pd(w + j), _mm256_mul_pd(sk, a0)));
            _mm256_storeu_pd(w + j + 4, _mm256_add_pd(_mm256_loadu_pd(w + j + 4), _mm256_mul_pd(sk, a1)));
        }
        double tail = 0;
        for (; j < n; j++) {
            tail += r[j] * x[j];
            w[j] += k * r[j];
        }
        y[i] = sum4(_mm256_add_pd(p0, p1)) + tail;
    }
}

#else

int eqk_avx2_available(void) { return 0; }
void eqk_gemv_rows(int64_t m, int64_t n, double alpha, const double *a, int64_t lda,
                   const double *x, double beta, double *y) { (void)m; (void)n; (void)alpha; (void)a; (void)lda; (void)x; (void)beta; (void)y; }
void eqk_gemv_rows_pair(int64_t m, int64_t n, const double *a, int64_t lda,
                        const double *x1, double *y1, const double *x2, double *y2) {
    (void)m; (void)n; (void)a; (void)lda; (void)x1; (void)y1; (void)x2; (void)y2;
}
void eqk_gemv_columns(int64_t m, int64_t n, double alpha, const double *a, int64_t lda,
                      const double *x, double *y) { (void)m; (void)n; (void)alpha; (void)a; (void)lda; (void)x; (void)y; }
void eqk_gemv_rows_and_columns(int64_t m, int64_t n, const double *a, int64_t lda,
                               const double *x, double *y, const double *u, double *w) {
    (void)m; (void)n; (void)a; (void)lda; (void)x; (void)y; (void)u; (void)w;
}

#endif
