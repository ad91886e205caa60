#![allow(clippy::unwrap_used)]
//! The embedding-vector cache of `SqlStore`, on SQLite (always) and PostgreSQL (when
//! `DATABASE_URL` names one).

use switchyard_store::{SqlStore, StoreError, MAX_VECTOR_DIMS};

async fn stores() -> Vec<(&'static str, SqlStore)> {
    let mut v = vec![("sqlite", SqlStore::open("sqlite::memory:").await.unwrap())];
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => v.push(("postgres", SqlStore::open(&url).await.unwrap())),
        _ => eprintln!("postgres half skipped: DATABASE_URL not set"),
    }
    v
}

/// A key unique to this process and call, so runs sharing a PostgreSQL database never collide.
fn key(n: u8) -> [u8; 32] {
    let mut k = [n; 32];
    k[..4].copy_from_slice(&std::process::id().to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    k[4..20].copy_from_slice(&nanos.to_le_bytes());
    k
}

#[tokio::test]
async fn vectors_are_found_by_key_and_missing_keys_are_left_out() {
    for (name, s) in stores().await {
        let (a, b, missing) = (key(1), key(2), key(3));
        let va = vec![0.5f32, -1.0, 3.25];
        let vb = vec![f32::MIN_POSITIVE, 0.0, 1e30];
        s.put_embedding_vectors("m", &[(a, &va), (b, &vb)])
            .await
            .unwrap();
        let mut got = s.embedding_vectors(&[a, missing, b]).await.unwrap();
        got.sort_by_key(|(k, _)| *k);
        let mut want = vec![(a, va.clone()), (b, vb)];
        want.sort_by_key(|(k, _)| *k);
        assert_eq!(got, want, "{name}");
        // Replacing a vector keeps one row per key.
        let va2 = vec![9.0f32; 3];
        s.put_embedding_vectors("m", &[(a, &va2)]).await.unwrap();
        assert_eq!(
            s.embedding_vectors(&[a]).await.unwrap(),
            [(a, va2)],
            "{name}"
        );
    }
}

#[tokio::test]
async fn lookups_of_many_keys_are_split_into_chunks() {
    for (name, s) in stores().await {
        let keys: Vec<[u8; 32]> = (0..1_200u32)
            .map(|i| {
                let mut k = key(7);
                k[20..24].copy_from_slice(&i.to_le_bytes());
                k
            })
            .collect();
        let v = [1.0f32, 2.0];
        let rows: Vec<([u8; 32], &[f32])> = keys.iter().map(|k| (*k, &v[..])).collect();
        s.put_embedding_vectors("chunky", &rows).await.unwrap();
        assert_eq!(
            s.embedding_vectors(&keys).await.unwrap().len(),
            1_200,
            "{name}"
        );
        assert_eq!(s.delete_embedding_vectors("chunky").await.unwrap(), 1_200);
        assert!(s.embedding_vectors(&keys).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn max_vector_dims_refuses_oversized_vectors() {
    let s = SqlStore::open("sqlite::memory:").await.unwrap();
    let huge = vec![0.0f32; MAX_VECTOR_DIMS + 1];
    let err = s
        .put_embedding_vectors("m", &[(key(9), &huge)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn vectors_survive_reopening_the_database_file() {
    let dir = std::env::temp_dir().join(format!("switchyard-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("search.db").display());
    let k = key(5);
    {
        let s = SqlStore::open(&url).await.unwrap();
        s.put_embedding_vectors("m", &[(k, &[0.25f32][..])])
            .await
            .unwrap();
    }
    let s = SqlStore::open(&url).await.unwrap();
    assert_eq!(s.embedding_vectors(&[k]).await.unwrap(), [(k, vec![0.25])]);
    assert_eq!(
        s.schema_version().await.unwrap(),
        switchyard_store::SCHEMA_VERSION
    );
    drop(s);
    std::fs::remove_dir_all(&dir).ok();
}
