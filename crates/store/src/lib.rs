//! Storage for Switchyard's OAuth 2.1 authorization server: registered clients, authorization
//! codes, refresh-token families, issued access tokens, users, consents and signing keys.
//!
//! One trait, [`AuthStore`], describes every operation the authorization server needs; one
//! implementation, [`SqlStore`], runs the same SQL on SQLite (the embedded default, a file in
//! the user's data directory or `sqlite::memory:` for tests) and PostgreSQL. The schema is
//! created and upgraded by embedded, numbered migrations when the store opens.
//!
//! High-entropy secrets (client secrets, codes, refresh tokens) are only ever stored as a
//! [`SecretHash`] (SHA-256); user passwords arrive already hashed with argon2id by the caller.
//!
//! ```no_run
//! use switchyard_store::{AuthStore, SqlStore, UserRecord};
//!
//! # async fn run() -> Result<(), switchyard_store::StoreError> {
//! let store = SqlStore::open("sqlite::memory:").await?;
//! store
//!     .put_user(&UserRecord {
//!         username: "alice".into(),
//!         password_hash: "$argon2id$...".into(),
//!         created_at: 0,
//!     })
//!     .await?;
//! assert!(store.user("alice").await?.is_some());
//! # Ok(()) }
//! ```
//!
//! The same store also caches embedding vectors for tool search
//! ([`SqlStore::embedding_vectors`], [`SqlStore::put_embedding_vectors`]), so an index rebuilt
//! after a restart embeds only tools whose text changed.
//!
//! The gateway keeps each user's upstream OAuth tokens here too
//! ([`SqlStore::upstream_token`], [`SqlStore::put_upstream_token`]), sealed (encrypted) by the
//! gateway before they arrive: the store only ever holds ciphertext.
//!
//! The crate has no cargo features; both database drivers are always compiled in.
#![forbid(unsafe_code)]

mod error;
mod migrate;
mod records;
mod sql;
mod store;
mod upstream_tokens;
mod vectors;

pub use error::StoreError;
pub use migrate::SCHEMA_VERSION;
pub use records::{
    ClientRecord, CodeRecord, CodeRedemption, RefreshRecord, RefreshUse, SecretHash,
    SigningKeyRecord, UserRecord,
};
pub use sql::{default_sqlite_url, default_sqlite_url_named, SqlStore};
pub use store::AuthStore;
pub use vectors::MAX_VECTOR_DIMS;
