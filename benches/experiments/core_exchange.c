/*
 * A throw-away measurement, kept because its figure is quoted in BENCHMARKS.md (issue #5,
 * "Memory floor (session 12)"): what the row-parallel step (operators/src/reservoir/
 * parallel.rs) pays per step on two cores beyond its half of the work. Two threads, a
 * generation barrier like the engine's SpinBarrier (spinning only), and per step: each thread
 * writes its half of a 500-unit state, meets the other at the barrier, then reads all 500
 * values (the other half comes from the other core's cache).
 *
 *   gcc -O2 -pthread -o /tmp/core_exchange benches/experiments/core_exchange.c
 *   /tmp/core_exchange
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "common.h"

#define UNITS 500
#define STEPS 1000000

static _Alignas(128) atomic_long arrived;
static _Alignas(128) atomic_long generation;
static _Alignas(64) double state[UNITS];
static int exchange;

static void barrier(void) {
    long g = atomic_load(&generation);
    if (atomic_fetch_add(&arrived, 1) + 1 == 2) {
        atomic_store(&arrived, 0);
        atomic_fetch_add(&generation, 1);
        return;
    }
    while (atomic_load(&generation) == g) __builtin_ia32_pause();
}

static void *thread(void *arg) {
    long k = (long)arg;
    double sum = 0;
    for (int s = 0; s < STEPS; s++) {
        if (exchange)
            for (int j = 0; j < UNITS / 2; j++) state[k * (UNITS / 2) + j] = sum + j;
        barrier();
        if (exchange)
            for (int j = 0; j < UNITS; j++) sum += state[j];
    }
    return (void *)(long)sum;
}

int main(void) {
    for (exchange = 0; exchange < 2; exchange++) {
        pthread_t other;
        double t0 = now();
        pthread_create(&other, 0, thread, (void *)1);
        thread((void *)0);
        pthread_join(other, 0);
        printf("%s: %.3f us per step\n",
               exchange ? "barrier + each writes its half, both read all" : "barrier only",
               (now() - t0) / STEPS * 1e6);
    }
    return 0;
}
