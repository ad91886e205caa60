//! Embedded, numbered schema migrations. The SQL is written once for both backends: only
//! `TEXT` and `BIGINT` columns, `ON CONFLICT` upserts and `$n` placeholders.

/// The version a freshly opened store is at: the last entry of [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = 3;

/// `(version, statements)`; applied in order, each version once, recorded in
/// `switchyard_migrations`. Never edit a released entry: append a new one.
pub(crate) const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE IF NOT EXISTS oauth_clients (
            client_id TEXT PRIMARY KEY,
            secret_hash TEXT,
            client_name TEXT NOT NULL,
            redirect_uris TEXT NOT NULL,
            grant_types TEXT NOT NULL,
            scope TEXT,
            token_endpoint_auth_method TEXT NOT NULL,
            origin TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS oauth_codes (
            code_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            redirect_uri TEXT NOT NULL,
            code_challenge TEXT NOT NULL,
            scope TEXT NOT NULL,
            resource TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            issued_family TEXT)",
            "CREATE TABLE IF NOT EXISTS oauth_families (
            family_id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT)",
            "CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            family_id TEXT NOT NULL,
            client_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            resource TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT)",
            "CREATE INDEX IF NOT EXISTS oauth_refresh_family ON oauth_refresh_tokens (family_id)",
            "CREATE TABLE IF NOT EXISTS oauth_access_tokens (
            jti TEXT PRIMARY KEY,
            family_id TEXT,
            client_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT)",
            "CREATE INDEX IF NOT EXISTS oauth_access_family ON oauth_access_tokens (family_id)",
            "CREATE TABLE IF NOT EXISTS oauth_users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS oauth_consents (
            username TEXT NOT NULL,
            client_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (username, client_id))",
            "CREATE TABLE IF NOT EXISTS oauth_signing_keys (
            kid TEXT PRIMARY KEY,
            alg TEXT NOT NULL,
            private_pkcs8 TEXT NOT NULL,
            public_jwk TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            retired_at BIGINT)",
        ],
    ),
    (
        2,
        &[
            // Embedding vectors for tool search (see `vectors.rs`).
            "CREATE TABLE IF NOT EXISTS search_vectors (
            vector_key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            dims BIGINT NOT NULL,
            vector TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS search_vectors_model ON search_vectors (model)",
        ],
    ),
    (
        3,
        &[
            // Per-user upstream tokens of the gateway, sealed by the caller (see
            // `upstream_tokens.rs`): this table never sees a token in the clear.
            "CREATE TABLE IF NOT EXISTS upstream_user_tokens (
            subject TEXT NOT NULL,
            upstream TEXT NOT NULL,
            sealed TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (subject, upstream))",
        ],
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn schema_version_is_the_last_migration() {
        assert_eq!(
            super::MIGRATIONS.last().map(|m| m.0),
            Some(super::SCHEMA_VERSION)
        );
    }
}
