#ifndef EQUILIBRIUM_KERNELS_H
#define EQUILIBRIUM_KERNELS_H

#include <stdint.h>

/// 1 when this CPU runs the AVX2 kernels below (the CPUID instruction), else 0; the kernels must
/// not be called when it is 0. Swift reads it once (`BLAS.SmallProductKernels.avx2Available`).
int eqk_avx2_available(void);

/// y ← α A x + β y (β = 0: y ← α A x, y not read) for a row-major m × n matrix A with row stride
/// lda. Row i's dot product is formed exactly as `BLAS.vectorDot` forms it (eight partial sums,
/// entry j in sum j mod 8, lanes added in order, then the scalar tail), so the results are bitwise
/// those of the Swift loops. AVX2, no fused multiply-add.
void eqk_gemv_rows(int64_t m, int64_t n, double alpha, const double *a, int64_t lda,
                   const double *x, double beta, double *y);

/// y₁ ← A x₁ and y₂ ← A x₂ for a row-major m × n matrix A, A read once for both: every entry
/// bitwise what `eqk_gemv_rows` (α = 1, β = 0) gives for that product alone. AVX2, no FMA.
void eqk_gemv_rows_pair(int64_t m, int64_t n, const double *a, int64_t lda,
                        const double *x1, double *y1, const double *x2, double *y2);

/// y ← y + Σᵢ sᵢ Aᵢ, s = α x, rows added one after another for every entry (the order of
/// `BLAS.gemv(.transpose)`'s loops, so bitwise its results); y must already hold β y.
/// AVX2, no fused multiply-add.
void eqk_gemv_columns(int64_t m, int64_t n, double alpha, const double *a, int64_t lda,
                      const double *x, double *y);

/// y ← A x and w ← w + Aᵀ u for a row-major m × n matrix A, A read once for both: y bitwise what
/// `eqk_gemv_rows` (α = 1, β = 0) gives, w bitwise what `eqk_gemv_columns` (α = 1) gives.
/// AVX2, no FMA.
void eqk_gemv_rows_and_columns(int64_t m, int64_t n, const double *a, int64_t lda,
                               const double *x, double *y, const double *u, double *w);

/// 1 when this CPU has AVX2 and FMA (CPUID), the condition of `eqk_streamed_product`; else 0.
int eqk_fma_available(void);

/// Columns j0 ..< j1 of C ← α A Bᵀ + β C (β = 0: C not read) for row-major A (m × k, row stride
/// lda), B (n × k, ldb) and C (m × n, ldc). Each entry's sum is formed in one fixed order
/// (streamed_product.c), whatever m, the column range or the blocking. AVX2 with FMA.
void eqk_streamed_product(int64_t m, int64_t k, double alpha, const double *a, int64_t lda,
                          const double *b, int64_t ldb, double beta, double *c, int64_t ldc,
                          int64_t j0, int64_t j1);

#endif
