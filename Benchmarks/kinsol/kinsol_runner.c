/*
 * kinsol-runner: SUNDIALS KINSOL on the exported tanh cells of `deq-bench kinsol` (issue 13).
 *
 * usage: kinsol-runner CELL_DIR...     (each holds W.npy, d x d, and X.npy, B x d, float64, C order)
 *
 * Every row x of X is solved alone (one sample, as deq's one-row solves) for the fixed point
 * z = f(z) = tanh(W z + x) from z0 = 0 with three KINSOL strategies:
 *   fp         KINSOL's fixed-point iteration (KIN_FP, no acceleration)
 *   fp-aa5     KIN_FP with Anderson acceleration, m = 5 (KINSetMAA)
 *   newton     Newton-GMRES (KIN_LINESEARCH, SPGMR with maxl = 40 and 2 restarts, KINSOL's
 *              difference-quotient J.v: every probe is one call of the residual function;
 *              the maximum Newton step lifted to 1e10, since KINSOL's default from u0 = 0 is 1)
 * One evaluation of f is one cblas_dgemv, an add and a tanh pass (the same arithmetic as deq's
 * one-row evaluation). The stopping rule is deq's and the SciPy comparisons': a wrapper around the
 * user function counts every call (nfe, line-search and J.v probes included) and computes
 * |f(z) - z|_2 / |f(z)|_2 at the point it was called with; the first time this is <= 1e-8 the
 * wrapper records success and returns an unrecoverable error (-1), which stops KINSOL. KINSOL's
 * own tests never stop it first (fnormtol = scsteptol = 1e-300), and the cap is 100000 iterations.
 * Time: CLOCK_MONOTONIC from KINCreate to KINFree (the solve with its set-up, as deq's solve
 * includes its state), the first solve of every cell and strategy discarded as a warm-up.
 *
 * Output: one JSON object per line,
 *   {"cell": DIR, "method": M, "sample": i, "nfe": n, "converged": 0|1, "relres": r,
 *    "flag": KINSOL's return flag name (KIN_SYSFUNC_FAIL when the wrapper stopped it), "seconds": t}
 * Build: scripts/bench.sh (cc -O2 ... -lsundials_kinsol -lsundials_nvecserial
 * -lsundials_sunlinsolspgmr -lopenblas -lm). Run with OPENBLAS_NUM_THREADS=1.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <kinsol/kinsol.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "kinsol-runner: %s: %s\n", what, detail);
    exit(1);
}

/* Reads a float64 C-order .npy array of one or two dimensions. */
static double *read_npy(const char *path, long *rows, long *cols) {
    FILE *file = fopen(path, "rb");
    if (!file) die(path, "cannot open");
    unsigned char magic[8];
    if (fread(magic, 1, 8, file) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0) die(path, "not a .npy file");
    unsigned long header_length = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        if (fread(b, 1, 2, file) != 2) die(path, "truncated header");
        header_length = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        if (fread(b, 1, 4, file) != 4) die(path, "truncated header");
        header_length = b[0] | (b[1] << 8) | (b[2] << 16) | ((unsigned long)b[3] << 24);
    }
    char *header = calloc(header_length + 1, 1);
    if (fread(header, 1, header_length, file) != header_length) die(path, "truncated header");
    if (!strstr(header, "'<f8'")) die(path, "expected dtype '<f8'");
    if (strstr(header, "'fortran_order': True")) die(path, "expected C order");
    char *shape = strstr(header, "'shape': (");
    if (!shape) die(path, "no shape in header");
    shape += strlen("'shape': (");
    *rows = strtol(shape, &shape, 10);
    *cols = 1;
    if (*shape == ',') {
        shape++;
        while (*shape == ' ') shape++;
        if (*shape != ')') *cols = strtol(shape, &shape, 10);
    }
    if (*rows < 1 || *cols < 1) die(path, "empty array");
    free(header);
    double *values = malloc(sizeof(double) * (size_t)(*rows) * (size_t)(*cols));
    if (fread(values, sizeof(double), (size_t)(*rows * *cols), file) != (size_t)(*rows * *cols)) die(path, "truncated data");
    fclose(file);
    return values;
}

typedef struct {
    long d;
    const double *w;   /* d x d, row-major */
    const double *x;   /* the injection of this sample, d */
    double *image;     /* f(z), d */
    int newton;        /* 1: the function is F(z) = f(z) - z; 0: G(z) = f(z) */
    long nfe;
    int converged;
    double relres;     /* relative residual at the last call */
    int flag;          /* KINSol's return value */
} Problem;

#define TOLERANCE 1e-8

static int user_function(N_Vector u, N_Vector out, void *data) {
    Problem *p = data;
    const double *z = N_VGetArrayPointer(u);
    double *f = p->image;
    long d = p->d;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)d, 1.0, p->w, (int)d, z, 1, 0.0, f, 1);
    double rr = 0, ff = 0;
    for (long j = 0; j < d; j++) {
        double v = tanh(f[j] + p->x[j]);
        f[j] = v;
        double r = v - z[j];
        rr += r * r;
        ff += v * v;
    }
    p->nfe++;
    p->relres = sqrt(rr) / sqrt(ff);
    double *o = N_VGetArrayPointer(out);
    if (p->newton) {
        for (long j = 0; j < d; j++) o[j] = f[j] - z[j];
    } else {
        memcpy(o, f, sizeof(double) * (size_t)d);
    }
    if (!isfinite(p->relres)) return -1;
    if (p->relres <= TOLERANCE) {
        p->converged = 1;
        return -1; /* unrecoverable: stops KINSOL at the first point meeting the rule */
    }
    return 0;
}

static void silent(int error_code, const char *module, const char *function, char *message, void *data) {
    (void)error_code; (void)module; (void)function; (void)message; (void)data;
}

enum { FP = 0, FP_AA5 = 1, NEWTON = 2 };
static const char *method_names[] = {"fp", "fp-aa5", "newton"};

static double solve(SUNContext context, int method, Problem *p) {
    long d = p->d;
    p->nfe = 0;
    p->converged = 0;
    p->relres = INFINITY;
    double start = now();
    N_Vector u = N_VNew_Serial(d, context);
    N_Vector scale = N_VNew_Serial(d, context);
    N_VConst(0.0, u);
    N_VConst(1.0, scale);
    void *memory = KINCreate(context);
    SUNLinearSolver linear = NULL;
    if (method == FP_AA5 && KINSetMAA(memory, 5) != KIN_SUCCESS) die("KINSetMAA", "failed");
    if (KINInit(memory, user_function, u) != KIN_SUCCESS) die("KINInit", "failed");
    KINSetUserData(memory, p);
    KINSetFuncNormTol(memory, 1e-300);
    KINSetScaledStepTol(memory, 1e-300);
    KINSetNumMaxIters(memory, 100000);
    KINSetPrintLevel(memory, 0);
    KINSetErrHandlerFn(memory, silent, NULL);
    int strategy = KIN_FP;
    if (method == NEWTON) {
        linear = SUNLinSol_SPGMR(u, SUN_PREC_NONE, 40, context);
        SUNLinSol_SPGMRSetMaxRestarts(linear, 2);
        if (KINSetLinearSolver(memory, linear, NULL) != KIN_SUCCESS) die("KINSetLinearSolver", "failed");
        /* KINSOL caps a Newton step at 1000 |u0| (at least 1): from u0 = 0 that is 1, shorter
         * than the first step on these cells, and five capped steps in a row end the solve
         * (KIN_MXNEWT_5X_EXCEEDED). deq's Newton-Krylov has no cap; lift KINSOL's. */
        KINSetMaxNewtonStep(memory, 1e10);
        strategy = KIN_LINESEARCH;
    }
    p->flag = KINSol(memory, u, strategy, scale, scale);
    KINFree(&memory);
    if (linear) SUNLinSolFree(linear);
    N_VDestroy(u);
    N_VDestroy(scale);
    return now() - start;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: kinsol-runner CELL_DIR...  (each with W.npy d x d and X.npy B x d)\n");
        return 2;
    }
    SUNContext context;
    if (SUNContext_Create(NULL, &context) != 0) die("SUNContext_Create", "failed");
    for (int a = 1; a < argc; a++) {
        char path[4096];
        long wr, wc, xr, xc;
        snprintf(path, sizeof path, "%s/W.npy", argv[a]);
        double *w = read_npy(path, &wr, &wc);
        snprintf(path, sizeof path, "%s/X.npy", argv[a]);
        double *x = read_npy(path, &xr, &xc);
        if (wr != wc || xc != wr) die(argv[a], "expected W.npy d x d and X.npy B x d");
        double *image = malloc(sizeof(double) * (size_t)wr);
        for (int method = 0; method < 3; method++) {
            for (long i = 0; i < xr; i++) {
                Problem p = {.d = wr, .w = w, .x = x + i * wr, .image = image, .newton = method == NEWTON};
                if (i == 0) solve(context, method, &p); /* warm-up */
                double seconds = solve(context, method, &p);
                printf("{\"cell\": \"%s\", \"method\": \"%s\", \"sample\": %ld, \"nfe\": %ld, \"converged\": %d, "
                       "\"relres\": %.6e, \"flag\": \"%s\", \"flag_value\": %d, \"seconds\": %.9f}\n",
                       argv[a], method_names[method], i, p.nfe, p.converged, p.relres,
                       KINGetReturnFlagName(p.flag), p.flag, seconds);
            }
        }
        free(image);
        free(w);
        free(x);
    }
    SUNContext_Free(&context);
    return 0;
}
