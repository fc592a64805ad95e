/*
 * What the stand-alone C experiments of this folder share: a monotonic clock and a seeded
 * uniform generator (xorshift64, Marsaglia 2003), so that each file builds alone with one gcc
 * line and every run draws the same matrix.
 */
#ifndef ECHOFLOW_EXPERIMENTS_COMMON_H
#define ECHOFLOW_EXPERIMENTS_COMMON_H

#include <stdint.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng = 42;

/* The next uniform draw in [0, 1) (53 bits of xorshift64). */
static inline double uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (rng >> 11) * (1.0 / 9007199254740992.0);
}

#endif
