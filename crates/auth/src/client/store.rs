//! Where client registrations and tokens live between requests and between runs.
//!
//! Entries are keyed by `(issuer, resource)`: the authorization server that issued the
//! credentials and the PRM `resource` they are for. Keying by issuer is what keeps one AS's
//! `client_id` from ever being sent to another.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::error::AuthError;

/// Identifies one set of credentials.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StoreKey {
    /// The AS issuer identifier, verbatim.
    pub issuer: String,
    /// The PRM `resource`, verbatim.
    pub resource: String,
}

/// How the client identity was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientKind {
    /// From configuration.
    PreRegistered,
    /// A Client ID Metadata Document URL.
    MetadataDocument,
    /// RFC 7591 dynamic client registration.
    Dynamic,
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TokenEndpointAuth {
    /// HTTP Basic with the form-urlencoded id and secret.
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
    /// Public client: `client_id` in the body only.
    #[serde(rename = "none")]
    None,
    /// A JWT signed with the client's private key (RFC 7523); client credentials grant only.
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt,
}

impl TokenEndpointAuth {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Parses an RFC 7591 name this client implements.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            _ => None,
        }
    }
}

/// A client identity at one AS. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`, for confidential clients.
    pub client_secret: Option<String>,
    /// Token endpoint authentication method.
    pub auth_method: TokenEndpointAuth,
    /// The redirect URI registered with it.
    pub redirect_uri: String,
    /// Where the identity came from.
    pub kind: ClientKind,
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("auth_method", &self.auth_method)
            .field("redirect_uri", &self.redirect_uri)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Tokens from one authorization. `Debug` hides both tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    /// Granted scopes (space-separated): the token response's `scope`, else what was requested.
    pub scope: Option<String>,
    /// When the token was obtained, seconds since the Unix epoch.
    pub obtained_at: u64,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("obtained_at", &self.obtained_at)
            .finish()
    }
}

/// Everything stored for one [`StoreKey`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEntry {
    /// The client identity used at this AS.
    pub client: Option<ClientRegistration>,
    /// The current tokens.
    pub tokens: Option<TokenSet>,
    /// The AS token endpoint, for refreshing without rediscovery.
    pub token_endpoint: Option<String>,
}

/// Persistence for [`StoreEntry`]s. Implementations must be cheap to call from async code
/// (the built-in ones hold the data in memory and write small files).
pub trait TokenStore: Send + Sync {
    /// The entry for `key`, if any.
    fn load(&self, key: &StoreKey) -> Result<Option<StoreEntry>, AuthError>;
    /// Replaces the entry for `key`.
    fn save(&self, key: &StoreKey, entry: &StoreEntry) -> Result<(), AuthError>;
    /// Deletes the entry for `key` (no error if absent).
    fn remove(&self, key: &StoreKey) -> Result<(), AuthError>;
    /// All keys, in a stable order.
    fn keys(&self) -> Result<Vec<StoreKey>, AuthError>;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A store that forgets everything when the process exits.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    entries: Mutex<BTreeMap<StoreKey, StoreEntry>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, key: &StoreKey) -> Result<Option<StoreEntry>, AuthError> {
        Ok(lock(&self.entries).get(key).cloned())
    }
    fn save(&self, key: &StoreKey, entry: &StoreEntry) -> Result<(), AuthError> {
        lock(&self.entries).insert(key.clone(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &StoreKey) -> Result<(), AuthError> {
        lock(&self.entries).remove(key);
        Ok(())
    }
    fn keys(&self) -> Result<Vec<StoreKey>, AuthError> {
        Ok(lock(&self.entries).keys().cloned().collect())
    }
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    entries: Vec<FileRecord>,
}

#[derive(Serialize, Deserialize)]
struct FileRecord {
    #[serde(flatten)]
    key: StoreKey,
    entry: StoreEntry,
}

const FILE_VERSION: u32 = 1;
/// A token file larger than this is not ours; refuse to load it.
const MAX_FILE_LEN: u64 = 16 * 1024 * 1024;

/// A JSON file holding every entry, readable only by its owner (mode 0600 on Unix).
///
/// Secrets are stored in plain text, protected by file permissions only. Each write replaces
/// the file atomically (write to a temporary file in the same directory, then rename).
#[derive(Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    entries: Mutex<BTreeMap<StoreKey, StoreEntry>>,
}

impl FileTokenStore {
    /// Opens (or prepares to create) the store at `path`; an existing file is loaded now.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, AuthError> {
        let path = path.into();
        let entries = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_FILE_LEN => {
                return Err(AuthError::Store(format!(
                    "{} is larger than {MAX_FILE_LEN} bytes",
                    path.display()
                )))
            }
            Ok(_) => {
                let text = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
                let f: FileFormat = serde_json::from_slice(&text).map_err(|e| {
                    AuthError::Store(format!("{} is not a token file: {e}", path.display()))
                })?;
                if f.version != FILE_VERSION {
                    return Err(AuthError::Store(format!(
                        "{} has unsupported version {}",
                        path.display(),
                        f.version
                    )));
                }
                f.entries.into_iter().map(|r| (r.key, r.entry)).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io_err(&path, e)),
        };
        Ok(Self {
            path,
            entries: Mutex::new(entries),
        })
    }

    /// The conventional location: `$XDG_CONFIG_HOME/switchyard/credentials.json`, else
    /// `$HOME/.config/switchyard/credentials.json`; `None` when neither variable is set.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })?;
        Some(base.join("switchyard").join("credentials.json"))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn persist(&self, entries: &BTreeMap<StoreKey, StoreEntry>) -> Result<(), AuthError> {
        let doc = FileFormat {
            version: FILE_VERSION,
            entries: entries
                .iter()
                .map(|(k, e)| FileRecord {
                    key: k.clone(),
                    entry: e.clone(),
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&doc)
            .map_err(|e| AuthError::Store(format!("serialize: {e}")))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                b.mode(0o700);
            }
            b.create(&dir).map_err(|e| io_err(&dir, e))?;
        }
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tokens.json".into());
        let tmp = dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            super::pkce::random_b64url(6)
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let write = || -> std::io::Result<()> {
            let mut f = opts.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(&self.path, e)
        })
    }
}

fn io_err(path: &Path, e: std::io::Error) -> AuthError {
    AuthError::Store(format!("{}: {e}", path.display()))
}

impl TokenStore for FileTokenStore {
    fn load(&self, key: &StoreKey) -> Result<Option<StoreEntry>, AuthError> {
        Ok(lock(&self.entries).get(key).cloned())
    }
    fn save(&self, key: &StoreKey, entry: &StoreEntry) -> Result<(), AuthError> {
        let mut g = lock(&self.entries);
        let previous = g.insert(key.clone(), entry.clone());
        if let Err(e) = self.persist(&g) {
            match previous {
                Some(p) => g.insert(key.clone(), p),
                None => g.remove(key),
            };
            return Err(e);
        }
        Ok(())
    }
    fn remove(&self, key: &StoreKey) -> Result<(), AuthError> {
        let mut g = lock(&self.entries);
        if g.remove(key).is_some() {
            self.persist(&g)?;
        }
        Ok(())
    }
    fn keys(&self) -> Result<Vec<StoreKey>, AuthError> {
        Ok(lock(&self.entries).keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (StoreKey, StoreEntry) {
        (
            StoreKey {
                issuer: "https://as.example".into(),
                resource: "https://mcp.example/mcp".into(),
            },
            StoreEntry {
                client: Some(ClientRegistration {
                    client_id: "cid".into(),
                    client_secret: Some("very-secret".into()),
                    auth_method: TokenEndpointAuth::ClientSecretBasic,
                    redirect_uri: "http://127.0.0.1:1/callback".into(),
                    kind: ClientKind::Dynamic,
                }),
                tokens: Some(TokenSet {
                    access_token: "at-secret".into(),
                    refresh_token: Some("rt-secret".into()),
                    expires_at: Some(10),
                    scope: Some("a b".into()),
                    obtained_at: 1,
                }),
                token_endpoint: Some("https://as.example/token".into()),
            },
        )
    }

    fn temp_path(tag: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!(
                "switchyard-auth-{tag}-{}",
                super::super::pkce::random_b64url(8)
            ))
            .join("tokens.json")
    }

    #[test]
    fn debug_output_hides_secrets_and_tokens() {
        let (_, e) = sample();
        let s = format!("{e:?}");
        assert!(!s.contains("very-secret"), "{s}");
        assert!(!s.contains("at-secret"), "{s}");
        assert!(!s.contains("rt-secret"), "{s}");
        assert!(s.contains("cid"));
    }

    #[test]
    fn memory_store_roundtrip_and_remove() {
        let s = MemoryTokenStore::new();
        let (k, e) = sample();
        assert_eq!(s.load(&k).unwrap(), None);
        s.save(&k, &e).unwrap();
        assert_eq!(s.load(&k).unwrap(), Some(e));
        assert_eq!(s.keys().unwrap(), vec![k.clone()]);
        s.remove(&k).unwrap();
        assert!(s.keys().unwrap().is_empty());
    }

    #[test]
    fn file_store_is_owner_only_and_survives_reload() {
        let path = temp_path("reload");
        let (k, e) = sample();
        {
            let s = FileTokenStore::open(&path).unwrap();
            assert!(s.keys().unwrap().is_empty());
            s.save(&k, &e).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700, "dir mode {dir_mode:o}");
        }
        let s = FileTokenStore::open(&path).unwrap();
        assert_eq!(s.load(&k).unwrap(), Some(e));
        s.remove(&k).unwrap();
        let s = FileTokenStore::open(&path).unwrap();
        assert_eq!(s.load(&k).unwrap(), None);
        // No temporary files left behind.
        let dir = path.parent().unwrap();
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn default_path_ends_in_switchyard_credentials() {
        if let Some(p) = FileTokenStore::default_path() {
            assert!(
                p.ends_with("switchyard/credentials.json"),
                "{}",
                p.display()
            );
        }
    }

    #[test]
    fn file_store_refuses_foreign_files() {
        let path = temp_path("foreign");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"not json").unwrap();
        assert!(matches!(
            FileTokenStore::open(&path),
            Err(AuthError::Store(_))
        ));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
