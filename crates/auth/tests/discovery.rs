#![allow(clippy::unwrap_used)]
//! The discovery documents: `/.well-known/mcp`, the server card and the protected-resource
//! metadata, pinned by JSON snapshots in `tests/snapshots/` (regenerate with
//! `SWITCHYARD_UPDATE_SNAPSHOTS=1`), and served over real HTTP on 127.0.0.1.

use axum::Router;
use switchyard_auth::resource::discovery::{
    discovery_router, McpManifest, Repository, ServerCard, SERVER_CARD_MEDIA_TYPE,
};
use switchyard_auth::resource::{protected_resource_metadata, JwksSource, ResourceConfig};
use tokio::net::TcpListener;

async fn serve(app: Router) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

// ---------- discovery documents (snapshots) ----------

const VERSIONS: [&str; 2] = ["2026-07-28", "2025-11-25"];

fn fixed_config() -> ResourceConfig {
    let mut cfg = ResourceConfig::new(
        "https://mcp.acme.com/v1",
        "https://auth.acme.com",
        JwksSource::Url("https://auth.acme.com/jwks.json".into()),
    );
    cfg.scopes_supported = vec!["read:contacts".into(), "write:deals".into()];
    cfg.resource_name = Some("Acme CRM".into());
    cfg
}

fn manifest() -> McpManifest {
    McpManifest::new(
        "acme-crm",
        "2.0.0",
        "https://mcp.acme.com/v1",
        VERSIONS.map(String::from).to_vec(),
    )
    .with_oauth(
        &fixed_config(),
        "https://auth.acme.com/authorize",
        "https://auth.acme.com/token",
    )
}

fn card() -> ServerCard {
    let mut c = ServerCard::new(
        "com.acme/crm",
        "2.0.0",
        "Contacts and deals of Acme CRM",
        "https://mcp.acme.com/v1",
        VERSIONS.map(String::from).to_vec(),
    );
    c.title = Some("Acme CRM".into());
    c.repository = Some(Repository {
        url: "https://github.com/acme/crm-mcp".into(),
        source: "github".into(),
    });
    c
}

fn snapshot_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name)
}

/// Compares the exact JSON text of a document (as served, field order included) with
/// `tests/snapshots/<name>`; `SWITCHYARD_UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot<T: serde::Serialize>(name: &str, doc: &T) {
    let path = snapshot_path(name);
    let text = serde_json::to_string_pretty(doc).unwrap() + "\n";
    if std::env::var_os("SWITCHYARD_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with SWITCHYARD_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        text, want,
        "{name} changed; run with SWITCHYARD_UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn mcp_manifest_snapshot() {
    let v = serde_json::to_value(manifest()).unwrap();
    // The seed document's fields, in its shape.
    for f in ["name", "version", "endpoint"] {
        assert!(v[f].is_string(), "{f}");
    }
    for f in ["type", "authorization_url", "token_url", "scopes"] {
        assert!(!v["auth"][f].is_null(), "auth.{f}");
    }
    snapshot("mcp_manifest.json", &manifest());
}

#[test]
fn server_card_snapshot() {
    snapshot("server_card.json", &card());
}

#[test]
fn protected_resource_metadata_snapshot() {
    snapshot(
        "protected_resource_metadata.json",
        &protected_resource_metadata(&fixed_config()),
    );
}

#[tokio::test]
async fn manifest_is_served_at_well_known_mcp() {
    let base = serve(discovery_router(manifest(), card())).await;
    let r = reqwest::get(format!("{base}/.well-known/mcp"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // Served byte for byte as snapshotted.
    let text = r.text().await.unwrap() + "\n";
    assert_eq!(
        text,
        std::fs::read_to_string(snapshot_path("mcp_manifest.json")).unwrap()
    );
}

#[tokio::test]
async fn server_card_has_its_media_type_cors_cache_control_and_etag_304() {
    let base = serve(discovery_router(manifest(), card())).await;
    let url = format!("{base}/v1/server-card");
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], SERVER_CARD_MEDIA_TYPE);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let text = r.text().await.unwrap() + "\n";
    assert_eq!(
        text,
        std::fs::read_to_string(snapshot_path("server_card.json")).unwrap()
    );

    let http = reqwest::Client::new();
    let r = http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = http
        .get(&url)
        .header("if-none-match", "\"stale\", W/\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
