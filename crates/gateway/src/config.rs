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
        /// Per-user OAuth: each caller authorizes the gateway at the upstream's authorization
        /// server once (URL-mode elicitation), and their calls carry their own token. The
        /// caller's gateway token is never sent upstream.
        #[serde(default)]
        oauth_per_user: Option<OAuthPerUser>,
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
                oauth_per_user,
            } => {
                // Header values are often credentials (`Authorization`, API keys).
                let mut names: Vec<&String> = headers.keys().collect();
                names.sort();
                f.debug_struct("Url")
                    .field("url", url)
                    .field("headers", &names)
                    .field("bearer_token", &bearer_token.as_ref().map(|_| "<redacted>"))
                    .field("oauth", oauth)
                    .field("oauth_per_user", oauth_per_user)
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

/// Per-user OAuth for one upstream (authorization code with PKCE, run by the gateway on each
/// user's behalf). Without `client_id` the gateway registers itself (a Client ID Metadata
/// Document is not used; dynamic registration, RFC 7591) with the redirect
/// `<public_url>/connect/callback`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuthPerUser {
    /// A `client_id` registered out of band at the upstream's authorization server.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Name of the environment variable holding that client's secret (confidential clients).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Scopes asked for in addition to the ones the upstream advertises.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl OAuthPerUser {
    /// The client secret from `client_secret_env`, if one is named.
    pub fn secret(&self) -> Result<Option<String>, ConfigError> {
        match &self.client_secret_env {
            None => Ok(None),
            Some(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| ConfigError::SecretEnvUnset {
                    client_id: self.client_id.clone().unwrap_or_default(),
                    var: var.clone(),
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
    /// `oauth_per_user` together with the gateway's own credential.
    #[error("upstream {upstream}: oauth_per_user excludes bearer_token and oauth (calls carry each user's own token)")]
    PerUserWithGatewayCredential {
        /// The upstream.
        upstream: String,
    },
    /// `client_secret_env` without `client_id` in `oauth_per_user`.
    #[error(
        "upstream {upstream}: oauth_per_user.client_secret_env needs oauth_per_user.client_id"
    )]
    PerUserSecretWithoutClient {
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
                oauth_per_user: None,
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
            oauth,
            oauth_per_user: Some(p),
            ..
        } = &self.target
        {
            if bearer_token.is_some() || oauth.is_some() {
                return Err(ConfigError::PerUserWithGatewayCredential {
                    upstream: self.name.clone(),
                });
            }
            if p.client_secret_env.is_some() && p.client_id.is_none() {
                return Err(ConfigError::PerUserSecretWithoutClient {
                    upstream: self.name.clone(),
                });
            }
            p.secret()?;
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

    /// The per-user OAuth settings, when calls carry each user's own token.
    pub fn per_user(&self) -> Option<&OAuthPerUser> {
        match &self.target {
            UpstreamTarget::Url {
                oauth_per_user: Some(p),
                ..
            } => Some(p),
            _ => None,
        }
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

    #[test]
    fn per_user_oauth_excludes_the_gateways_own_credential() {
        let parse = |extra: &str| -> UpstreamConfig {
            serde_json::from_str(&format!(
                r#"{{"name":"gh","url":"https://gh.example/mcp","oauth_per_user":{{"scopes":["repo"]}}{extra}}}"#
            ))
            .unwrap()
        };
        let ok = parse("");
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(
            ok.per_user().map(|p| p.scopes.clone()),
            Some(vec!["repo".to_owned()])
        );
        assert_eq!(
            parse(r#","bearer_token":"t""#).validate(),
            Err(ConfigError::PerUserWithGatewayCredential {
                upstream: "gh".into()
            })
        );
        let mut no_client = ok.clone();
        if let UpstreamTarget::Url {
            oauth_per_user: Some(p),
            ..
        } = &mut no_client.target
        {
            p.client_secret_env = Some("GH_SECRET".into());
        }
        assert_eq!(
            no_client.validate(),
            Err(ConfigError::PerUserSecretWithoutClient {
                upstream: "gh".into()
            })
        );
        assert!(UpstreamConfig::url("x", "https://x").per_user().is_none());
    }
}
