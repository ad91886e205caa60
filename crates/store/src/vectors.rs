//! A cache of embedding vectors for tool search: a vector per 32-byte key (the caller derives
//! the key from the embedding model and the embedded text, e.g. `switchyard_search::VectorKey`),
//! so an index rebuilt after a restart embeds only tools whose text changed.
//!
//! Columns are `TEXT` and `BIGINT` only, like every table here: the key as lowercase hex, the
//! vector as standard base64 of its little-endian `f32`s. Nothing here is secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::sql::{unix_now, SqlStore};

/// Keys looked up per `SELECT … IN (…)`: well under SQLite's and PostgreSQL's bound-parameter
/// limits (32,766 and 65,535).
const LOOKUP_CHUNK: usize = 500;

/// Most dimensions a stored vector may have: the largest common embedding models have 3,072;
/// 65,536 bounds what one row may make the reader allocate.
pub const MAX_VECTOR_DIMS: usize = 65_536;

fn hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn encode(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "search_vectors",
        reason: reason.into(),
    }
}

fn decode(text: &str, dims: i64) -> Result<Vec<f32>, StoreError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| corrupt(format!("vector is not base64: {e}")))?;
    if bytes.len() % 4 != 0 || usize::try_from(dims).ok() != Some(bytes.len() / 4) {
        return Err(corrupt(format!(
            "vector of {} bytes does not hold {dims} dimensions",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl SqlStore {
    /// The cached vectors among `keys`, in no particular order; keys without one are left out.
    pub async fn embedding_vectors(
        &self,
        keys: &[[u8; 32]],
    ) -> Result<Vec<([u8; 32], Vec<f32>)>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT vector_key, dims, vector FROM search_vectors WHERE vector_key IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(hex(k));
            }
            for row in q.fetch_all(self.pool()).await? {
                let key: String = row.try_get("vector_key")?;
                let key = unhex(&key).ok_or_else(|| corrupt(format!("bad key {key:?}")))?;
                let dims: i64 = row.try_get("dims")?;
                let vector: String = row.try_get("vector")?;
                out.push((key, decode(&vector, dims)?));
            }
        }
        Ok(out)
    }

    /// Stores vectors embedded by `model` under their keys, replacing any already there, in
    /// one transaction.
    pub async fn put_embedding_vectors(
        &self,
        model: &str,
        vectors: &[([u8; 32], &[f32])],
    ) -> Result<(), StoreError> {
        let now = unix_now();
        let mut tx = self.pool().begin().await?;
        for (key, v) in vectors {
            if v.len() > MAX_VECTOR_DIMS {
                return Err(StoreError::Invalid(format!(
                    "vector of {} dimensions, more than {MAX_VECTOR_DIMS}",
                    v.len()
                )));
            }
            sqlx::query(
                "INSERT INTO search_vectors (vector_key, model, dims, vector, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (vector_key) DO UPDATE SET model = excluded.model,
                    dims = excluded.dims, vector = excluded.vector,
                    created_at = excluded.created_at",
            )
            .bind(hex(key))
            .bind(model)
            .bind(v.len() as i64)
            .bind(encode(v))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes every cached vector of `model`; returns how many.
    pub async fn delete_embedding_vectors(&self, model: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM search_vectors WHERE model = $1")
            .bind(model)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_vectors_round_trip_through_text() {
        let key = [0xab; 32];
        assert_eq!(unhex(&hex(&key)), Some(key));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"é".repeat(32)), None);
        let v = [1.5f32, -0.25, 0.0];
        assert_eq!(decode(&encode(&v), 3).ok(), Some(v.to_vec()));
        assert!(decode(&encode(&v), 4).is_err());
        assert!(decode("not base64!", 1).is_err());
    }
}
