//! [`SqlStore`]: the [`AuthStore`] on SQLite or PostgreSQL through sqlx's `Any` driver, with
//! one SQL text for both backends.

use std::path::PathBuf;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row as _};

use crate::error::StoreError;
use crate::migrate::MIGRATIONS;
use crate::records::{
    ClientRecord, CodeRecord, CodeRedemption, RefreshRecord, RefreshUse, SecretHash,
    SigningKeyRecord, UserRecord,
};
use crate::store::AuthStore;

/// Connections in a PostgreSQL or file-backed SQLite pool.
const MAX_CONNECTIONS: u32 = 8;
/// How long SQLite waits on a locked database before failing a statement, in milliseconds.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// The advisory lock key PostgreSQL migrations run under, so concurrent openers do not race.
const PG_MIGRATION_LOCK: i64 = 0x5357_4954_4348;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL store. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

/// `sqlite://<data dir>/switchyard/auth.db?mode=rwc`, where the data directory is
/// `$XDG_DATA_HOME`, else `$HOME/.local/share`, else the current directory. Creates the
/// directory, readable only by its owner on Unix.
pub fn default_sqlite_url() -> Result<String, StoreError> {
    default_sqlite_url_named("auth.db")
}

/// Like [`default_sqlite_url`], for another database file in the same directory (the tool
/// search cache keeps its vectors apart from the authorization data in `search.db`).
pub fn default_sqlite_url_named(file_name: &str) -> Result<String, StoreError> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = base.join("switchyard");
    let data_dir_err = |source| StoreError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(data_dir_err)?;
    // The database holds signing keys and grant records: keep the directory private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(data_dir_err)?;
    }
    Ok(format!(
        "sqlite://{}?mode=rwc",
        dir.join(file_name).display()
    ))
}

impl SqlStore {
    /// Opens (and migrates) the database named by `url`: `sqlite::memory:`,
    /// `sqlite://path?mode=rwc`, or `postgres://…`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with_schema(url, None).await
    }

    /// Like [`open`](Self::open), but on PostgreSQL keeps every table in `schema` (created if
    /// missing; 1-63 lowercase letters, digits or `_`), so several servers, or tests, can
    /// share one database. Ignored for SQLite.
    pub async fn open_with_schema(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(s) = schema {
            let ok = !s.is_empty()
                && s.len() <= 63
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(StoreError::UnsupportedUrl(format!(
                    "invalid schema name {s:?}"
                )));
            }
        }
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let memory = backend == Backend::Sqlite && url.contains(":memory:");
        let mut opts = AnyPoolOptions::new();
        if memory {
            // Every connection to `:memory:` is a separate database: keep exactly one, forever.
            opts = opts
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            opts = opts.max_connections(MAX_CONNECTIONS);
        }
        if backend == Backend::Sqlite {
            opts = opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    let busy = format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}");
                    sqlx::query(&busy).execute(&mut *conn).await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    // With WAL, NORMAL keeps the database consistent across a crash; a power
                    // loss may drop the last few commits (recently issued tokens), which
                    // clients recover from by authorizing again.
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let schema = schema
            .filter(|_| backend == Backend::Postgres)
            .map(str::to_owned);
        if let Some(schema) = schema.clone() {
            opts = opts.after_connect(move |conn, _meta| {
                let set = format!("SET search_path TO {schema}");
                Box::pin(async move {
                    sqlx::query(&set).execute(&mut *conn).await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(url).await?;
        if let Some(schema) = &schema {
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&pool)
                .await?;
        }
        let store = Self { pool, backend };
        if backend == Backend::Sqlite && !memory {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        store.migrate().await?;
        Ok(store)
    }

    /// The connection pool, for the other modules' queries.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether this store is backed by PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// The highest applied migration version.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT MAX(version) AS v FROM switchyard_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        let result = async {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS switchyard_migrations (
                    version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            for (version, statements) in MIGRATIONS {
                let done =
                    sqlx::query("SELECT version FROM switchyard_migrations WHERE version = $1")
                        .bind(*version)
                        .fetch_optional(&mut *conn)
                        .await?;
                if done.is_some() {
                    continue;
                }
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for stmt in *statements {
                    sqlx::query(stmt).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO switchyard_migrations (version, applied_at) VALUES ($1, $2)",
                )
                .bind(*version)
                .bind(unix_now())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                tracing::info!(version, "applied store migration");
            }
            Ok::<(), StoreError>(())
        }
        .await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        result
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn join_list(items: &[String]) -> String {
    items.join("\n")
}

fn split_list(s: &str) -> Vec<String> {
    s.split('\n')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn client_from_row(r: &AnyRow) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        client_id: r.try_get("client_id")?,
        secret_hash: r
            .try_get::<Option<String>, _>("secret_hash")?
            .map(SecretHash::from_stored),
        client_name: r.try_get("client_name")?,
        redirect_uris: split_list(&r.try_get::<String, _>("redirect_uris")?),
        grant_types: split_list(&r.try_get::<String, _>("grant_types")?),
        scope: r.try_get("scope")?,
        token_endpoint_auth_method: r.try_get("token_endpoint_auth_method")?,
        origin: r.try_get("origin")?,
        created_at: r.try_get("created_at")?,
    })
}

fn code_from_row(r: &AnyRow) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        code_hash: SecretHash::from_stored(r.try_get("code_hash")?),
        client_id: r.try_get("client_id")?,
        user_id: r.try_get("user_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        code_challenge: r.try_get("code_challenge")?,
        scope: r.try_get("scope")?,
        resource: r.try_get("resource")?,
        expires_at: r.try_get("expires_at")?,
        issued_family: r.try_get("issued_family")?,
    })
}

fn refresh_from_row(r: &AnyRow) -> Result<RefreshRecord, StoreError> {
    Ok(RefreshRecord {
        token_hash: SecretHash::from_stored(r.try_get("token_hash")?),
        family_id: r.try_get("family_id")?,
        client_id: r.try_get("client_id")?,
        user_id: r.try_get("user_id")?,
        scope: r.try_get("scope")?,
        resource: r.try_get("resource")?,
        expires_at: r.try_get("expires_at")?,
    })
}

const REFRESH_SELECT: &str = "SELECT r.token_hash, r.family_id, r.client_id, r.user_id, r.scope,
    r.resource, r.expires_at, r.used_at, f.revoked_at AS family_revoked_at
    FROM oauth_refresh_tokens r LEFT JOIN oauth_families f ON r.family_id = f.family_id
    WHERE r.token_hash = $1";

#[async_trait]
impl AuthStore for SqlStore {
    async fn put_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, secret_hash, client_name, redirect_uris,
                grant_types, scope, token_endpoint_auth_method, origin, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash,
                client_name = excluded.client_name, redirect_uris = excluded.redirect_uris,
                grant_types = excluded.grant_types, scope = excluded.scope,
                token_endpoint_auth_method = excluded.token_endpoint_auth_method,
                origin = excluded.origin",
        )
        .bind(&c.client_id)
        .bind(c.secret_hash.as_ref().map(|h| h.as_str().to_owned()))
        .bind(&c.client_name)
        .bind(join_list(&c.redirect_uris))
        .bind(join_list(&c.grant_types))
        .bind(c.scope.clone())
        .bind(&c.token_endpoint_auth_method)
        .bind(&c.origin)
        .bind(c.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM oauth_clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn put_code(&self, c: &CodeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge,
                scope, resource, expires_at, used_at, issued_family)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)",
        )
        .bind(c.code_hash.as_str())
        .bind(&c.client_id)
        .bind(&c.user_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.scope)
        .bind(&c.resource)
        .bind(c.expires_at)
        .bind(c.issued_family.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_code(
        &self,
        code_hash: &SecretHash,
        now: i64,
    ) -> Result<CodeRedemption, StoreError> {
        let spent = sqlx::query(
            "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query("SELECT * FROM oauth_codes WHERE code_hash = $1")
            .bind(code_hash.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => CodeRedemption::Unknown,
            Some(r) if spent => CodeRedemption::Fresh(code_from_row(&r)?),
            Some(r) => CodeRedemption::Replayed(code_from_row(&r)?),
        })
    }

    async fn set_code_family(
        &self,
        code_hash: &SecretHash,
        family_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE oauth_codes SET issued_family = $1 WHERE code_hash = $2")
            .bind(family_id)
            .bind(code_hash.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_refresh(&self, t: &RefreshRecord, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO oauth_families (family_id, client_id, user_id, created_at, revoked_at)
             VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (family_id) DO NOTHING",
        )
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO oauth_refresh_tokens (token_hash, family_id, client_id, user_id, scope,
                resource, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(t.token_hash.as_str())
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(&t.scope)
        .bind(&t.resource)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_refresh(
        &self,
        token_hash: &SecretHash,
        now: i64,
    ) -> Result<RefreshUse, StoreError> {
        let Some(row) = sqlx::query(REFRESH_SELECT)
            .bind(token_hash.as_str())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(RefreshUse::Unknown);
        };
        let rec = refresh_from_row(&row)?;
        if row
            .try_get::<Option<i64>, _>("family_revoked_at")?
            .is_some()
        {
            return Ok(RefreshUse::Revoked(rec));
        }
        let spent = sqlx::query(
            "UPDATE oauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(token_hash.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        Ok(if spent {
            RefreshUse::Fresh(rec)
        } else {
            RefreshUse::Reused(rec)
        })
    }

    async fn refresh(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, bool, bool)>, StoreError> {
        let Some(row) = sqlx::query(REFRESH_SELECT)
            .bind(token_hash.as_str())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let used = row.try_get::<Option<i64>, _>("used_at")?.is_some();
        let revoked = row
            .try_get::<Option<i64>, _>("family_revoked_at")?
            .is_some();
        Ok(Some((refresh_from_row(&row)?, used, revoked)))
    }

    async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE oauth_families SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_access_token(
        &self,
        jti: &str,
        family_id: Option<&str>,
        client_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_access_tokens (jti, family_id, client_id, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(jti)
        .bind(family_id.map(str::to_owned))
        .bind(client_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(jti)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT a.revoked_at AS token_revoked_at, f.revoked_at AS family_revoked_at
             FROM oauth_access_tokens a LEFT JOIN oauth_families f ON a.family_id = f.family_id
             WHERE a.jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(true) };
        Ok(row.try_get::<Option<i64>, _>("token_revoked_at")?.is_some()
            || row
                .try_get::<Option<i64>, _>("family_revoked_at")?
                .is_some())
    }

    async fn put_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_users (username, password_hash, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(u.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM oauth_users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(UserRecord {
                username: r.try_get("username")?,
                password_hash: r.try_get("password_hash")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM oauth_consents WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM oauth_users WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn list_users(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT username FROM oauth_users ORDER BY username")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get("username").map_err(StoreError::from))
            .collect()
    }

    async fn put_consent(
        &self,
        username: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_consents (username, client_id, scope, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (username, client_id) DO UPDATE SET scope = excluded.scope,
                updated_at = excluded.updated_at",
        )
        .bind(username)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consent(&self, username: &str, client_id: &str) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT scope FROM oauth_consents WHERE username = $1 AND client_id = $2")
                .bind(username)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get("scope")).transpose()?)
    }

    async fn put_signing_key(&self, k: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_signing_keys (kid, alg, private_pkcs8, public_jwk, created_at,
                retired_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.private_pkcs8)
        .bind(&k.public_jwk)
        .bind(k.created_at)
        .bind(k.retired_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM oauth_signing_keys ORDER BY created_at DESC, kid")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    kid: r.try_get("kid")?,
                    alg: r.try_get("alg")?,
                    private_pkcs8: r.try_get("private_pkcs8")?,
                    public_jwk: r.try_get("public_jwk")?,
                    created_at: r.try_get("created_at")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    async fn retire_signing_key(&self, kid: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE oauth_signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
        )
        .bind(now)
        .bind(kid)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oauth_signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for sql in [
            "DELETE FROM oauth_codes WHERE expires_at < $1",
            "DELETE FROM oauth_refresh_tokens WHERE expires_at < $1",
            "DELETE FROM oauth_access_tokens WHERE expires_at < $1",
        ] {
            n += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(n)
    }
}
