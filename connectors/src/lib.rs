//! # echoflow-connectors
//!
//! echoflow's I/O: the wire schemas of every stream (SPEC §2) with their validation, dead letters,
//! the Kafka source and sink as timely operators, and JSONL file sources and sinks.
//!
//! | module | concept |
//! |---|---|
//! | [`schema`] | wire types and validating decoders |
//! | [`dead_letter`] | dead-letter records and record origins |
//! | [`ingest`] | on time, late or dead letter: what a source makes of a record |
//! | [`watermark`] | per-partition lateness and the worker watermark (SPEC §4) |
//! | [`kafka`] | Kafka source and sink operators with no-loss offset commits |
//! | [`jsonl`] | JSONL file source and sink |

pub mod dead_letter;
pub mod ingest;
pub mod jsonl;
pub mod kafka;
pub mod schema;
pub mod watermark;
