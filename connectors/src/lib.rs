//! # echoflow-connectors
//!
//! echoflow's I/O: the wire schemas of every stream (SPEC §2) with their validation, dead letters,
//! the Kafka source and sink as timely operators, and JSONL file sources and sinks.
