//! The gateway's per-user upstream tokens: one opaque, sealed blob per (subject, upstream).
//!
//! Access and refresh tokens must be usable again, so they cannot be hashed like the
//! authorization server's own secrets; the gateway encrypts them (an AEAD keyed from the
//! server's secret) before they reach this table, and this module never sees plaintext.

use sqlx::Row as _;

use crate::error::StoreError;
use crate::sql::{unix_now, SqlStore};

impl SqlStore {
    /// The sealed token blob of `subject` for `upstream`, if any.
    pub async fn upstream_token(
        &self,
        subject: &str,
        upstream: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT sealed FROM upstream_user_tokens WHERE subject = $1 AND upstream = $2",
        )
        .bind(subject)
        .bind(upstream)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("sealed")?),
            None => None,
        })
    }

    /// Stores (or replaces) the sealed token blob of `subject` for `upstream`.
    pub async fn put_upstream_token(
        &self,
        subject: &str,
        upstream: &str,
        sealed: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upstream_user_tokens (subject, upstream, sealed, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (subject, upstream) DO UPDATE SET sealed = excluded.sealed,
                updated_at = excluded.updated_at",
        )
        .bind(subject)
        .bind(upstream)
        .bind(sealed)
        .bind(unix_now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Forgets the token of `subject` for `upstream`; `true` if there was one.
    pub async fn delete_upstream_token(
        &self,
        subject: &str,
        upstream: &str,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM upstream_user_tokens WHERE subject = $1 AND upstream = $2")
                .bind(subject)
                .bind(upstream)
                .execute(self.pool())
                .await?
                .rows_affected()
                > 0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_kept_per_subject_and_upstream() {
        let s = SqlStore::open("sqlite::memory:").await.unwrap();
        assert_eq!(s.upstream_token("alice", "gh").await.unwrap(), None);
        s.put_upstream_token("alice", "gh", "v1.one").await.unwrap();
        s.put_upstream_token("bob", "gh", "v1.two").await.unwrap();
        s.put_upstream_token("alice", "gh", "v1.three")
            .await
            .unwrap();
        assert_eq!(
            s.upstream_token("alice", "gh").await.unwrap().as_deref(),
            Some("v1.three")
        );
        assert_eq!(
            s.upstream_token("bob", "gh").await.unwrap().as_deref(),
            Some("v1.two")
        );
        assert_eq!(s.upstream_token("alice", "jira").await.unwrap(), None);
        assert!(s.delete_upstream_token("alice", "gh").await.unwrap());
        assert!(!s.delete_upstream_token("alice", "gh").await.unwrap());
        assert_eq!(s.upstream_token("alice", "gh").await.unwrap(), None);
    }
}
