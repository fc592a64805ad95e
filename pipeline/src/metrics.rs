//! Metrics, health and readiness (SPEC §7) for `echoflow run`.
//!
//! The dataflow records through the `metrics` facade (a no-op when no recorder is installed, as
//! in `replay` and the tests); `run` installs the Prometheus recorder of
//! `metrics-exporter-prometheus` and serves, on `metrics.address` (127.0.0.1:9898 by default):
//!
//! * `GET /metrics` — the Prometheus text format;
//! * `GET /healthz` — 200 while the process is alive;
//! * `GET /ready` — 200 once every worker has built its dataflow (sources assigned) and taken a
//!   step, 503 before.
//!
//! The listener is a small blocking server on one thread (a scrape every few seconds needs no
//! async runtime). Series, all prefixed `echoflow_`:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `echoflow_requests_total` | counter | `outcome` (`admitted`, `rejected`), `reason` |
//! | `echoflow_dead_letters_total` | counter | |
//! | `echoflow_aimd_scale` | gauge | |
//! | `echoflow_aimd_state` | gauge | 0 normal, 1 degraded, 2 recovering |
//! | `echoflow_degradation_level` | gauge | 0 normal … 4 offline |
//! | `echoflow_red_avg_fill` | gauge | `membrane` |
//! | `echoflow_red_drop_probability` | gauge | `membrane` |
//! | `echoflow_breaker_state` | gauge | `membrane`; 0 closed, 1 open, 2 half-open |
//! | `echoflow_desired_replicas` | gauge | `resource` |
//! | `echoflow_reservoir_eval_seconds` | histogram | `profile` (`full`, `reduced`): one batch per event time |
//! | `echoflow_watermark_lag_seconds` | gauge | `stream` (`requests`, `telemetry`), `worker`: wall clock − released event-time watermark |
//! | `echoflow_consumer_lag` | gauge | `topic`, `partition`: end offset − consumer position (librdkafka statistics, each second) |
//! | `echoflow_end_to_end_latency_seconds` | histogram | request's arrival at the source → broker ack of its outcome |
//!
//! Histograms are Prometheus histograms (`_bucket`, `_sum`, `_count`) with the fixed buckets
//! below, not the exporter's default summaries: buckets add up across the processes of a
//! cluster (`histogram_quantile(0.99, sum by (le) (rate(…_bucket[5m])))`), quantiles of a
//! summary do not. The latency buckets span 1 ms to 30 s around issue #7's goal (p99 ≤ 50 ms);
//! the evaluation buckets 10 µs to 1 s (a batch of 100-unit reservoirs takes tens of µs to ms).
//! `docs/metrics.md` is the reference for operators, with example queries; the Grafana dashboard
//! is `deploy/grafana/dashboards/echoflow.json`.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Buckets (seconds) of `echoflow_end_to_end_latency_seconds`.
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets (seconds) of `echoflow_reservoir_eval_seconds`.
pub const EVAL_BUCKETS: [f64; 12] = [
    1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1e-1, 1.0,
];

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot install the Prometheus recorder: {0}")]
    Recorder(String),
    #[error("metrics.address = {address}: cannot listen: {error}")]
    Listen {
        address: SocketAddr,
        error: std::io::Error,
    },
}

/// Readiness: how many workers are ready out of how many.
#[derive(Debug, Default)]
pub struct Readiness {
    workers: AtomicUsize,
    ready: AtomicUsize,
}

impl Readiness {
    /// Expects `workers` workers in this process.
    pub fn new(workers: usize) -> Arc<Self> {
        Arc::new(Readiness {
            workers: AtomicUsize::new(workers.max(1)),
            ready: AtomicUsize::new(0),
        })
    }

    /// One worker has built its dataflow and taken a step.
    pub fn worker_ready(&self) {
        self.ready.fetch_add(1, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed) >= self.workers.load(Ordering::Relaxed)
    }
}

/// Installs the global Prometheus recorder and serves `/metrics`, `/healthz` and `/ready` on
/// `address` from a background thread. Returns the bound address (port 0 picks one).
pub fn serve(address: SocketAddr, ready: Arc<Readiness>) -> Result<SocketAddr, MetricsError> {
    let handle = builder()?
        .install_recorder()
        .map_err(|e| MetricsError::Recorder(e.to_string()))?;
    let listener =
        TcpListener::bind(address).map_err(|error| MetricsError::Listen { address, error })?;
    let bound = listener
        .local_addr()
        .map_err(|error| MetricsError::Listen { address, error })?;
    std::thread::Builder::new()
        .name("echoflow-metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Err(e) = answer(stream, &handle, &ready) {
                    tracing::debug!(error = %e, "metrics connection");
                }
            }
        })
        .map_err(|error| MetricsError::Listen { address, error })?;
    Ok(bound)
}

/// The exporter with echoflow's histogram buckets.
fn builder() -> Result<PrometheusBuilder, MetricsError> {
    let bucket_err =
        |e: metrics_exporter_prometheus::BuildError| MetricsError::Recorder(e.to_string());
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("echoflow_end_to_end_latency_seconds".into()),
            &LATENCY_BUCKETS,
        )
        .map_err(bucket_err)?
        .set_buckets_for_metric(
            Matcher::Full("echoflow_reservoir_eval_seconds".into()),
            &EVAL_BUCKETS,
        )
        .map_err(bucket_err)
}

fn answer(
    mut stream: TcpStream,
    handle: &PrometheusHandle,
    ready: &Readiness,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let (status, content_type, body) = match path {
        "/metrics" => ("200 OK", "text/plain; version=0.0.4", handle.render()),
        "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
        "/ready" if ready.is_ready() => ("200 OK", "text/plain", "ready\n".to_string()),
        "/ready" => (
            "503 Service Unavailable",
            "text/plain",
            "not ready: sources not assigned yet\n".to_string(),
        ),
        _ => (
            "404 Not Found",
            "text/plain",
            "not found: try /metrics, /healthz or /ready\n".to_string(),
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_as_buckets_that_add_up_across_processes() {
        let recorder = builder().map(|b| b.build_recorder()).unwrap();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("echoflow_end_to_end_latency_seconds").record(0.003);
            metrics::histogram!("echoflow_end_to_end_latency_seconds").record(0.04);
            metrics::histogram!("echoflow_reservoir_eval_seconds", "profile" => "full")
                .record(3e-5);
        });
        let text = recorder.handle().render();
        for line in [
            "echoflow_end_to_end_latency_seconds_bucket{le=\"0.002\"} 0",
            "echoflow_end_to_end_latency_seconds_bucket{le=\"0.005\"} 1",
            "echoflow_end_to_end_latency_seconds_bucket{le=\"0.05\"} 2",
            "echoflow_end_to_end_latency_seconds_bucket{le=\"+Inf\"} 2",
            "echoflow_end_to_end_latency_seconds_count 2",
            "echoflow_reservoir_eval_seconds_bucket{profile=\"full\",le=\"0.00005\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(!text.contains("quantile="), "no summaries:\n{text}");
    }

    #[test]
    fn buckets_are_increasing() {
        for b in [&LATENCY_BUCKETS[..], &EVAL_BUCKETS[..]] {
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
