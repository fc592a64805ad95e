//! `pipeline.toml` (SPEC §6): every key with its default, environment and flag overrides,
//! validation that reports every problem, redaction of secrets and the configuration's
//! fingerprint.
//!
//! The reference for users is `docs/configuration.md` (every key, its type, default, allowed
//! values and an example); a test keeps it and [`schema::KEYS`] in step with the types here.
//!
//! | module | concept |
//! |---|---|
//! | [`types`] | the typed configuration and its defaults (SPEC §6; Kubernetes for HPA behaviour) |
//! | [`schema`] | every key: its type and allowed values |
//! | [`load`] | defaults < file < environment < flags, checked key by key |
//! | [`env`](mod@env) | `ECHOFLOW_<SECTION>__<KEY>` overrides |
//! | [`rules`] | rules between keys (`red.min_th < red.max_th`, …) |
//! | [`redact`] | which `kafka.client` settings are secrets, and hiding them |
//! | [`effective`] | the effective configuration as redacted TOML and its SHA-256 fingerprint |
//! | [`render`] | canonical one-line TOML for messages, docs and hashing |
//! | [`error`] | errors, one line each, with where the value came from |
//!
//! Design: a file is checked against an explicit schema rather than by deserialising straight
//! into the types with serde, because serde stops at the first error while `validate` must
//! report them all, and because messages must name the full dotted key, the value and what is
//! allowed. The types stay the single source of defaults: the schema holds no default values,
//! and the typed config is built by deserialising the serialised defaults with the checked
//! values put in. Deviations from the SPEC's wording, each documented in its module: an
//! `ECHOFLOW_` variable with no `__` is not an override ([`env`](mod@env)); `[kafka.client]` accepts
//! nested TOML tables and non-string scalars, flattened to librdkafka's dotted string settings,
//! and refuses `bootstrap.servers` / `group.id`, which come from `kafka.brokers` /
//! `kafka.group_id` ([`load`]).
//!
//! ```
//! use echoflow_pipeline::config::ConfigLoader;
//! let text = "[red]\nmin_th = 0.9\nmax_th = 0.8\nmax_p = 1.5\n[routing]\nstrategy = \"fastest\"\n";
//! let err = ConfigLoader::from_text("pipeline.toml", text).load().unwrap_err();
//! assert_eq!(err.lines(), vec![
//!     "pipeline.toml:2: red.min_th = 0.9 must be below red.max_th = 0.8",
//!     "pipeline.toml:4: red.max_p = 1.5: must be in (0, 1]",
//!     "pipeline.toml:6: routing.strategy = \"fastest\": must be one of round_robin, weighted, least_connections, least_loaded, p2c, consistent_hash",
//! ]);
//! ```

pub mod effective;
pub mod env;
pub mod error;
pub mod load;
pub mod operators;
pub mod redact;
pub mod render;
pub mod rules;
pub mod schema;
pub mod types;

pub use error::{ConfigError, LoadError, Origin};
pub use load::{ConfigLoader, FlagValue, Loaded};
pub use operators::BridgeError;
pub use redact::{ClientSettings, REDACTED, is_secret};
pub use render::render_value;
pub use types::*;
