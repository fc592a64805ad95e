//! The effective configuration as shown to people and machines: redacted TOML and its
//! fingerprint.
//!
//! The fingerprint is the SHA-256 (lowercase hex) of a canonical serialisation of the effective
//! configuration with secrets redacted (SPEC §2 `config` control event, §6). Canonical: the typed
//! [`Config`] is serialised as compact JSON behind a version line (`echoflow.config.v1`); struct
//! fields come in declaration order, `kafka.client` keys sorted (a `BTreeMap`), floats in their
//! shortest round-trip form and the loader has already turned `-0.0` into `0.0`. So equal
//! configurations give equal fingerprints however they were written — key order, `0.7` vs
//! `0.70`, a default spelled out or left implicit, a value set in the file or by the
//! environment — and a changed secret does not change the fingerprint (it is redacted first).
//!
//! ```
//! use echoflow_pipeline::config::{Config, ConfigLoader};
//! let a = ConfigLoader::from_text("a.toml", "[red]\nmax_p = 0.30\nmin_th = 0.6").load().unwrap();
//! let b = ConfigLoader::from_text("b.toml", "").load().unwrap();
//! assert_eq!(a.fingerprint(), b.fingerprint());
//! assert_eq!(a.fingerprint(), Config::default().fingerprint());
//! assert_eq!(a.fingerprint().len(), 64);
//! ```

use super::types::Config;
use sha2::{Digest, Sha256};

/// The version line that starts the hashed text; bump it if the serialisation changes.
const CANONICAL_VERSION: &str = "echoflow.config.v1\n";

impl Config {
    /// A copy with every secret `kafka.client` value replaced by
    /// [`REDACTED`](super::REDACTED).
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.kafka.client = self.kafka.client.redacted();
        c
    }

    /// The canonical text that [`fingerprint`](Self::fingerprint) hashes (secrets redacted).
    pub fn canonical(&self) -> String {
        let json = serde_json::to_string(&self.redacted())
            // Unreachable for this type (string keys only); hashing the error keeps it total.
            .unwrap_or_else(|e| format!("unserializable configuration: {e}"));
        format!("{CANONICAL_VERSION}{json}")
    }

    /// SHA-256 of [`canonical`](Self::canonical), lowercase hex.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The effective configuration as a TOML document, secrets redacted (`validate --print`).
    pub fn to_redacted_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_reach_the_hash_or_the_toml() {
        let mut a = Config::default();
        a.kafka.client.insert("sasl.password", "one");
        let mut b = Config::default();
        b.kafka.client.insert("sasl.password", "two");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(!a.canonical().contains("one"));
        let shown = a.to_redacted_toml().unwrap();
        assert!(!shown.contains("one"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn any_visible_change_changes_the_hash() {
        let base = Config::default();
        let mut c = base.clone();
        c.red.max_p = 0.31;
        assert_ne!(c.fingerprint(), base.fingerprint());
        let mut c = base.clone();
        c.kafka.client.insert("sasl.username", "alice");
        assert_ne!(c.fingerprint(), base.fingerprint());
    }

    #[test]
    fn fingerprint_is_lowercase_hex_sha256() {
        let f = Config::default().fingerprint();
        assert_eq!(f.len(), 64);
        assert!(
            f.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }
}
