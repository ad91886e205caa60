//! RFC 9728 protected-resource metadata, served at the root and the path-inserted well-known
//! URIs.

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use http::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE};

use super::{split_origin, ResourceConfig};

/// The well-known path prefix of RFC 9728.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The protected-resource metadata document for `cfg`.
pub fn protected_resource_metadata(cfg: &ResourceConfig) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "resource": cfg.resource,
        "authorization_servers": cfg.authorization_servers,
        "bearer_methods_supported": ["header"],
    });
    if let Some(obj) = doc.as_object_mut() {
        if !cfg.scopes_supported.is_empty() {
            obj.insert(
                "scopes_supported".into(),
                cfg.scopes_supported.clone().into(),
            );
        }
        if let Some(name) = &cfg.resource_name {
            obj.insert("resource_name".into(), name.clone().into());
        }
    }
    doc
}

/// Serves the metadata at `/.well-known/oauth-protected-resource` and, when the resource has a
/// path, at `/.well-known/oauth-protected-resource/<path>` too. Merge it into the app outside the
/// [`BearerLayer`](super::BearerLayer): the metadata is public.
pub fn protected_resource_metadata_router(cfg: &ResourceConfig) -> Router {
    let body = protected_resource_metadata(cfg).to_string();
    let serve = move || {
        let body = body.clone();
        async move {
            (
                [
                    (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                    (ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
                    (
                        CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=3600"),
                    ),
                ],
                body,
            )
                .into_response()
        }
    };
    let (_, path) = split_origin(&cfg.resource);
    let mut router = Router::new().route(WELL_KNOWN, get(serve.clone()));
    if !path.is_empty() {
        router = router.route(&format!("{WELL_KNOWN}{path}"), get(serve));
    }
    router
}
