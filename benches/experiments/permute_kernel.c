/*
 * A throw-away prototype, kept because its figure is quoted in BENCHMARKS.md (issue #5,
 * "Memory floor (session 12)"): the best one-sequence W·x layout found for AVX-512, measured
 * outside the engine to see whether it could reach the inner-loop goal (10× ReservoirPy at 500
 * units, ≤ 1.8 µs per whole step on the Zen 5 machine) before changing the engine's kernels.
 *
 * Layout: rows in lanes (8 rows per 512-bit vector), columns in blocks of 16 held in two
 * registers; for each (8-row block, 16-column block) as many "slices" as the block's longest
 * row has entries there; a slice is 8 one-byte column offsets and 8 values (zeros where a row
 * has no entry), applied as vpermt2pd (x from registers, no gather) then multiply and add.
 * Accumulator = column block mod 8, so 8 independent chains per row block.
 *
 * It does not keep the engine's reduction order (term q of a row into lane q mod 8), so it is
 * not a drop-in kernel; it is an upper bound on what that layout can do. At 500 units and
 * density 0.1 it stores 6,735 slices for 24,866 entries (46 % filled): 431 KB of values per
 * step from L2, which is what bounds it.
 *
 * Build and run (x86-64 with AVX-512F):
 *   gcc -O3 -march=native -o /tmp/permute_kernel benches/experiments/permute_kernel.c
 *   /tmp/permute_kernel
 * Prints the slice count, the largest difference from a plain CSR product (rounding only),
 * and µs per W·x for the blocked kernel and for a scalar 8-lane CSR loop.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define N 500
#define NP 512 /* N rounded up to whole 16-column and 8-row blocks */
#define RB (NP / 8)
#define CB (NP / 16)
#define STEPS 20000

static int indptr[N + 1];
static int *ind;
static double *val;
static uint8_t cnt[RB][CB];
static uint64_t *slice_idx; /* 8 one-byte column offsets per slice */
static double *slice_val;   /* 8 values per slice */
static double x[NP] __attribute__((aligned(64)));
static double y[NP] __attribute__((aligned(64)));
static double y_ref[NP];

__attribute__((noinline)) static void blocked(void) {
    int s = 0;
    for (int rb = 0; rb < RB; rb++) {
        __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
                a7 = a0;
        for (int c8 = 0; c8 < CB; c8 += 8) {
#define BLOCK(L, A)                                                                          \
    {                                                                                        \
        int cb = c8 + L;                                                                     \
        __m512d lo = _mm512_load_pd(x + 16 * cb), hi = _mm512_load_pd(x + 16 * cb + 8);     \
        for (int k = 0; k < cnt[rb][cb]; k++, s++) {                                         \
            __m512i ix = _mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i *)(slice_idx + s))); \
            __m512d v = _mm512_load_pd(slice_val + 8 * s);                                   \
            A = _mm512_add_pd(A, _mm512_mul_pd(v, _mm512_permutex2var_pd(lo, ix, hi)));      \
        }                                                                                    \
    }
            BLOCK(0, a0) BLOCK(1, a1) BLOCK(2, a2) BLOCK(3, a3)
            BLOCK(4, a4) BLOCK(5, a5) BLOCK(6, a6) BLOCK(7, a7)
        }
        __m512d r = _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a4), _mm512_add_pd(a2, a6)),
                                  _mm512_add_pd(_mm512_add_pd(a1, a5), _mm512_add_pd(a3, a7)));
        _mm512_store_pd(y + 8 * rb, r);
    }
}

__attribute__((noinline)) static void csr(void) {
    for (int r = 0; r < N; r++) {
        double a[8] = {0};
        for (int q = indptr[r]; q < indptr[r + 1]; q++) a[(q - indptr[r]) & 7] += val[q] * x[ind[q]];
        y[r] = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    }
}

static void time_it(const char *name, void (*f)(void)) {
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (int i = 0; i < STEPS; i++) {
            f();
            x[i % N] += y[0] * 1e-30; /* a dependency from one product to the next */
        }
        printf("%s: %.3f us per W·x\n", name, (now() - t0) / STEPS * 1e6);
    }
}

int main(void) {
    int nnz = 0, slices = 0;
    ind = malloc(sizeof(int) * N * N);
    val = malloc(sizeof(double) * N * N);
    for (int r = 0; r < N; r++) {
        indptr[r] = nnz;
        for (int c = 0; c < N; c++)
            if (uniform() < 0.1) {
                ind[nnz] = c;
                val[nnz++] = uniform() * 2 - 1;
            }
    }
    indptr[N] = nnz;
    for (int i = 0; i < N; i++) x[i] = uniform() * 2 - 1;
    for (int rb = 0; rb < RB; rb++)
        for (int cb = 0; cb < CB; cb++) {
            int m = 0;
            for (int r = rb * 8; r < rb * 8 + 8 && r < N; r++) {
                int k = 0;
                for (int q = indptr[r]; q < indptr[r + 1]; q++) k += ind[q] / 16 == cb;
                if (k > m) m = k;
            }
            cnt[rb][cb] = (uint8_t)m;
            slices += m;
        }
    slice_idx = aligned_alloc(64, 8 * (size_t)slices + 64);
    slice_val = aligned_alloc(64, 64 * (size_t)slices + 64);
    memset(slice_idx, 0, 8 * (size_t)slices);
    memset(slice_val, 0, 64 * (size_t)slices);
    for (int rb = 0, s = 0; rb < RB; rb++)
        for (int cb = 0; cb < CB; s += cnt[rb][cb], cb++)
            for (int r = rb * 8; r < rb * 8 + 8 && r < N; r++)
                for (int q = indptr[r], k = 0; q < indptr[r + 1]; q++)
                    if (ind[q] / 16 == cb) {
                        ((uint8_t *)(slice_idx + s + k))[r - rb * 8] = (uint8_t)(ind[q] % 16);
                        slice_val[8 * (s + k) + r - rb * 8] = val[q];
                        k++;
                    }
    printf("%d entries in %d slices (%.0f %% filled)\n", nnz, slices, 100.0 * nnz / (8.0 * slices));
    csr();
    memcpy(y_ref, y, sizeof y_ref);
    blocked();
    double err = 0;
    for (int r = 0; r < N; r++) {
        double d = y[r] > y_ref[r] ? y[r] - y_ref[r] : y_ref[r] - y[r];
        if (d > err) err = d;
    }
    printf("largest difference from the CSR product: %g\n", err);
    time_it("blocked (AVX-512 permute)", blocked);
    time_it("csr (scalar, 8 lanes)", csr);
    return err < 1e-12 ? 0 : 1;
}
