//! Everything a worker needs to build the dataflow, derived once from the validated configuration.

use crate::config::{BridgeError, Config};
use crate::memory_probe::MemoryProbe;
use echoflow_connectors::schema::RequestLimits;
use echoflow_operators::admission::Admission;
use echoflow_operators::aimd::AimdConfig;
use echoflow_operators::autoscale::config::AutoscalerConfig;
use echoflow_operators::fleet::FleetConfig;
use echoflow_operators::reservoir::{ProfiledModel, builtin_model, read_model};
use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

/// Where the AIMD governor's extra pressure input comes from.
#[derive(Debug, Clone, Default)]
pub enum PressureSource {
    /// None: `replay`, or `aimd.process_memory = false` (SPEC §3).
    #[default]
    Off,
    /// The process's own memory pressure, read when telemetry is applied (`run`).
    Process(MemoryProbe),
}

impl PressureSource {
    /// The current reading, if any (an unreadable probe counts as no reading).
    pub fn read(&self) -> Option<f64> {
        match self {
            PressureSource::Off => None,
            PressureSource::Process(p) => p.read().ok().map(|r| r.pressure),
        }
    }
}

/// Errors preparing the dataflow.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error("reservoir.model = {path:?}: {detail}")]
    Model { path: String, detail: String },
    #[error("reservoir: cannot fit the built-in model: {0}")]
    Builtin(String),
}

/// The dataflow's parameters.
#[derive(Clone)]
pub struct Params {
    pub logical_shards: u32,
    pub fleet: FleetConfig,
    pub aimd: AimdConfig,
    pub admission: Admission,
    pub autoscaler: AutoscalerConfig,
    pub model: Arc<ProfiledModel>,
    pub limits: RequestLimits,
    /// Carried session state: (`reservoir.session_ttl_ms`, `reservoir.sessions_per_shard`).
    pub sessions: (u64, usize),
    /// The start-up `config` control event: (ts, SHA-256 of the effective configuration).
    pub config_event: Option<(u64, String)>,
    pub pressure: PressureSource,
}

impl Params {
    /// From a validated configuration; loads (or fits) the reservoir model.
    pub fn from_config(config: &Config) -> Result<Params, ParamsError> {
        let r = &config.reservoir;
        let model = if r.model.is_empty() {
            builtin_model(r.units as usize, r.reduced_units as usize, r.seed)
                .map_err(|e| ParamsError::Builtin(e.to_string()))?
        } else {
            let err = |detail: String| ParamsError::Model {
                path: r.model.clone(),
                detail,
            };
            let f = File::open(&r.model).map_err(|e| err(e.to_string()))?;
            let esn = read_model(BufReader::new(f)).map_err(|e| err(e.to_string()))?;
            ProfiledModel::full_only(esn)
        };
        let limits = RequestLimits {
            max_steps: r.max_steps as usize,
            input_dim: Some(model.input_dim()),
        };
        Ok(Params {
            logical_shards: config.pipeline.logical_shards,
            fleet: config.fleet_params(),
            aimd: config.aimd_params(),
            admission: Admission::new(config.routing_params(), config.red_params()),
            autoscaler: config.autoscaler_params()?,
            model: Arc::new(model),
            limits,
            sessions: (r.session_ttl_ms, r.sessions_per_shard as usize),
            config_event: None,
            pressure: PressureSource::Off,
        })
    }
}
