//! Secrets in `[kafka.client]`: which keys hold them, and the map that never shows them.
//!
//! SPEC §6: values of `kafka.client` keys matching `*password*`, `*secret*`, `*token*` or
//! `*.key*` (case-insensitive) are redacted wherever configuration is printed, logged or hashed.
//! The patterns cover librdkafka's secret-bearing properties (`sasl.password`,
//! `ssl.key.password`, `ssl.key.pem`, `ssl.keystore.password`, `sasl.oauthbearer.client.secret`,
//! `sasl.oauthbearer.token.endpoint.url` — the last is not a secret, but the rule is the SPEC's
//! and errs on the side of hiding).
//!
//! [`ClientSettings`] keeps the real values for the Kafka client, and its `Debug` shows
//! [`REDACTED`] in their place, so `tracing::debug!(?config)` cannot leak them.
//!
//! ```
//! use echoflow_pipeline::config::{is_secret, ClientSettings, REDACTED};
//! let mut client = ClientSettings::default();
//! client.insert("sasl.password", "hunter2");
//! client.insert("security.protocol", "SASL_SSL");
//! assert!(is_secret("SSL.Key.Password"));
//! assert_eq!(client.get("sasl.password"), Some("hunter2"));
//! assert!(!format!("{client:?}").contains("hunter2"));
//! assert_eq!(client.redacted().get("sasl.password"), Some(REDACTED));
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What a secret value is replaced with when shown or hashed.
pub const REDACTED: &str = "<redacted>";

/// Whether a `kafka.client` key holds a secret: it contains `password`, `secret`, `token` or
/// `.key`, ignoring case.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", ".key"]
        .iter()
        .any(|pattern| key.contains(pattern))
}

/// librdkafka settings from `[kafka.client]`, key → value, sorted by key.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientSettings(BTreeMap<String, String>);

impl ClientSettings {
    /// Sets `key` to `value`, replacing any earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// The real value of `key` (for the Kafka client only: never print it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every (key, real value), sorted by key: what is handed to librdkafka.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many settings there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy with every secret value replaced by [`REDACTED`].
    pub fn redacted(&self) -> ClientSettings {
        ClientSettings(
            self.0
                .iter()
                .map(|(k, v)| {
                    let shown = if is_secret(k) { REDACTED } else { v.as_str() };
                    (k.clone(), shown.to_string())
                })
                .collect(),
        )
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.redacted().0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_patterns_match_case_insensitively() {
        for key in [
            "sasl.password",
            "SASL.PASSWORD",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl.keystore.location",
            "sasl.oauthbearer.client.secret",
            "my.Token",
        ] {
            assert!(is_secret(key), "{key} should be secret");
        }
        for key in [
            "security.protocol",
            "sasl.mechanism",
            "session.timeout.ms",
            "key",
        ] {
            assert!(!is_secret(key), "{key} should not be secret");
        }
    }

    #[test]
    fn debug_and_redacted_hide_only_secrets() {
        let mut c = ClientSettings::default();
        c.insert("sasl.password", "pw1");
        c.insert("sasl.username", "alice");
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw1"));
        assert!(shown.contains("alice"));
        let r = c.redacted();
        assert_eq!(r.get("sasl.password"), Some(REDACTED));
        assert_eq!(r.get("sasl.username"), Some("alice"));
        assert_eq!(c.get("sasl.password"), Some("pw1"));
        assert_eq!(c.len(), 2);
    }
}
