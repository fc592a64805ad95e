//! Autoscaling (SPEC §3 "Autoscaling", §5 `simulate`): policies, decisions, forecasters and the
//! fleet model of the simulator, all as pure state machines — no I/O, no clock; event time (ms)
//! is passed in by the caller.
//!
//! | module | concept |
//! |---|---|
//! | [`config`] | `[autoscaler]`, `[autoscaler.cost]`, `[autoscaler.behavior]`, `[simulate]` with SPEC §6 defaults |
//! | [`decision`] | the decision record of `echoflow.scaling-decisions` |
//! | [`utilization`] | the fleet view and the SPEC §3 utilisation (shed demand counts as demand) |
//! | [`policy`] | the policy trait and the factory |
//! | [`threshold`] | `threshold`: thresholds, cooldowns, adaptive thresholds |
//! | [`hpa`] | `hpa`: the Kubernetes HPA replica calculator and behavior normalisation |
//! | [`forecast`] | linear regression, moving average, Holt, the ESN, the accuracy-tracking ensemble |
//! | [`predictive`] | `predictive`: scale ahead of the forecast, floored by HPA on scale-up |
//! | [`level_envelope`] | the highest load level that began within a window (`predictive`'s scale-down) |
//! | [`cost`] | the cost model's veto of scale-ups that do not pay |
//! | [`flap_budget`] | a shadow HPA's reversals as the bound on `predictive`'s early releases |
//! | [`fleet_model`] | the modelled fleet of `echoflow simulate` and the loop that drives a policy |
//!
//! Every evaluation (every `autoscaler.interval_ms`, 15 s) emits a [`decision::Decision`], holds
//! included. The design, formulas and the simulator model are described in
//! `docs/autoscaling.md`.

pub mod config;
pub mod cost;
pub mod decision;
pub mod flap_budget;
pub mod fleet_model;
pub mod forecast;
pub mod hpa;
pub mod level_envelope;
pub mod policy;
pub mod predictive;
pub mod threshold;
pub mod utilization;

use std::collections::VecDeque;

/// Drops the entries of a time-ordered window that are `window_ms` or more older than `now`.
pub(crate) fn drop_older<T>(q: &mut VecDeque<(u64, T)>, now: u64, window_ms: u64) {
    while q.front().is_some_and(|&(t, _)| t + window_ms <= now) {
        q.pop_front();
    }
}
