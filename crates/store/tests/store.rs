#![allow(clippy::unwrap_used)]
//! Black-box tests of `SqlStore` on SQLite (always) and PostgreSQL (when `DATABASE_URL` names
//! one; otherwise each test prints "skipped: DATABASE_URL not set" for the PostgreSQL half).

use std::sync::atomic::{AtomicU64, Ordering};

use switchyard_store::{
    AuthStore, ClientRecord, CodeRecord, CodeRedemption, RefreshRecord, RefreshUse, SecretHash,
    SigningKeyRecord, SqlStore, UserRecord,
};

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and call, so tests sharing one PostgreSQL database never
/// collide.
fn uniq(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// SQLite in memory, plus PostgreSQL when `DATABASE_URL` is set.
async fn stores() -> Vec<(&'static str, SqlStore)> {
    let mut v = vec![("sqlite", SqlStore::open("sqlite::memory:").await.unwrap())];
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => v.push(("postgres", SqlStore::open(&url).await.unwrap())),
        _ => eprintln!("postgres half skipped: DATABASE_URL not set"),
    }
    v
}

fn client(id: &str) -> ClientRecord {
    ClientRecord {
        client_id: id.into(),
        secret_hash: Some(SecretHash::of("secret")),
        client_name: "Test client".into(),
        redirect_uris: vec![
            "http://127.0.0.1/callback".into(),
            "https://app.example/cb".into(),
        ],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scope: Some("mcp:read mcp:write".into()),
        token_endpoint_auth_method: "client_secret_basic".into(),
        origin: "static".into(),
        created_at: 1,
    }
}

fn code(client_id: &str, secret: &str) -> CodeRecord {
    CodeRecord {
        code_hash: SecretHash::of(secret),
        client_id: client_id.into(),
        user_id: "alice".into(),
        redirect_uri: "http://127.0.0.1/callback".into(),
        code_challenge: "challenge".into(),
        scope: "mcp:read".into(),
        resource: "https://mcp.example/mcp".into(),
        expires_at: 2_000_000_000,
        issued_family: None,
    }
}

fn refresh(secret: &str, family: &str) -> RefreshRecord {
    RefreshRecord {
        token_hash: SecretHash::of(secret),
        family_id: family.into(),
        client_id: "c".into(),
        user_id: "alice".into(),
        scope: "mcp:read".into(),
        resource: "https://mcp.example/mcp".into(),
        expires_at: 2_000_000_000,
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(uniq(&format!("switchyard-store-{tag}")));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn client_round_trips_and_upserts() {
    for (db, s) in stores().await {
        let id = uniq("client");
        let mut c = client(&id);
        s.put_client(&c).await.unwrap();
        assert_eq!(s.client(&id).await.unwrap().as_ref(), Some(&c), "{db}");
        c.client_name = "Renamed".into();
        c.secret_hash = None;
        s.put_client(&c).await.unwrap();
        assert_eq!(s.client(&id).await.unwrap(), Some(c), "{db}");
        assert!(s.delete_client(&id).await.unwrap(), "{db}");
        assert!(!s.delete_client(&id).await.unwrap(), "{db}");
        assert_eq!(s.client(&id).await.unwrap(), None, "{db}");
    }
}

#[tokio::test]
async fn client_secret_is_stored_only_as_its_hash() {
    let dir = temp_dir("secret-at-rest");
    let url = format!("sqlite://{}?mode=rwc", dir.join("auth.db").display());
    let s = SqlStore::open(&url).await.unwrap();
    let mut c = client("hashed");
    c.secret_hash = Some(SecretHash::of("plaintext-client-secret-value"));
    s.put_client(&c).await.unwrap();
    drop(s);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains("plaintext-client-secret-value"));
    assert!(hay.contains(SecretHash::of("plaintext-client-secret-value").as_str()));
}

#[tokio::test]
async fn code_is_spent_exactly_once_even_under_concurrency() {
    for (db, s) in stores().await {
        let cid = uniq("c");
        let secret = uniq("code");
        s.put_code(&code(&cid, &secret)).await.unwrap();
        let h = SecretHash::of(&secret);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (s, h) = (s.clone(), h.clone());
            tasks.push(tokio::spawn(
                async move { s.take_code(&h, 10).await.unwrap() },
            ));
        }
        let mut fresh = 0;
        for t in tasks {
            match t.await.unwrap() {
                CodeRedemption::Fresh(c) => {
                    fresh += 1;
                    assert_eq!(c.client_id, cid);
                }
                CodeRedemption::Replayed(_) => {}
                other => panic!("{db}: {other:?}"),
            }
        }
        assert_eq!(fresh, 1, "{db}");
        s.set_code_family(&h, "fam-1").await.unwrap();
        match s.take_code(&h, 11).await.unwrap() {
            CodeRedemption::Replayed(c) => {
                assert_eq!(c.issued_family.as_deref(), Some("fam-1"))
            }
            other => panic!("{db}: {other:?}"),
        }
        assert_eq!(
            s.take_code(&SecretHash::of("nope"), 1).await.unwrap(),
            CodeRedemption::Unknown
        );
    }
}

#[tokio::test]
async fn refresh_rotation_detects_reuse_and_family_revocation() {
    for (db, s) in stores().await {
        let fam = uniq("fam");
        let (t1, t2) = (uniq("rt"), uniq("rt"));
        s.put_refresh(&refresh(&t1, &fam), 1).await.unwrap();
        let first = s.use_refresh(&SecretHash::of(&t1), 2).await.unwrap();
        assert!(
            matches!(first, RefreshUse::Fresh(r) if r.family_id == fam),
            "{db}"
        );
        s.put_refresh(&refresh(&t2, &fam), 2).await.unwrap();
        let again = s.use_refresh(&SecretHash::of(&t1), 3).await.unwrap();
        assert!(matches!(again, RefreshUse::Reused(_)), "{db}");
        s.revoke_family(&fam, 3).await.unwrap();
        let next = s.use_refresh(&SecretHash::of(&t2), 4).await.unwrap();
        assert!(matches!(next, RefreshUse::Revoked(_)), "{db}");
        let (_, used, revoked) = s.refresh(&SecretHash::of(&t2)).await.unwrap().unwrap();
        assert!(!used && revoked, "{db}");
        assert_eq!(
            s.use_refresh(&SecretHash::of("x"), 5).await.unwrap(),
            RefreshUse::Unknown
        );
    }
}

#[tokio::test]
async fn access_tokens_revoke_directly_or_through_their_family() {
    for (db, s) in stores().await {
        let fam = uniq("fam");
        s.put_refresh(&refresh(&uniq("rt"), &fam), 1).await.unwrap();
        let (a, b, c) = (uniq("jti"), uniq("jti"), uniq("jti"));
        s.record_access_token(&a, Some(&fam), "c", 100)
            .await
            .unwrap();
        s.record_access_token(&b, None, "c", 100).await.unwrap();
        s.record_access_token(&c, None, "c", 100).await.unwrap();
        assert!(!s.access_token_revoked(&a).await.unwrap(), "{db}");
        s.revoke_family(&fam, 2).await.unwrap();
        assert!(s.access_token_revoked(&a).await.unwrap(), "{db}");
        assert!(!s.access_token_revoked(&b).await.unwrap(), "{db}");
        s.revoke_access_token(&b, 2).await.unwrap();
        assert!(s.access_token_revoked(&b).await.unwrap(), "{db}");
        assert!(!s.access_token_revoked(&c).await.unwrap(), "{db}");
        assert!(
            s.access_token_revoked("never-issued").await.unwrap(),
            "{db}"
        );
    }
}

#[tokio::test]
async fn users_and_consents() {
    for (db, s) in stores().await {
        let name = uniq("user");
        let u = UserRecord {
            username: name.clone(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
            created_at: 1,
        };
        s.put_user(&u).await.unwrap();
        assert_eq!(s.user(&name).await.unwrap(), Some(u.clone()), "{db}");
        assert!(!format!("{u:?}").contains("argon2id"));
        assert!(s.list_users().await.unwrap().contains(&name), "{db}");
        assert_eq!(s.consent(&name, "c").await.unwrap(), None);
        s.put_consent(&name, "c", "mcp:read", 1).await.unwrap();
        s.put_consent(&name, "c", "mcp:read mcp:write", 2)
            .await
            .unwrap();
        assert_eq!(
            s.consent(&name, "c").await.unwrap().as_deref(),
            Some("mcp:read mcp:write")
        );
        assert!(s.delete_user(&name).await.unwrap(), "{db}");
        assert_eq!(s.consent(&name, "c").await.unwrap(), None, "{db}");
        assert!(!s.delete_user(&name).await.unwrap(), "{db}");
    }
}

#[tokio::test]
async fn signing_keys_newest_first_and_retire() {
    for (db, s) in stores().await {
        let (k1, k2) = (uniq("kid"), uniq("kid"));
        for (kid, at) in [(&k1, 4_000_000_001i64), (&k2, 4_000_000_002)] {
            s.put_signing_key(&SigningKeyRecord {
                kid: kid.clone(),
                alg: "ES256".into(),
                private_pkcs8: "cHJpdmF0ZQ".into(),
                public_jwk: "{}".into(),
                created_at: at,
                retired_at: None,
            })
            .await
            .unwrap();
        }
        let keys = s.signing_keys().await.unwrap();
        assert_eq!(keys[0].kid, k2, "{db}");
        assert_eq!(keys[1].kid, k1, "{db}");
        s.retire_signing_key(&k1, 5).await.unwrap();
        let keys = s.signing_keys().await.unwrap();
        assert_eq!(keys[1].retired_at, Some(5), "{db}");
        assert!(!format!("{:?}", keys[0]).contains("cHJpdmF0ZQ"));
        s.delete_signing_key(&k1).await.unwrap();
        s.delete_signing_key(&k2).await.unwrap();
    }
}

#[tokio::test]
async fn purge_removes_only_expired_rows() {
    let s = SqlStore::open("sqlite::memory:").await.unwrap();
    let mut old = code("c", "old");
    old.expires_at = 5;
    s.put_code(&old).await.unwrap();
    s.put_code(&code("c", "new")).await.unwrap();
    s.record_access_token("j-old", None, "c", 5).await.unwrap();
    assert_eq!(s.purge_expired(10).await.unwrap(), 2);
    assert_eq!(
        s.take_code(&SecretHash::of("old"), 11).await.unwrap(),
        CodeRedemption::Unknown
    );
    assert!(matches!(
        s.take_code(&SecretHash::of("new"), 11).await.unwrap(),
        CodeRedemption::Fresh(_)
    ));
}

#[tokio::test]
async fn sqlite_file_survives_reopen_and_migrations_run_once() {
    let dir = temp_dir("reopen");
    let url = format!("sqlite://{}?mode=rwc", dir.join("auth.db").display());
    {
        let s = SqlStore::open(&url).await.unwrap();
        assert_eq!(
            s.schema_version().await.unwrap(),
            switchyard_store::SCHEMA_VERSION
        );
        s.put_client(&client("persisted")).await.unwrap();
        s.put_code(&code("persisted", "persisted-code"))
            .await
            .unwrap();
        s.put_refresh(&refresh("persisted-rt", "fam"), 1)
            .await
            .unwrap();
    }
    let s = SqlStore::open(&url).await.unwrap();
    assert_eq!(
        s.schema_version().await.unwrap(),
        switchyard_store::SCHEMA_VERSION
    );
    assert_eq!(
        s.client("persisted").await.unwrap(),
        Some(client("persisted"))
    );
    assert!(matches!(
        s.take_code(&SecretHash::of("persisted-code"), 2)
            .await
            .unwrap(),
        CodeRedemption::Fresh(_)
    ));
    assert!(matches!(
        s.use_refresh(&SecretHash::of("persisted-rt"), 2)
            .await
            .unwrap(),
        RefreshUse::Fresh(_)
    ));
}

#[tokio::test]
async fn unsupported_url_is_a_typed_error() {
    let err = SqlStore::open("mysql://x").await.unwrap_err();
    assert!(matches!(
        err,
        switchyard_store::StoreError::UnsupportedUrl(_)
    ));
}

#[tokio::test]
async fn postgres_schemas_isolate_rows() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipped: DATABASE_URL not set");
        return;
    };
    let (a, b) = (uniq("s").replace('-', "_"), uniq("s").replace('-', "_"));
    let sa = SqlStore::open_with_schema(&url, Some(&a)).await.unwrap();
    let sb = SqlStore::open_with_schema(&url, Some(&b)).await.unwrap();
    sa.put_client(&client("only-in-a")).await.unwrap();
    assert!(sa.client("only-in-a").await.unwrap().is_some());
    assert!(sb.client("only-in-a").await.unwrap().is_none());
    assert!(SqlStore::open_with_schema(&url, Some("bad; drop"))
        .await
        .is_err());
}
