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
//! views' load in replicas' worth, `FleetView::load_in_replicas`, with its own replica count and
//! pod buffer).
//!
//! `cargo bench -p echoflow-operators --bench autoscale -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use echoflow_operators::autoscale::config::{AutoscalerConfig, PolicyKind};
use echoflow_operators::autoscale::flap_budget::{self, FlapBudget};
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

/// Times `step(now, i)` for the `i`-th evaluation (`now` = 15 s × `i`; `i` runs on across
/// Criterion's samples, so the state keeps moving as in a run), as `name`/`n` in `g`.
fn bench_steps<T>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    n: u32,
    mut step: impl FnMut(u64, usize) -> T,
) {
    let mut i = 0usize;
    g.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            let out = step(i as u64 * 15_000, i % VIEWS);
            i += 1;
            black_box(out)
        })
    });
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
            bench_steps(&mut g, name, n, |now, i| policy.evaluate(now, &vs[i]));
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
        let mut shadow = FlapBudget::new(flap_budget::DEFAULT_RATIO, &cfg);
        // What predictive hands the shadow: the view's load in replicas' worth.
        let loads: Vec<f64> = vs
            .iter()
            .map(|v| v.load_in_replicas().unwrap_or(0.0))
            .collect();
        bench_steps(&mut g, "evaluate", n, |now, i| full.evaluate(now, &vs[i]));
        bench_steps(&mut g, "next_replicas", n, |now, i| {
            lean.next_replicas(now, &vs[i])
        });
        bench_steps(&mut g, "flap_budget_observe", n, |now, i| {
            shadow.observe(now, n, loads[i]);
            shadow.counts()
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_hpa);
criterion_main!(benches);
