//! Feature priorities of a request (SPEC §2 `priority`), shared by the wire schema, the
//! degradation gate and RED (critical requests are never RED-dropped).
//!
//! Ordered from most to least important: `critical > high > medium > low > optional`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A request's feature priority. `Ord` follows importance: `Critical` is the greatest.
///
/// ```
/// use echoflow_operators::priority::Priority;
/// let p: Priority = "high".parse().unwrap();
/// assert!(p > Priority::Medium && p < Priority::Critical);
/// assert_eq!(p.as_str(), "high");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Optional,
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    /// Every priority, least important first.
    pub const ALL: [Priority; 5] = [
        Priority::Optional,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Critical,
    ];

    /// The wire name (`"critical"`, `"high"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Optional => "optional",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a name that is not one of the five priorities.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority {0:?}; allowed: critical, high, medium, low, optional")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPriority(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert!("urgent".parse::<Priority>().is_err());
        assert!("Critical".parse::<Priority>().is_err());
    }

    #[test]
    fn order_is_importance() {
        assert!(Priority::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
