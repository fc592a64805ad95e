//! # echoflow-operators
//!
//! The control logic of echoflow as plain state machines: no I/O, no Kafka, no timely, no clock.
//! Time is always the event time (ms since the epoch) passed in by the caller, so every operator
//! here can be unit- and property-tested on its own and replays give the same decisions.
//!
//! | module | concept |
//! |---|---|
//! | [`membrane_pool`] | fleet membership: register on telemetry, expire after a TTL |
//! | [`keyed`] | stable keyed randomness (seed, key) → draw, and Flink-style key groups |
//! | [`event`] | control events (SPEC §2 `control-events`) shared by the operators |
//! | [`fleet`] | the fleet view: pool, degradation and AIMD driven by telemetry and event time |
//! | [`config_error`] | the validation error of every operator config |
//! | [`circuit_breaker`] | Resilience4j-style breaker per membrane |
//! | [`routing`] | routing strategies over the healthy membranes |
//! | [`admission`] | the per-request fast path in SPEC §4's check order |
//! | [`priority`] | feature priorities of requests |
//! | [`red`] | Random Early Detection admission per membrane queue |
//! | [`aimd`] | AIMD governor and token bucket |
//! | [`degradation`] | degradation levels and feature-priority gating |
//! | [`reservoir`] | Echo State Network engine (ReservoirPy-compatible) |
//! | [`session_store`] | reservoir state carried between a session's requests |
//! | [`autoscale`] | autoscaling policies, forecasters and the fleet simulator model |

pub mod admission;
pub mod aimd;
pub mod autoscale;
pub mod circuit_breaker;
pub mod config_error;
pub mod degradation;
pub mod event;
pub mod fleet;
pub mod keyed;
pub mod membrane_pool;
pub mod priority;
pub mod red;
pub mod reservoir;
pub mod routing;
pub mod session_store;
