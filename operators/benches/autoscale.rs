//! One policy evaluation (`Policy::evaluate`) of `threshold`, `hpa` and `predictive` (with the
//! ESN in its ensemble, and for comparison without it or without the flap budget's shadow HPA)
//! over fleets of 10 and 100 membranes.
//!
//! Each iteration evaluates the next of 4,096 pre-built fleet views (every pod ready, utilisation
//! following a noisy daily-like cycle, 15 s of event time apart), so the policies' state moves as
//! in a real run: the predictive policy's ESN refits its readouts every 64 evaluations, and that
//! cost is amortised into the figure. The decision is not applied (the fleet size stays N).
//!
//! A second group, `autoscale/hpa`, times the HPA controller alone on the same views three ways:
//! `Policy::evaluate` (the decision record with its reason), `Hpa::next_replicas` (the count
//! only, what the flap budget's shadow runs) and `FlapBudget::observe` (the shadow on the
//! views' load in replicas' worth, with its own replica count and pod buffer).
//!
//! `cargo bench -p echoflow-operators --bench autoscale -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use echoflow_operators::autoscale::config::{AutoscalerConfig, PolicyKind};
use echoflow_operators::autoscale::flap_budget::FlapBudget;
use echoflow_operators::autoscale::forecast::default_forecasters;
use echoflow_operators::autoscale::hpa::Hpa;
use echoflow_operators::autoscale::policy::{Policy, build};
use echoflow_operators::autoscale::predictive::{Predictive, PredictiveParams};
use echoflow_operators::autoscale::utilization::{FleetView, PodSample};

const VIEWS: usize = 4096;

fn views(n: u32) -> Vec<FleetView> {
    (0..VIEWS)
        .map(|t| {
            let base = 0.6 + 0.25 * (t as f64 * std::f64::consts::TAU / 480.0).sin();
            let noise = ((t * 7919) % 17) as f64 / 170.0;
            FleetView {
                current_replicas: n,
                pods: (0..n)
                    .map(|i| PodSample::ready(base + noise + 0.01 * f64::from(i % 7)))
                    .collect(),
                latency_ms: Some(20.0),
            }
        })
        .collect()
}

fn config(policy: PolicyKind, n: u32) -> AutoscalerConfig {
    AutoscalerConfig {
        policy,
        min_replicas: 1,
        max_replicas: 2 * n,
        ..AutoscalerConfig::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("autoscale/evaluate");
    for n in [10u32, 100] {
        let vs = views(n);
        let policies: Vec<(&str, Box<dyn Policy>)> = vec![
            ("threshold", build(&config(PolicyKind::Threshold, n))),
            ("hpa", build(&config(PolicyKind::Hpa, n))),
            ("predictive", build(&config(PolicyKind::Predictive, n))),
            (
                "predictive_without_flap_budget",
                build(&AutoscalerConfig {
                    flap_budget: 0.0,
                    ..config(PolicyKind::Predictive, n)
                }),
            ),
            (
                "predictive_without_esn",
                Box::new(Predictive::with(
                    &config(PolicyKind::Predictive, n),
                    PredictiveParams::default(),
                    default_forecasters()
                        .into_iter()
                        .filter(|f| f.name() != "esn")
                        .collect(),
                )),
            ),
        ];
        for (name, mut policy) in policies {
            let mut i = 0usize;
            g.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    let view = &vs[i % VIEWS];
                    let d = policy.evaluate(i as u64 * 15_000, view);
                    i += 1;
                    black_box(d)
                })
            });
        }
    }
    g.finish();
}

fn bench_hpa(c: &mut Criterion) {
    let mut g = c.benchmark_group("autoscale/hpa");
    for n in [10u32, 100] {
        let vs = views(n);
        let cfg = config(PolicyKind::Hpa, n);
        let (mut full, mut lean) = (Hpa::new(&cfg), Hpa::new(&cfg));
        let mut shadow = FlapBudget::new(1.25, &cfg);
        let loads: Vec<f64> = vs
            .iter()
            .map(|v| v.pods.iter().filter_map(|p| p.utilization).sum())
            .collect();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("evaluate", n), |b| {
            b.iter(|| {
                let d = full.evaluate(i as u64 * 15_000, &vs[i % VIEWS]);
                i += 1;
                black_box(d)
            })
        });
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("next_replicas", n), |b| {
            b.iter(|| {
                let to = lean.next_replicas(i as u64 * 15_000, &vs[i % VIEWS]);
                i += 1;
                black_box(to)
            })
        });
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("flap_budget_observe", n), |b| {
            b.iter(|| {
                shadow.observe(i as u64 * 15_000, n, loads[i % VIEWS]);
                i += 1;
                black_box(shadow.counts())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_hpa);
criterion_main!(benches);
