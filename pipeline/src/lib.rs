//! # echoflow-pipeline
//!
//! Configuration, the dataflow that wires sources → operators → sinks, metrics and cluster start-up.
//!
//! | module | concept |
//! |---|---|
//! | [`config`] | `pipeline.toml` (SPEC §6): every key, its default, validation, environment overrides |
//! | [`dataflow`] | the dataflow: fast path, slow loop, outputs (SPEC §2–§4) |
//! | [`run`] | `echoflow run`: the dataflow against Kafka, at-least-once, SIGTERM drain |
//! | [`replay`] | `echoflow replay`: the dataflow over JSONL files |
//! | [`demo`] | `echoflow demo`: the dataflow against a simulated fleet that answers to what it admits, embedded |
//! | [`fleet_sim`] | simulated membranes: queues, cpu, memory and latency that follow the admitted load |
//! | [`layout`] | timely workers and processes (cluster mode) |
//! | [`loadgen`] | `echoflow loadgen`: a scenario produced to Kafka in real time |
//! | [`metrics`] | Prometheus metrics, `/healthz` and `/ready` (SPEC §7) |
//! | [`memory_probe`] | the process's own memory pressure (cgroup v2/v1, PSI, /proc/meminfo) |
//! | [`passthrough`] | Kafka → Kafka passthrough over the connectors (tests, benchmarks) |
//! | [`scenario`] | synthetic fleets: deterministic telemetry and requests (demo, loadgen, tests) |
//! | [`story`] | the demo's story: normal load, a surge, a failing membrane, a memory squeeze, recovery |
//! | [`simulate`] | `echoflow simulate`: a policy against a modelled fleet fed by a trace |

pub mod config;
pub mod dataflow;
pub mod demo;
pub mod fleet_sim;
pub mod layout;
pub mod loadgen;
pub mod memory_probe;
pub mod metrics;
pub mod passthrough;
pub mod replay;
pub mod run;
pub mod scenario;
pub mod simulate;
pub mod story;
