//! Criterion benchmarks of the control operators (issue #4): the cost of one decision per
//! operator, and of the whole per-request fast path (gate + token bucket + pool lookup and
//! routing over breaker-filtered membranes + RED) at 10, 100 and 1,000 membranes.
//!
//! Run: `cargo bench --bench control -- --warm-up-time 1 --measurement-time 3`
//! (figures and the machine they were measured on are in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use echoflow_operators::admission::{Admission, Request, ShardState};
use echoflow_operators::aimd::{AimdConfig, Governor, TokenBucket};
use echoflow_operators::circuit_breaker::{BreakerConfig, CircuitBreaker};
use echoflow_operators::degradation::{Degradation, DegradationConfig, Level, gate};
use echoflow_operators::keyed;
use echoflow_operators::membrane_pool::{MembranePool, PoolConfig, Telemetry};
use echoflow_operators::priority::Priority;
use echoflow_operators::red::{QueueAverage, Red, RedConfig};
use echoflow_operators::routing::{Router, RouterState, RoutingConfig, Strategy};

const SIZES: [usize; 3] = [10, 100, 1000];

/// 4096 request ids shaped like UUIDs (36 bytes).
fn request_ids() -> Vec<String> {
    (0..4096u64)
        .map(|i| {
            let h = keyed::hash64(99, &i.to_le_bytes());
            format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                h >> 32,
                (h >> 16) & 0xffff,
                h & 0xffff,
                i & 0xffff,
                h & 0xffff_ffff_ffff
            )
        })
        .collect()
}

/// A pool of `n` healthy membranes with varied, deterministic load; queues below RED's `min_th`
/// for most, in the ramp for some.
fn pool(n: usize) -> MembranePool {
    let mut pool = MembranePool::new(PoolConfig::default());
    for i in 0..n {
        let h = keyed::hash64(1, &(i as u64).to_le_bytes());
        pool.on_telemetry(&Telemetry {
            membrane: format!("membrane-{i:04}"),
            ts: 0,
            cpu: (h % 90) as f64 / 100.0,
            memory: ((h >> 8) % 80) as f64 / 100.0,
            queue_depth: (h >> 16) % 70,
            queue_capacity: 100,
            in_flight: (h >> 24) % 16,
            latency_ms: ((h >> 32) % 200) as f64,
            requests: 100,
            errors: (h >> 40) % 5,
            healthy: true,
            capacity_weight: Some(1.0 + ((h >> 48) % 3) as f64),
        });
    }
    pool
}

fn fast_path(c: &mut Criterion) {
    let ids = request_ids();
    let mut group = c.benchmark_group("fast_path");
    group.throughput(Throughput::Elements(1));
    for strategy in [
        Strategy::LeastLoaded,
        Strategy::P2c,
        Strategy::ConsistentHash,
    ] {
        for n in SIZES {
            let pool = pool(n);
            let adm = Admission::new(
                RoutingConfig {
                    strategy,
                    ..RoutingConfig::default()
                },
                RedConfig::default(),
            );
            // A rate high enough that the bucket is not the bottleneck being measured.
            let aimd = AimdConfig {
                max_rate: 1e12,
                ..AimdConfig::default()
            };
            let mut shard = ShardState::new(&aimd, 128);
            let mut i = 0usize;
            group.bench_with_input(BenchmarkId::new(strategy.as_str(), n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 1) & 4095;
                    let req = Request {
                        id: ids[i].as_bytes(),
                        ts: 1000 + (i as u64 >> 4),
                        priority: Priority::Medium,
                        session: None,
                    };
                    black_box(adm.decide(&pool, Level::Normal, &mut shard, black_box(&req)))
                })
            });
        }
    }
    group.finish();
}

fn routing(c: &mut Criterion) {
    let ids = request_ids();
    let mut group = c.benchmark_group("route");
    for n in SIZES {
        let pool = pool(n);
        for strategy in Strategy::ALL {
            let router = Router::new(RoutingConfig {
                strategy,
                ..RoutingConfig::default()
            });
            let mut state = RouterState::default();
            let mut i = 0usize;
            group.bench_with_input(BenchmarkId::new(strategy.as_str(), n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 1) & 4095;
                    let m = router.route(&pool, &mut state, 1000, ids[i].as_bytes(), None);
                    if let Some(mem) = m.ok().and_then(|m| pool.get(m)) {
                        state.assign(mem);
                    }
                    black_box(m)
                })
            });
        }
    }
    group.finish();
}

fn decisions(c: &mut Criterion) {
    let ids = request_ids();
    let mut group = c.benchmark_group("decision");

    group.bench_function("keyed_unit_draw", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) & 4095;
            black_box(keyed::unit_draw(7, ids[i].as_bytes()))
        })
    });

    let red = Red::new(RedConfig::default());
    let mut q = QueueAverage::default();
    q.update(0.2, 80, 100);
    group.bench_function("red_decide", |b| {
        let mut i = 0usize;
        let mut count = 0u32;
        b.iter(|| {
            i = (i + 1) & 4095;
            black_box(red.decide(&q, Priority::Low, ids[i].as_bytes(), &mut count))
        })
    });

    group.bench_function("token_bucket_try_take", |b| {
        let mut bucket = TokenBucket::new(&AimdConfig::default(), 128);
        let mut t = 0u64;
        b.iter(|| {
            t += 1;
            black_box(bucket.try_take(t))
        })
    });

    group.bench_function("gate", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % 25;
            black_box(gate(Level::ALL[i % 5], Priority::ALL[i / 5]))
        })
    });

    group.bench_function("aimd_on_pressure", |b| {
        let mut g = Governor::new(AimdConfig::default());
        let mut t = 0u64;
        b.iter(|| {
            t += 10;
            // A cycle through every state: degrade, emergency halvings, recovery.
            let p = match (t / 1000) % 8 {
                0 => 0.5,
                1 | 2 => 0.95,
                _ => 0.3,
            };
            black_box(g.on_pressure(t, black_box(p)))
        })
    });

    group.bench_function("degradation_on_reading", |b| {
        let mut d = Degradation::new(DegradationConfig::default());
        let mut t = 0u64;
        b.iter(|| {
            t += 1000;
            let cpu = ((t / 1000) % 100) as f64 / 100.0;
            black_box(d.on_reading(t, cpu, 0.5))
        })
    });

    group.bench_function("breaker_on_report", |b| {
        let mut br = CircuitBreaker::new(BreakerConfig::default());
        let mut t = 0u64;
        b.iter(|| {
            t += 50;
            black_box(br.on_report(t, 20, (t / 50) % 7, 12.0))
        })
    });

    for n in SIZES {
        let mut p = pool(n);
        let mut t = 0u64;
        let names: Vec<String> = (0..n).map(|i| format!("membrane-{i:04}")).collect();
        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new("pool_on_telemetry", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % n;
                t += 1;
                let r = Telemetry {
                    membrane: names[i].clone(),
                    ts: t,
                    queue_depth: t % 100,
                    requests: 10,
                    errors: t % 3,
                    latency_ms: 20.0,
                    ..Telemetry::default()
                };
                black_box(p.on_telemetry(&r))
            })
        });
        let p = pool(n);
        group.bench_with_input(BenchmarkId::new("pool_fleet_means", n), &n, |b, _| {
            b.iter(|| black_box(p.fleet(black_box(1000))))
        });
    }
    group.finish();
}

criterion_group!(benches, decisions, routing, fast_path);
criterion_main!(benches);
