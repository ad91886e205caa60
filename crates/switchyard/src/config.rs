//! `switchyard.toml`: listeners, authorization, pre-registered clients and users, upstreams.
//! Documented in docs/configuration.md; unknown keys are errors, reported with their line.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use switchyard_gateway::UpstreamConfig;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Listener and public address.
    #[serde(default)]
    pub(crate) server: ServerSection,
    /// Authorization.
    #[serde(default)]
    pub(crate) auth: AuthSection,
    /// Servers to federate; none means the built-in demo server.
    #[serde(default)]
    pub(crate) upstreams: Vec<UpstreamConfig>,
    /// Gateway options.
    #[serde(default)]
    pub(crate) gateway: GatewaySection,
}

/// `[gateway]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewaySection {
    /// `tool_search = { enabled, pinned, top_k, mode }` (docs/configuration.md, "Tool search").
    #[serde(default)]
    pub(crate) tool_search: ToolSearchSection,
}

/// `[gateway] tool_search`: off unless `enabled`; the rest is the gateway's own settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolSearchSection {
    #[serde(default)]
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) pinned: Vec<String>,
    #[serde(default)]
    pub(crate) top_k: Option<usize>,
    #[serde(default)]
    pub(crate) mode: switchyard_gateway::ToolSearchMode,
}

impl ToolSearchSection {
    /// The gateway settings, when enabled.
    pub(crate) fn config(&self) -> Option<switchyard_gateway::ToolSearchConfig> {
        self.enabled.then(|| switchyard_gateway::ToolSearchConfig {
            pinned: self.pinned.clone(),
            top_k: self
                .top_k
                .unwrap_or(switchyard_gateway::tool_search::DEFAULT_TOP_K),
            mode: self.mode,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    #[serde(default = "default_listen")]
    pub(crate) listen: SocketAddr,
    /// The URL clients use (scheme, host, port); defaults to `http://<listen>`.
    #[serde(default)]
    pub(crate) public_url: Option<String>,
    #[serde(default = "default_path")]
    pub(crate) path: String,
    /// Public host names accepted in Host/Origin besides loopback.
    #[serde(default)]
    pub(crate) allowed_hosts: Vec<String>,
    /// Also serve the 2024-11-05 HTTP+SSE transport.
    #[serde(default)]
    pub(crate) legacy_sse: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            path: default_path(),
            allowed_hosts: Vec::new(),
            legacy_sse: false,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8787))
}

fn default_path() -> String {
    "/mcp".into()
}

/// Who issues the tokens the endpoint accepts.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthMode {
    /// The built-in authorization server.
    #[default]
    Builtin,
    /// An external issuer (its JWKS).
    External,
    /// No authorization at all (local development only).
    None,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthSection {
    #[serde(default)]
    pub(crate) mode: AuthMode,
    /// Issuer: the external one, or the built-in one's URL (defaults to the public URL).
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    /// JWKS URL of an external issuer.
    #[serde(default)]
    pub(crate) jwks_url: Option<String>,
    /// Scopes offered.
    #[serde(default = "default_scopes")]
    pub(crate) scopes: Vec<String>,
    /// Database of the built-in server (`sqlite://…?mode=rwc` or `postgres://…`).
    #[serde(default)]
    pub(crate) database_url: Option<String>,
    /// Pre-registered clients.
    #[serde(default)]
    pub(crate) clients: Vec<ClientEntry>,
    /// Users of the built-in login.
    #[serde(default)]
    pub(crate) users: Vec<UserEntry>,
    /// Development only: fetch client ID metadata documents from loopback addresses, over plain
    /// `http` or `https` with a self-signed certificate (the SSRF guard forbids both otherwise).
    #[serde(default)]
    pub(crate) danger_allow_loopback_metadata_documents: bool,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            mode: AuthMode::Builtin,
            issuer: None,
            jwks_url: None,
            scopes: default_scopes(),
            database_url: None,
            clients: Vec::new(),
            users: Vec::new(),
            danger_allow_loopback_metadata_documents: false,
        }
    }
}

fn default_scopes() -> Vec<String> {
    vec!["mcp:read".into(), "mcp:write".into()]
}

/// A pre-registered OAuth client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientEntry {
    pub(crate) client_id: String,
    /// Secret of a confidential client (hashed at rest); or name an env var with `client_secret_env`.
    #[serde(default)]
    pub(crate) client_secret: Option<String>,
    #[serde(default)]
    pub(crate) client_secret_env: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(crate) grant_types: Vec<String>,
}

/// A user of the built-in login.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserEntry {
    pub(crate) username: String,
    /// Name of the environment variable holding the password (passwords stay out of files).
    pub(crate) password_env: String,
}

impl Config {
    /// Reads and validates a config file; errors name the key and the line.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let mut c: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        c.apply_env();
        c.validate()?;
        Ok(c)
    }

    /// Environment overrides: `SWITCHYARD_LISTEN`, `SWITCHYARD_PUBLIC_URL`, `DATABASE_URL`.
    fn apply_env(&mut self) {
        if let Some(l) = std::env::var("SWITCHYARD_LISTEN")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            self.server.listen = l;
        }
        if let Ok(u) = std::env::var("SWITCHYARD_PUBLIC_URL") {
            self.server.public_url = Some(u);
        }
        if let Ok(u) = std::env::var("SWITCHYARD_DATABASE_URL") {
            self.auth.database_url = Some(u);
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(k) = self.gateway.tool_search.top_k {
            let max = switchyard_gateway::tool_search::MAX_TOP_K;
            if !(1..=max).contains(&k) {
                anyhow::bail!("gateway.tool_search.top_k must be between 1 and {max}, not {k}");
            }
        }
        if !self.server.path.starts_with('/') {
            anyhow::bail!("server.path must start with '/'");
        }
        if self.auth.mode == AuthMode::External
            && (self.auth.issuer.is_none() || self.auth.jwks_url.is_none())
        {
            anyhow::bail!("auth.mode = \"external\" needs auth.issuer and auth.jwks_url");
        }
        let mut names = std::collections::HashSet::new();
        for u in &self.upstreams {
            if !names.insert(&u.name) {
                anyhow::bail!("upstreams: the name {:?} is used twice", u.name);
            }
            u.validate()
                .map_err(|e| anyhow::anyhow!("upstreams ({}): {e}", u.name))?;
            if u.per_user().is_some() && self.auth.mode != AuthMode::Builtin {
                anyhow::bail!(
                    "upstreams ({}): oauth_per_user needs auth.mode = \"builtin\" (the connect pages know the user in the browser by the built-in login session)",
                    u.name
                );
            }
        }
        Ok(())
    }

    /// The settings fixed at start that differ in `next` (a reload cannot apply them).
    pub(crate) fn fixed_settings_changed(&self, next: &Config) -> Vec<&'static str> {
        let (a, b) = (&self.server, &next.server);
        let mut out = Vec::new();
        if a.listen != b.listen {
            out.push("server.listen");
        }
        if a.public_url != b.public_url {
            out.push("server.public_url");
        }
        if a.path != b.path {
            out.push("server.path");
        }
        if a.allowed_hosts != b.allowed_hosts {
            out.push("server.allowed_hosts");
        }
        if a.legacy_sse != b.legacy_sse {
            out.push("server.legacy_sse");
        }
        if self.auth != next.auth {
            out.push("auth");
        }
        if self.gateway != next.gateway {
            out.push("gateway.tool_search");
        }
        out
    }

    /// The public base URL (no trailing slash).
    pub(crate) fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_parses() {
        let c = Config::parse(
            r#"
[server]
listen = "0.0.0.0:9000"
public_url = "https://mcp.example.com"
allowed_hosts = ["mcp.example.com"]

[auth]
scopes = ["mcp:read"]

[[auth.clients]]
client_id = "ci"
redirect_uris = ["http://127.0.0.1/callback"]

[[upstreams]]
name = "docs"
url = "https://docs.example.com/mcp"
deny_tools = ["delete_*"]
timeout = 5

[[upstreams]]
name = "files"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
"#,
        )
        .unwrap();
        assert_eq!(c.public_url(), "https://mcp.example.com");
        assert_eq!(c.upstreams.len(), 2);
        assert_eq!(c.upstreams[0].timeout.as_secs(), 5);
    }

    #[test]
    fn unknown_keys_are_reported_with_their_line() {
        let e = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("listne") && msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn gateway_tool_search_is_off_unless_enabled() {
        assert_eq!(
            Config::parse("").unwrap().gateway.tool_search.config(),
            None
        );
        let c = Config::parse(
            "[gateway]\ntool_search = { enabled = true, pinned = [\"docs__*\"], mode = \"regex\" }\n",
        )
        .unwrap();
        let ts = c.gateway.tool_search.config().unwrap();
        assert_eq!(ts.pinned, ["docs__*"]);
        assert_eq!(ts.top_k, switchyard_gateway::tool_search::DEFAULT_TOP_K);
        assert_eq!(ts.mode, switchyard_gateway::ToolSearchMode::Regex);
        let e =
            Config::parse("[gateway]\ntool_search = { enabled = true, top_k = 0 }\n").unwrap_err();
        assert!(format!("{e:#}").contains("top_k"), "{e:#}");
        assert!(Config::parse("[gateway]\ntool_search = { enabeld = true }\n").is_err());
    }

    #[test]
    fn per_user_oauth_is_checked_at_load() {
        let up = "[[upstreams]]\nname = \"gh\"\nurl = \"https://gh.example/mcp\"\n";
        let c =
            Config::parse(&format!("{up}oauth_per_user = {{ scopes = [\"repo\"] }}\n")).unwrap();
        assert_eq!(
            c.upstreams[0].per_user().map(|p| p.scopes.clone()),
            Some(vec!["repo".to_owned()])
        );
        let e = Config::parse(&format!(
            "{up}bearer_token = \"t\"\noauth_per_user = {{}}\n"
        ))
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("oauth_per_user excludes"),
            "{e:#}"
        );
        let e = Config::parse(&format!(
            "[auth]\nmode = \"external\"\nissuer = \"https://i\"\njwks_url = \"https://i/jwks\"\n{up}oauth_per_user = {{}}\n"
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains("builtin"), "{e:#}");
        assert!(Config::parse(&format!("{up}oauth_per_user = {{ scope = [] }}\n")).is_err());
    }

    #[test]
    fn external_auth_needs_issuer_and_jwks() {
        assert!(Config::parse("[auth]\nmode = \"external\"\n").is_err());
    }
}
