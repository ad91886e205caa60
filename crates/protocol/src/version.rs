//! Protocol versions and their negotiation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A protocol revision this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// The first release; HTTP+SSE transport.
    V2024_11_05,
    /// Streamable HTTP, OAuth, JSON-RPC batches.
    V2025_03_26,
    /// Structured tool output, elicitation, batches removed.
    V2025_06_18,
    /// The last legacy (session-based) revision.
    V2025_11_25,
    /// The first modern (stateless) revision.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every version this crate knows, oldest first.
    pub const ALL: [Self; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];
    /// The newest legacy (initialize/session) version.
    pub const LATEST_LEGACY: Self = Self::V2025_11_25;
    /// The newest version.
    pub const LATEST: Self = Self::V2026_07_28;

    /// The wire string, e.g. `"2025-11-25"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Modern versions are stateless: no `initialize`, no sessions, `_meta` on every request.
    pub const fn is_modern(self) -> bool {
        matches!(self, Self::V2026_07_28)
    }

    /// Whether this version accepts JSON-RPC batches (only 2025-03-26 does).
    pub const fn allows_batches(self) -> bool {
        matches!(self, Self::V2025_03_26)
    }

    /// Legacy `initialize` negotiation: the client's version if the server supports it as a
    /// legacy version, otherwise the newest legacy version the server speaks.
    pub fn negotiate_legacy(requested: &str) -> Self {
        match requested.parse::<Self>() {
            Ok(v) if !v.is_modern() => v,
            _ => Self::LATEST_LEGACY,
        }
    }

    /// The resource-not-found error code this version uses.
    pub const fn resource_not_found_code(self) -> crate::ErrorCode {
        if self.is_modern() {
            crate::ErrorCode::INVALID_PARAMS
        } else {
            crate::ErrorCode::RESOURCE_NOT_FOUND
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The version string is not one this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol version {0:?}")]
pub struct UnknownVersion(pub String);

impl FromStr for ProtocolVersion {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_negotiation_echoes_known_legacy_versions() {
        assert_eq!(
            ProtocolVersion::negotiate_legacy("2025-03-26"),
            ProtocolVersion::V2025_03_26
        );
        assert_eq!(
            ProtocolVersion::negotiate_legacy("2024-11-05"),
            ProtocolVersion::V2024_11_05
        );
    }

    #[test]
    fn legacy_negotiation_answers_unknown_with_latest_legacy() {
        assert_eq!(
            ProtocolVersion::negotiate_legacy("1999-01-01"),
            ProtocolVersion::V2025_11_25
        );
        // `initialize` is a legacy method: a modern version asked for through it gets legacy.
        assert_eq!(
            ProtocolVersion::negotiate_legacy("2026-07-28"),
            ProtocolVersion::V2025_11_25
        );
    }

    #[test]
    fn only_2025_03_26_allows_batches() {
        for v in ProtocolVersion::ALL {
            assert_eq!(v.allows_batches(), v == ProtocolVersion::V2025_03_26);
        }
    }
}
