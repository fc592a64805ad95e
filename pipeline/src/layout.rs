//! How many timely workers, in how many processes: one process with `workers` threads, or
//! timely's cluster mode (process `i` of a hostfile's `n`, `workers` threads each). Outputs do
//! not depend on the layout (SPEC §4): state is split by key group, never by worker.

/// How many workers, in how many processes.
#[derive(Debug, Clone)]
pub enum TimelyLayout {
    /// `workers` threads in this process.
    Process { workers: usize },
    /// Process `process` of `addresses.len()`, `workers` threads each (timely's cluster mode).
    Cluster {
        workers: usize,
        process: usize,
        addresses: Vec<String>,
    },
}

impl TimelyLayout {
    /// Timely's configuration for this layout.
    pub fn config(&self) -> timely::Config {
        match self {
            TimelyLayout::Process { workers } => timely::Config::process((*workers).max(1)),
            TimelyLayout::Cluster {
                workers,
                process,
                addresses,
            } => timely::Config {
                communication: timely::CommunicationConfig::Cluster {
                    threads: (*workers).max(1),
                    process: *process,
                    addresses: addresses.clone(),
                    report: false,
                    zerocopy: false,
                },
                worker: timely::WorkerConfig::default(),
            },
        }
    }
}
