//! What the gateway federates.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

/// How to reach one upstream server. `Debug` shows header names but not their values, and
/// never the bearer token or OAuth secret.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum UpstreamTarget {
    /// A remote server over Streamable HTTP (or the 2024-11-05 HTTP+SSE transport).
    Url {
        /// The MCP endpoint.
        url: String,
        /// Extra headers on every request.
        #[serde(default)]
        headers: HashMap<String, String>,
        /// A static bearer token: the gateway's own credential for this upstream, never the
        /// caller's.
        #[serde(default)]
        bearer_token: Option<String>,
        /// OAuth 2.1 client credentials: the gateway fetches (and renews) its own token.
        #[serde(default)]
        oauth: Option<OAuthCredentials>,
    },
    /// A local server started as a child process speaking stdio.
    Command {
        /// Program.
        command: String,
        /// Arguments.
        #[serde(default)]
        args: Vec<String>,
        /// Environment.
        #[serde(default)]
        env: HashMap<String, String>,
        /// Working directory.
        #[serde(default)]
        cwd: Option<String>,
    },
}

impl std::fmt::Debug for UpstreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url {
                url,
                headers,
                bearer_token,
                oauth,
            } => {
                // Header values are often credentials (`Authorization`, API keys).
                let mut names: Vec<&String> = headers.keys().collect();
                names.sort();
                f.debug_struct("Url")
                    .field("url", url)
                    .field("headers", &names)
                    .field("bearer_token", &bearer_token.as_ref().map(|_| "<redacted>"))
                    .field("oauth", oauth)
                    .finish()
            }
            Self::Command {
                command,
                args,
                env,
                cwd,
            } => {
                let mut names: Vec<&String> = env.keys().collect();
                names.sort();
                f.debug_struct("Command")
                    .field("command", command)
                    .field("args", args)
                    .field("env", &names)
                    .field("cwd", cwd)
                    .finish()
            }
        }
    }
}

/// OAuth 2.1 client credentials (RFC 6749 §4.4) the gateway uses for one upstream. The token is
/// the gateway's own, never a caller's. `Debug` hides the secret.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuthCredentials {
    /// The authorization server's token endpoint. Without it the endpoint is discovered from
    /// the upstream's protected-resource metadata (RFC 9728) and its authorization server's
    /// metadata (RFC 8414).
    #[serde(default)]
    pub token_url: Option<String>,
    /// The pre-registered `client_id`.
    pub client_id: String,
    /// The client secret, inline. Prefer `client_secret_env`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Name of the environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Scopes requested (`scope`, space-joined); empty sends none.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The RFC 8707 `resource` indicator; defaults to the protected-resource metadata's
    /// `resource`, else the upstream URL.
    #[serde(default)]
    pub resource: Option<String>,
}

impl std::fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_secret_env", &self.client_secret_env)
            .field("scopes", &self.scopes)
            .field("resource", &self.resource)
            .finish()
    }
}

impl OAuthCredentials {
    /// The client secret: inline, else from the named environment variable.
    pub fn secret(&self) -> Result<String, ConfigError> {
        match (&self.client_secret, &self.client_secret_env) {
            (Some(s), None) => Ok(s.clone()),
            (None, Some(var)) => std::env::var(var).map_err(|_| ConfigError::SecretEnvUnset {
                client_id: self.client_id.clone(),
                var: var.clone(),
            }),
            (Some(_), Some(_)) => Err(ConfigError::SecretTwice {
                client_id: self.client_id.clone(),
            }),
            (None, None) => Err(ConfigError::NoSecret {
                client_id: self.client_id.clone(),
            }),
        }
    }
}

/// A configuration that parses but cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `client_secret_env` names a variable that is not set.
    #[error("oauth client {client_id}: the environment variable {var} is not set")]
    SecretEnvUnset {
        /// The client.
        client_id: String,
        /// The variable.
        var: String,
    },
    /// Both `client_secret` and `client_secret_env`.
    #[error("oauth client {client_id}: give client_secret or client_secret_env, not both")]
    SecretTwice {
        /// The client.
        client_id: String,
    },
    /// Neither `client_secret` nor `client_secret_env`.
    #[error("oauth client {client_id}: client_secret or client_secret_env is required")]
    NoSecret {
        /// The client.
        client_id: String,
    },
    /// `protocol` names no version this gateway speaks.
    #[error("upstream {upstream}: unknown protocol version {version:?}")]
    UnknownProtocol {
        /// The upstream.
        upstream: String,
        /// What was given.
        version: String,
    },
    /// Both a static bearer token and OAuth credentials.
    #[error("upstream {upstream}: give bearer_token or oauth, not both")]
    TwoCredentials {
        /// The upstream.
        upstream: String,
    },
}

/// One upstream server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct UpstreamConfig {
    /// Name, used in the default prefix and in logs.
    pub name: String,
    /// How to reach it.
    #[serde(flatten)]
    pub target: UpstreamTarget,
    /// Prefix of its tool and prompt names; `None` means `<name>__`, `Some("")` none.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only these tools (glob patterns with `*`); empty means all.
    #[serde(default)]
    pub allow_tools: Vec<String>,
    /// Never these tools (glob patterns with `*`).
    #[serde(default)]
    pub deny_tools: Vec<String>,
    /// Per-request timeout.
    #[serde(default = "default_timeout", with = "secs")]
    pub timeout: Duration,
    /// Most requests in flight at once; more wait (backpressure) up to the timeout.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Scopes a caller's token must all carry to see and use this upstream's tools, prompts
    /// and resources; empty means every caller. Read from the [`Caller`](crate::Caller) in the
    /// request extensions.
    #[serde(default)]
    pub required_scopes: Vec<String>,
    /// Pins the protocol version asked of an HTTP upstream (e.g. `"2025-11-25"`) instead of
    /// detecting its era; for servers whose detection misbehaves.
    #[serde(default)]
    pub protocol: Option<String>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_concurrency() -> usize {
    64
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = f64::deserialize(d)?;
        if !(s.is_finite() && s > 0.0) {
            return Err(serde::de::Error::custom(
                "timeout must be a positive number of seconds",
            ));
        }
        Ok(Duration::from_secs_f64(s))
    }
}

impl UpstreamConfig {
    /// An HTTP upstream with defaults.
    pub fn url(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self::new(
            name,
            UpstreamTarget::Url {
                url: url.into(),
                headers: HashMap::new(),
                bearer_token: None,
                oauth: None,
            },
        )
    }

    /// A stdio upstream with defaults.
    pub fn command(name: impl Into<String>, command: impl Into<String>, args: Vec<String>) -> Self {
        Self::new(
            name,
            UpstreamTarget::Command {
                command: command.into(),
                args,
                env: HashMap::new(),
                cwd: None,
            },
        )
    }

    fn new(name: impl Into<String>, target: UpstreamTarget) -> Self {
        Self {
            name: name.into(),
            target,
            prefix: None,
            allow_tools: Vec::new(),
            deny_tools: Vec::new(),
            timeout: default_timeout(),
            max_concurrency: default_concurrency(),
            required_scopes: Vec::new(),
            protocol: None,
        }
    }

    /// Checks what parsing cannot: one credential at most, and a usable OAuth secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(v) = &self.protocol {
            if v.parse::<switchyard_protocol::ProtocolVersion>().is_err() {
                return Err(ConfigError::UnknownProtocol {
                    upstream: self.name.clone(),
                    version: v.clone(),
                });
            }
        }
        if let UpstreamTarget::Url {
            bearer_token,
            oauth: Some(o),
            ..
        } = &self.target
        {
            if bearer_token.is_some() {
                return Err(ConfigError::TwoCredentials {
                    upstream: self.name.clone(),
                });
            }
            o.secret()?;
        }
        Ok(())
    }

    /// The prefix applied to this upstream's tool and prompt names.
    pub fn effective_prefix(&self) -> String {
        self.prefix
            .clone()
            .unwrap_or_else(|| format!("{}__", self.name))
    }

    /// Whether a tool passes the allow and deny lists.
    pub fn tool_allowed(&self, name: &str) -> bool {
        (self.allow_tools.is_empty() || self.allow_tools.iter().any(|p| glob(p, name)))
            && !self.deny_tools.iter().any(|p| glob(p, name))
    }
}

/// `*`-only glob matching.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_prefixes_suffixes_and_middles() {
        assert!(glob("get_*", "get_user"));
        assert!(!glob("get_*", "set_user"));
        assert!(glob("*_user", "get_user"));
        assert!(glob("a*c*e", "abcde"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn allow_and_deny_lists_combine() {
        let mut u = UpstreamConfig::url("gh", "https://x");
        u.allow_tools = vec!["issue_*".into()];
        u.deny_tools = vec!["*_delete".into()];
        assert!(u.tool_allowed("issue_create"));
        assert!(!u.tool_allowed("issue_delete"));
        assert!(!u.tool_allowed("repo_list"));
        assert_eq!(u.effective_prefix(), "gh__");
    }
}
