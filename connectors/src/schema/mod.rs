//! Wire schemas of every echoflow stream (SPEC §2) and their validating decoders.
//!
//! Inputs are decoded in two steps: the bytes are parsed as a JSON object, then each field is
//! checked by name, so that every error names the field and what was wrong with it
//! (`field 'cpu': must be in 0..=1, got 1.5`). Decoding never panics on any input: a record is
//! either a value or a [`FieldError`], which the caller turns into a dead letter
//! ([`crate::dead_letter::DeadLetter`]). Unknown fields are ignored (producers may add fields).
//!
//! | stream | type |
//! |---|---|
//! | `echoflow.requests` | [`Request`] |
//! | `echoflow.telemetry` | [`Telemetry`] |
//! | `echoflow.admitted`, `echoflow.rejections`, `echoflow.control-events` | [`outputs`] |
//! | `echoflow.dead-letter` | [`crate::dead_letter::DeadLetter`] |

mod fields;
pub mod outputs;
mod request;
mod telemetry;

pub use fields::FieldError;
pub use request::{Request, RequestLimits};
pub use telemetry::{Telemetry, decode_telemetry};
