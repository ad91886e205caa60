//! Wiring of the gateway's per-user upstream OAuth in `switchyard serve`: sealed tokens in the
//! authorization server's database, the browser's user from the built-in AS login session, and
//! the sealing key from `SWITCHYARD_TOKEN_KEY` or a key file in the data directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use switchyard_auth::client::SsrfPolicy;
use switchyard_auth::server::AuthorizationServer;
use switchyard_gateway::per_user::StoreFuture;
use switchyard_gateway::{
    BrowserIdentity, Gateway, PerUserError, PerUserOptions, SealedTokenStore,
};
use switchyard_store::SqlStore;

use crate::config::Config;

/// Sealed blobs in switchyard-store's `upstream_user_tokens` table.
struct SqlSealed(Arc<SqlStore>);

impl SealedTokenStore for SqlSealed {
    fn load<'a>(&'a self, subject: &'a str, upstream: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            self.0
                .upstream_token(subject, upstream)
                .await
                .map_err(|e| PerUserError::Store(e.to_string()))
        })
    }
    fn save<'a>(
        &'a self,
        subject: &'a str,
        upstream: &'a str,
        sealed: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_upstream_token(subject, upstream, sealed)
                .await
                .map_err(|e| PerUserError::Store(e.to_string()))
        })
    }
}

/// The built-in AS's login session names the user in the browser.
struct AsSession(AuthorizationServer);

impl BrowserIdentity for AsSession {
    fn subject(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        self.0.session_user(headers)
    }
    fn sign_in_hint(&self) -> Option<String> {
        Some("for example by signing in your MCP client again".into())
    }
}

/// The sealing secret: `SWITCHYARD_TOKEN_KEY` (at least 32 bytes), else the key file
/// `upstream-tokens.key` next to the default database, created (random, mode 0600) on first use.
/// Kept out of the database on purpose: a copy of the database alone does not open the tokens.
fn secret() -> anyhow::Result<Vec<u8>> {
    if let Ok(k) = std::env::var("SWITCHYARD_TOKEN_KEY") {
        if k.len() < 32 {
            anyhow::bail!("SWITCHYARD_TOKEN_KEY must be at least 32 bytes");
        }
        return Ok(k.into_bytes());
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = base.join("switchyard");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("upstream-tokens.key");
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => anyhow::bail!("{} is shorter than 32 bytes", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let key: [u8; 32] = rand::random();
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut f, &key)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(key.to_vec())
}

/// Turns on per-user OAuth for the gateway's `oauth_per_user` upstreams.
pub(super) fn enable(
    gw: &Gateway,
    cfg: &Config,
    store: Arc<SqlStore>,
    authz: AuthorizationServer,
) -> anyhow::Result<()> {
    let ssrf = if cfg.auth.danger_allow_loopback_metadata_documents {
        // The same development switch: upstream authorization servers on loopback over http.
        SsrfPolicy::danger_allow_loopback_http()
    } else {
        SsrfPolicy::strict()
    };
    gw.enable_per_user(PerUserOptions {
        public_url: cfg.public_url(),
        secret: secret()?,
        store: Arc::new(SqlSealed(store)),
        browser: Arc::new(AsSession(authz)),
        ssrf,
    })
    .context("enabling per-user upstream OAuth")
}
