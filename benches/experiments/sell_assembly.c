/*
 * A throw-away experiment, kept because its figures are quoted in BENCHMARKS.md (issue #5,
 * "AVX2 SELL kernel on Zen 3 (session 13)"): how the one-sequence AVX2 SELL-4 kernel of
 * operators/src/reservoir/kernels/avx2.rs should assemble its four gathered x values, measured
 * outside the engine on the engine's shape (500 × 500, density 0.1, rows sorted by length in
 * windows of 64, slices of 4 rows, position q of a row into accumulator q mod 8, mul then add,
 * never FMA: the engine's reduction order, so every variant gives the same bits).
 *
 *   set    _mm256_set_pd of four scalar loads (the engine: the compiler
 *          emits vmovsd + vmovhpd twice and vinsertf128, three shuffle-port µops per position)
 *   bcast  four vbroadcastsd loads and three vblendpd (a broadcast from memory is a pure load
 *          on Zen 3 and blends run on all four FP pipes: no shuffle-port µop at all)
 *   gather _mm256_i32gather_pd of the four indices (for comparison)
 *
 * and three ways to bring a position's four u16 column indices into registers: one 64-bit load
 * and shifts (the engine), two 32-bit loads, four 16-bit loads.
 *
 * Build and run (any x86-64 with AVX2):
 *   gcc -O3 -mavx2 -o /tmp/sell_assembly benches/experiments/sell_assembly.c
 *   taskset -c 1 /tmp/sell_assembly [VARIANT]
 * Prints, per variant (or variant 0 and VARIANT alone), µs per W·x (best of 7 rounds of
 * 20,000) and the largest difference from the first variant (0: same bits).
 *
 * Timing-only probes (wrong results): -DPROBE_CONST_X multiplies every value by x[0] (the
 * values' L2 stream without any gather), -DPROBE_NO_TAIL runs every slice's positions in whole
 * groups of eight without masks (no tail loop; reads a little past the slice).
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define N 500
#define WIN 64
#define STEPS 20000

typedef struct {
    int start, full, len;
    int64_t lens[4];
    int rows[4];
} Slice;

static int row_len[N];
static int cols_of[N][N];
static double vals_of[N][N];
static int order[N];
static Slice slices[N / 4 + 16];
static int nslices;
static double *data;
static uint16_t *idx;
static double x[N], y[N];

static int by_len(const void *a, const void *b) {
    return row_len[*(const int *)b] - row_len[*(const int *)a];
}

static void build(void) {
    int nnz = 0;
    for (int i = 0; i < N; i++) {
        row_len[i] = 0;
        for (int j = 0; j < N; j++)
            if (uniform() < 0.1) {
                cols_of[i][row_len[i]] = j;
                vals_of[i][row_len[i]++] = uniform() - 0.5;
            }
        nnz += row_len[i];
        order[i] = i;
    }
    for (int w = 0; w < N; w += WIN) {
        int n = w + WIN <= N ? WIN : N - w;
        qsort(order + w, n, sizeof(int), by_len);
    }
    data = aligned_alloc(64, sizeof(double) * (nnz + 4 * N) * 2);
    idx = aligned_alloc(64, sizeof(uint16_t) * (nnz + 4 * N) * 2);
    int pos = 0;
    for (int w = 0; w < N; w += WIN) {
        int end = w + WIN <= N ? w + WIN : N;
        for (int s = w; s < end; s += 4) {
            Slice *sl = &slices[nslices++];
            int cnt = end - s < 4 ? end - s : 4;
            sl->start = pos;
            sl->full = 1 << 30;
            sl->len = 0;
            for (int r = 0; r < 4; r++) {
                int row = r < cnt ? order[s + r] : -1;
                sl->rows[r] = row;
                int l = row >= 0 ? row_len[row] : 0;
                sl->lens[r] = l;
                if (l < sl->full) sl->full = l;
                if (l > sl->len) sl->len = l;
            }
            for (int q = 0; q < sl->len; q++)
                for (int r = 0; r < 4; r++) {
                    int row = sl->rows[r];
                    int live = row >= 0 && q < row_len[row];
                    data[pos + 4 * q + r] = live ? vals_of[row][q] : 0.0;
                    idx[pos + 4 * q + r] = live ? cols_of[row][q] : 0;
                }
            pos += 4 * sl->len;
        }
    }
    printf("nnz %d, slices %d, stored positions %d (%.1f %% padding)\n", nnz, nslices, pos / 4,
           100.0 * (pos - nnz) / pos);
}

#define SET 0
#define BCAST 1
#define GATHER 2

/* How the four column indices of a position reach registers. */
#define IDX_U64 0   /* one 64-bit load, three shifts and zero-extensions (the engine) */
#define IDX_U32 1   /* two 32-bit loads, each two indices: one zero-extension, one shift */
#define IDX_U16 2   /* four zero-extending 16-bit loads */

static inline __attribute__((always_inline)) __m256d gathered(const uint16_t *ip, int how, int ix) {
    size_t i0, i1, i2, i3;
    if (ix == IDX_U64) {
        uint64_t w;
        memcpy(&w, ip, 8);
        i0 = w & 0xffff, i1 = (w >> 16) & 0xffff, i2 = (w >> 32) & 0xffff, i3 = w >> 48;
    } else if (ix == IDX_U32) {
        uint32_t a, b;
        memcpy(&a, ip, 4);
        memcpy(&b, ip + 2, 4);
        i0 = a & 0xffff, i1 = a >> 16, i2 = b & 0xffff, i3 = b >> 16;
    } else {
        i0 = ip[0], i1 = ip[1], i2 = ip[2], i3 = ip[3];
    }
#ifdef PROBE_CONST_X
    (void)i0, (void)i1, (void)i2, (void)i3;
    return _mm256_set1_pd(x[0]); /* timing only: no gather at all */
#endif
    if (how == SET) {
        return _mm256_set_pd(x[i3], x[i2], x[i1], x[i0]);
    } else if (how == BCAST) {
        __m256d a = _mm256_broadcast_sd(&x[i0]);
        __m256d b = _mm256_broadcast_sd(&x[i1]);
        __m256d c = _mm256_broadcast_sd(&x[i2]);
        __m256d d = _mm256_broadcast_sd(&x[i3]);
        return _mm256_blend_pd(_mm256_blend_pd(a, b, 0x2), _mm256_blend_pd(c, d, 0x8), 0xc);
    } else {
        __m128i i4 = _mm_cvtepu16_epi32(_mm_loadl_epi64((const __m128i *)ip));
        return _mm256_i32gather_pd(x, i4, 8);
    }
}

static inline __attribute__((always_inline)) void kernel(int how, int ix) {
    for (int s = 0; s < nslices; s++) {
        const Slice *sl = &slices[s];
        __m256d a[8];
        for (int l = 0; l < 8; l++) a[l] = _mm256_setzero_pd();
        const double *dp = data + sl->start;
        const uint16_t *ip = idx + sl->start;
#ifdef PROBE_NO_TAIL
        int full8 = (sl->len + 7) / 8 * 8, q = 0; /* timing only: reads past the slice */
#else
        int full8 = sl->full / 8 * 8, q = 0;
#endif
        for (; q < full8; q += 8)
            for (int l = 0; l < 8; l++)
                a[l] = _mm256_add_pd(
                    a[l], _mm256_mul_pd(_mm256_loadu_pd(dp + 4 * (q + l)), gathered(ip + 4 * (q + l), how, ix)));
        __m256i lens = _mm256_loadu_si256((const __m256i *)sl->lens);
        for (; q < sl->len; q += 8)
            for (int l = 0; l < 8; l++) {
                int p = q + l;
                if (p >= sl->len) break;
                __m256d v = _mm256_mul_pd(_mm256_loadu_pd(dp + 4 * p), gathered(ip + 4 * p, how, ix));
                if (p >= sl->full)
                    v = _mm256_and_pd(v, _mm256_castsi256_pd(_mm256_cmpgt_epi64(lens, _mm256_set1_epi64x(p))));
                a[l] = _mm256_add_pd(a[l], v);
            }
        __m256d sum = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(a[0], a[4]), _mm256_add_pd(a[2], a[6])),
                                    _mm256_add_pd(_mm256_add_pd(a[1], a[5]), _mm256_add_pd(a[3], a[7])));
        double t[4];
        _mm256_storeu_pd(t, sum);
        for (int r = 0; r < 4; r++)
            if (sl->rows[r] >= 0) y[sl->rows[r]] = t[r];
    }
}

#define V(h, i) static __attribute__((noinline)) void run_##h##_##i(void) { kernel(h, i); }
V(SET, IDX_U64) V(SET, IDX_U32) V(SET, IDX_U16) V(BCAST, IDX_U64) V(BCAST, IDX_U32) V(BCAST, IDX_U16)
V(GATHER, IDX_U64)
static void (*const runs[])(void) = {run_SET_IDX_U64, run_SET_IDX_U32, run_SET_IDX_U16,
                                     run_BCAST_IDX_U64, run_BCAST_IDX_U32, run_BCAST_IDX_U16,
                                     run_GATHER_IDX_U64};
static const char *names[] = {"set/u64", "set/u32", "set/u16", "bcast/u64", "bcast/u32", "bcast/u16",
                              "gather"};
#define NV 7

int main(int argc, char **argv) {
    build();
    double ref[N];
    int only = argc > 1 ? atoi(argv[1]) : -1; /* one variant alone (for profiling) */
    for (int v = 0; v < NV; v++) {
        if (only >= 0 && v != only && v != 0) continue;
        double best = 1e9, diff = 0;
        for (int round = 0; round < 7; round++) {
            for (int j = 0; j < N; j++) x[j] = (j % 17) * 0.01 - 0.08;
            double t = now();
            for (int s = 0; s < STEPS; s++) {
                runs[v]();
                x[s % N] = y[s % N] * 1e-3; /* a dependency between passes */
            }
            t = (now() - t) / STEPS * 1e6;
            if (t < best) best = t;
        }
        if (v == 0) memcpy(ref, y, sizeof ref);
        for (int i = 0; i < N; i++) {
            double d = y[i] > ref[i] ? y[i] - ref[i] : ref[i] - y[i];
            if (d > diff) diff = d;
        }
        printf("%-10s %.3f us per W.x, max |diff| vs set/u64 %.3g\n", names[v], best, diff);
    }
    return 0;
}
