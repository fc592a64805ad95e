//! Dead letters (SPEC §2 `echoflow.dead-letter`): undecodable, invalid or late input, kept with
//! where it came from, why it was refused, and its raw bytes.
//!
//! `raw` is the record's bytes as text when they are valid UTF-8, else their standard base64
//! encoding; the added field `raw_encoding` (`"utf8"` or `"base64"`) says which, so the bytes can
//! always be recovered exactly.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// Where a record came from: a Kafka topic partition and offset, or a file, partition 0 and the
/// 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Kafka topic or the file's base name.
    pub source: String,
    pub partition: i32,
    /// Kafka offset, or 1-based line number for files.
    pub offset: i64,
}

/// One dead-letter record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub source: String,
    pub partition: i32,
    pub offset: i64,
    pub error: String,
    pub raw: String,
    pub raw_encoding: RawEncoding,
}

/// How `raw` holds the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawEncoding {
    Utf8,
    Base64,
}

impl DeadLetter {
    /// A dead letter for `raw` from `origin`, refused for `error`.
    ///
    /// ```
    /// use echoflow_connectors::dead_letter::{DeadLetter, Origin, RawEncoding};
    /// let o = Origin { source: "echoflow.requests".into(), partition: 3, offset: 42 };
    /// let d = DeadLetter::new(&o, "field 'ts': missing", &[0xff, 0x00]);
    /// assert_eq!((d.raw.as_str(), d.raw_encoding), ("/wA=", RawEncoding::Base64));
    /// assert_eq!(d.raw_bytes().unwrap(), vec![0xff, 0x00]);
    /// ```
    pub fn new(origin: &Origin, error: impl Into<String>, raw: &[u8]) -> Self {
        let (raw, raw_encoding) = match std::str::from_utf8(raw) {
            Ok(text) => (text.to_string(), RawEncoding::Utf8),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(raw),
                RawEncoding::Base64,
            ),
        };
        DeadLetter {
            source: origin.source.clone(),
            partition: origin.partition,
            offset: origin.offset,
            error: error.into(),
            raw,
            raw_encoding,
        }
    }

    /// The original bytes.
    pub fn raw_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self.raw_encoding {
            RawEncoding::Utf8 => Ok(self.raw.clone().into_bytes()),
            RawEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(&self.raw),
        }
    }

    /// The record as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        // A struct of strings and integers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Sort key for output files (SPEC §4): (source, partition, offset).
    pub fn sort_key(&self) -> (&str, i32, i64) {
        (&self.source, self.partition, self.offset)
    }
}
