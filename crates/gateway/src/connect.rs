//! The browser pages of per-user OAuth: `GET /connect/<upstream>?request=<id>` (the URL of a
//! `-32042` error) and `GET /connect/callback` (the upstream authorization server's redirect).
//!
//! Both pages require the browser to be signed in at the gateway as the subject the invitation
//! was issued to: a link forwarded to (or planted on) someone else cannot bind their upstream
//! account to the wrong gateway user (MCP security best practices, confused deputy).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use switchyard_auth::client::CallbackParams;

use crate::gateway::Gateway;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{b}</p></body></html>",
        t = esc(title),
        b = esc(body)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            // Never framed: these pages act on the signed-in user's behalf (clickjacking).
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        html,
    )
        .into_response()
}

fn query_param(q: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The connect routes of `gw` (mount at the root of the gateway's public URL).
pub(crate) fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/connect/callback", get(callback))
        .route("/connect/{upstream}", get(connect))
        .with_state(gw)
}

async fn connect(
    State(gw): State<Arc<Gateway>>,
    Path(upstream): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(hub) = gw.per_user_hub() else {
        return page(StatusCode::NOT_FOUND, "Not found", "Per-user OAuth is off.");
    };
    let Some(id) = query_param(q.as_deref(), "request") else {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "The link has no request.",
        );
    };
    let Some((subject, invited_to)) = hub.invite(&id).filter(|(_, u)| *u == upstream) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Link expired",
            "This link is unknown, used or expired. Call the tool again for a new one.",
        );
    };
    match hub.browser.subject(&headers) {
        None => {
            let hint = hub
                .browser
                .sign_in_hint()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            return page(
                StatusCode::UNAUTHORIZED,
                "Sign in first",
                &format!(
                    "Sign in to the gateway in this browser{hint}, then open this link again."
                ),
            );
        }
        Some(s) if s != subject => {
            // The link was issued to someone else: it may have been forwarded or planted.
            hub.take_invite(&id);
            tracing::warn!(upstream = %invited_to, "connect link opened by another signed-in user; refused and spent");
            return page(
                StatusCode::FORBIDDEN,
                "Wrong user",
                "This link was issued to another user of the gateway. It has been cancelled.",
            );
        }
        Some(_) => {}
    }
    hub.take_invite(&id);
    let Some(u) = gw.upstream_named(&invited_to) else {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This upstream no longer exists.",
        );
    };
    match hub.start_flow(&subject, &u).await {
        Ok(to) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, to),
                (header::CACHE_CONTROL, "no-store".to_owned()),
                (header::REFERRER_POLICY, "no-referrer".to_owned()),
            ],
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(upstream = %invited_to, error = %e, "could not start a per-user authorization");
            page(
                StatusCode::BAD_GATEWAY,
                "Authorization failed",
                &format!("The gateway could not start the authorization at {invited_to}: {e}"),
            )
        }
    }
}

async fn callback(
    State(gw): State<Arc<Gateway>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    // An upstream named "callback" shares this path: its invitations carry `request`.
    if query_param(q.as_deref(), "request").is_some()
        && query_param(q.as_deref(), "state").is_none()
    {
        return connect(State(gw), Path("callback".into()), RawQuery(q), headers).await;
    }
    let Some(hub) = gw.per_user_hub() else {
        return page(StatusCode::NOT_FOUND, "Not found", "Per-user OAuth is off.");
    };
    let params = match CallbackParams::from_query(q.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(e) => return page(StatusCode::BAD_REQUEST, "Invalid callback", &e.to_string()),
    };
    let Some(flow) = params.state.as_deref().and_then(|s| hub.take_flow(s)) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Unknown authorization",
            "This authorization is unknown, finished or expired.",
        );
    };
    if hub.browser.subject(&headers).as_deref() != Some(flow.subject.as_str()) {
        // Dropping the flow ends it: the code is never redeemed for the wrong user.
        flow.done.abort();
        tracing::warn!(upstream = %flow.upstream, "connect callback in a browser signed in as another user (or none); refused");
        return page(
            StatusCode::FORBIDDEN,
            "Wrong user",
            "This authorization was started by another user of the gateway (or this browser is not signed in). It has been cancelled.",
        );
    }
    let _ = flow.callback.send(params);
    match flow.done.await {
        Ok(Ok(())) => {
            hub.evict(&flow.subject, &flow.upstream);
            gw.per_user_connected(&flow.subject, &flow.upstream).await;
            page(
                StatusCode::OK,
                "Connected",
                &format!(
                    "The gateway may now use {} on your behalf. You can close this window and retry.",
                    flow.upstream
                ),
            )
        }
        Ok(Err(e)) => {
            tracing::info!(upstream = %flow.upstream, error = %e, "per-user authorization failed");
            page(
                StatusCode::BAD_GATEWAY,
                "Authorization failed",
                &format!(
                    "The authorization at {} did not complete: {e}",
                    flow.upstream
                ),
            )
        }
        Err(_) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Authorization failed",
            "The authorization ended unexpectedly.",
        ),
    }
}
