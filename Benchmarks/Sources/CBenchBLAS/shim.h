// Bare CBLAS from OpenBLAS (Debian: libopenblas-dev) for the benchmarks' own reference calls
// (roofline, GEMM throughput, thread counts). The benchmarks are a separate package and do not
// see Equilibrium's `package` BLAS wrapper, so they call the C library directly.
#include <cblas.h>
