//! `/authorize`, the login form and the consent form.
//!
//! Errors about the client or its redirect URI are shown on an error page and never
//! redirected (no open redirect); every later error goes back to the verified redirect URI
//! with `error`, `state` and `iss`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchyard_store::{CodeRecord, SecretHash};
use url::Url;

use super::clients::redirect_uri_matches;
use super::error::{ErrorCode, ServerError};
use super::identity::LoginStep;
use super::pages;
use super::session::{
    constant_eq, cookie, read_cookie, PeerIp, Pending, LOGIN_CSRF_COOKIE, PENDING_TTL,
    SESSION_COOKIE, SESSION_TTL,
};
use super::{random_token, unix_now, AsState};

/// Request parameters, keeping every value so repeats can be refused.
struct Params(HashMap<String, Vec<String>>);

impl Params {
    fn new(pairs: Vec<(String, String)>) -> Self {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            m.entry(k).or_default().push(v);
        }
        Self(m)
    }

    fn one(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(|v| v.first()).map(String::as_str)
    }

    fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .get(k)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn repeated(&self, except: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| v.len() > 1 && !except.contains(&k.as_str()))
            .map(|(k, _)| k.as_str())
    }
}

/// A redirect to the client with `params` appended to its redirect URI's query.
fn redirect(status: StatusCode, redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the redirect URI cannot be used",
        );
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    let mut resp = status.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        h.insert(header::LOCATION, v);
    }
    pages::secure_headers(h);
    resp
}

fn error_redirect(
    st: &AsState,
    redirect_uri: &str,
    state: Option<&str>,
    e: &ServerError,
) -> Response {
    let desc = e.public_description();
    let mut params = vec![
        ("error", e.code().as_str()),
        ("error_description", desc.as_str()),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", st.cfg.issuer.as_str()));
    redirect(StatusCode::FOUND, redirect_uri, &params)
}

fn page_error(status: StatusCode, code: ErrorCode, description: &str) -> Response {
    pages::error(status, code.as_str(), description)
}

fn is_pkce_challenge(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `GET /authorize`.
pub(crate) async fn authorize(
    State(st): State<Arc<AsState>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params::new(pairs);
    // 1. The client and its redirect URI. Failures here are never redirected.
    if p.all("client_id").len() > 1 || p.all("redirect_uri").len() > 1 {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "client_id and redirect_uri must appear once",
        );
    }
    let Some(client_id) = p.one("client_id").filter(|c| !c.is_empty()) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "client_id is required",
        );
    };
    let client = match st.lookup_client(client_id).await {
        Ok(c) => c,
        Err(reason) => {
            return page_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidClient, &reason)
        }
    };
    let redirect_uri = match p.one("redirect_uri") {
        Some(r) if redirect_uri_matches(&client.redirect_uris, r) => r.to_owned(),
        Some(_) => {
            return page_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                "redirect_uri is not registered for this client",
            )
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return page_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                "redirect_uri is required",
            )
        }
    };
    // 2. Everything else is reported to the (now verified) redirect URI.
    let state = p.one("state").filter(|s| !s.is_empty());
    let fail = |code: ErrorCode, desc: String| {
        error_redirect(
            &st,
            &redirect_uri,
            state,
            &ServerError::protocol(code, desc),
        )
    };
    if let Some(k) = p.repeated(&["resource"]) {
        return fail(
            ErrorCode::InvalidRequest,
            format!("parameter {k} is repeated"),
        );
    }
    if p.one("response_type") != Some("code") {
        return fail(
            ErrorCode::UnsupportedResponseType,
            "response_type must be \"code\"".into(),
        );
    }
    let Some(state) = state else {
        return fail(ErrorCode::InvalidRequest, "state is required".into());
    };
    let Some(challenge) = p.one("code_challenge") else {
        return fail(
            ErrorCode::InvalidRequest,
            "code_challenge is required (PKCE)".into(),
        );
    };
    if p.one("code_challenge_method") != Some("S256") {
        return fail(
            ErrorCode::InvalidRequest,
            "code_challenge_method must be S256".into(),
        );
    }
    if !is_pkce_challenge(challenge) {
        return fail(
            ErrorCode::InvalidRequest,
            "code_challenge is malformed".into(),
        );
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant".into(),
        );
    }
    let resource = match st.resource(&p.all("resource")) {
        Ok(r) => r,
        Err(e) => return error_redirect(&st, &redirect_uri, Some(state), &e),
    };
    let scopes = match st.scopes(p.one("scope"), &client) {
        Ok(s) => s,
        Err(e) => return error_redirect(&st, &redirect_uri, Some(state), &e),
    };
    let mut pending = Pending::new(
        client.client_id.clone(),
        client.client_name.clone(),
        redirect_uri,
        state.to_owned(),
        challenge.to_owned(),
        scopes,
        resource,
    );
    match st.browser.session(&headers) {
        Some((sid, session)) => {
            if consent_covers(&st, &session.user, &pending).await {
                return issue_code(&st, &session.user, &pending, StatusCode::FOUND).await;
            }
            pending.session = Some(sid);
            let req = st.browser.put_pending(pending.clone());
            consent_response(&st, &req, &session.csrf, &session.user, &pending)
        }
        None => {
            let name = pending.client_name.clone();
            let req = st.browser.put_pending(pending);
            sign_in_step(&st, &req, &name)
        }
    }
}

/// The sign-in step for a pending request: the password form, or a redirect upstream.
fn sign_in_step(st: &AsState, req: &str, client_name: &str) -> Response {
    match st.identity.begin(req, &st.endpoint("login/callback")) {
        LoginStep::Redirect(url) => match HeaderValue::from_str(&url) {
            Ok(v) => {
                let mut resp = StatusCode::FOUND.into_response();
                resp.headers_mut().insert(header::LOCATION, v);
                pages::secure_headers(resp.headers_mut());
                resp
            }
            Err(_) => page_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::ServerError,
                "the identity provider gave an unusable redirect",
            ),
        },
        _ => login_response(st, req, client_name, None, StatusCode::OK),
    }
}

fn login_response(
    st: &AsState,
    req: &str,
    client_name: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = random_token(32);
    let body = pages::login(&st.path("login"), req, &csrf, client_name, error);
    pages::html(
        status,
        body,
        &[cookie(LOGIN_CSRF_COOKIE, &csrf, PENDING_TTL)],
    )
}

fn consent_response(st: &AsState, req: &str, csrf: &str, user: &str, p: &Pending) -> Response {
    let body = pages::consent(&pages::ConsentView {
        action: &st.path("consent"),
        req,
        csrf,
        user,
        client_name: &p.client_name,
        client_id: &p.client_id,
        redirect_uri: &p.redirect_uri,
        resource: &p.resource,
        scopes: &p.scopes,
    });
    pages::html(StatusCode::OK, body, &[])
}

async fn consent_covers(st: &AsState, user: &str, p: &Pending) -> bool {
    match st.store.consent(user, &p.client_id).await {
        Ok(Some(granted)) => {
            let granted: Vec<&str> = granted.split(' ').collect();
            p.scopes.iter().all(|s| granted.contains(&s.as_str()))
        }
        _ => false,
    }
}

async fn issue_code(st: &AsState, user: &str, p: &Pending, status: StatusCode) -> Response {
    let code = random_token(32);
    let rec = CodeRecord {
        code_hash: SecretHash::of(&code),
        client_id: p.client_id.clone(),
        user_id: user.to_owned(),
        redirect_uri: p.redirect_uri.clone(),
        code_challenge: p.code_challenge.clone(),
        scope: p.scopes.join(" "),
        resource: p.resource.clone(),
        expires_at: unix_now() + st.cfg.code_ttl.as_secs() as i64,
        issued_family: None,
    };
    if let Err(e) = st.store.put_code(&rec).await {
        return error_redirect(st, &p.redirect_uri, Some(&p.state), &ServerError::from(e));
    }
    redirect(
        status,
        &p.redirect_uri,
        &[
            ("code", code.as_str()),
            ("state", p.state.as_str()),
            ("iss", st.cfg.issuer.as_str()),
        ],
    )
}

/// `POST /login`.
pub(crate) async fn login(
    State(st): State<Arc<AsState>>,
    PeerIp(ip): PeerIp,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let csrf_ok = read_cookie(&headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|c| !c.is_empty() && constant_eq(&c, field("csrf")));
    if !csrf_ok {
        return page_error(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest,
            "CSRF check failed",
        );
    }
    let req = field("req");
    let Some(pending) = st.browser.pending(req) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "the authorization request expired; start again from the application",
        );
    };
    let username = field("username");
    let user_key = format!("user:{username}");
    let ip_key = ip.map(|ip| format!("ip:{ip}"));
    if st.login_user_limit.blocked(&user_key)
        || ip_key
            .as_deref()
            .is_some_and(|k| st.login_ip_limit.blocked(k))
    {
        tracing::warn!(user = %username, "login rate limit hit");
        return login_response(
            &st,
            req,
            &pending.client_name,
            Some("Too many failed sign-in attempts. Try again later."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = match st.identity.authenticate(username, field("password")).await {
        Ok(u) => u,
        Err(e) => {
            return page_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.code(),
                "sign-in failed",
            )
        }
    };
    let Some(user) = user else {
        st.login_user_limit.hit(&user_key);
        if let Some(k) = &ip_key {
            st.login_ip_limit.hit(k);
        }
        return login_response(
            &st,
            req,
            &pending.client_name,
            Some("Invalid user name or password."),
            StatusCode::UNAUTHORIZED,
        );
    };
    st.login_user_limit.reset(&user_key);
    signed_in(&st, &user, req)
}

/// Starts a session for `user`, binds the pending request `req` to it and sends the browser to
/// the consent page.
fn signed_in(st: &AsState, user: &str, req: &str) -> Response {
    let sid = st.browser.start_session(user);
    st.browser.bind_pending(req, &sid);
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    let target = format!("{}?req={req}", st.endpoint("consent"));
    if let Ok(v) = HeaderValue::from_str(&target) {
        h.insert(header::LOCATION, v);
    }
    pages::secure_headers(h);
    for c in [
        cookie(SESSION_COOKIE, &sid, SESSION_TTL),
        cookie(LOGIN_CSRF_COOKIE, "", std::time::Duration::ZERO),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `GET /login/callback`: an upstream identity provider sends the browser back here.
pub(crate) async fn login_callback(
    State(st): State<Arc<AsState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match st.identity.complete(&q).await {
        Ok(Some((user, req))) => {
            if st.browser.pending(&req).is_none() {
                return page_error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidRequest,
                    "the authorization request expired; start again from the application",
                );
            }
            signed_in(&st, &user, &req)
        }
        Ok(None) => page_error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::AccessDenied,
            "sign-in with the identity provider failed",
        ),
        Err(e) => page_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.code(),
            "sign-in failed",
        ),
    }
}

/// `GET /consent?req=…`.
pub(crate) async fn consent_page(
    State(st): State<Arc<AsState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let req = q.get("req").map(String::as_str).unwrap_or_default();
    let Some(pending) = st.browser.pending(req) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "the authorization request expired; start again from the application",
        );
    };
    let Some((sid, session)) = st.browser.session(&headers) else {
        return sign_in_step(&st, req, &pending.client_name);
    };
    if pending.session.as_deref() != Some(sid.as_str()) {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "this authorization request belongs to another sign-in",
        );
    }
    if consent_covers(&st, &session.user, &pending).await {
        if let Some(p) = st.browser.take_pending(req) {
            return issue_code(&st, &session.user, &p, StatusCode::SEE_OTHER).await;
        }
    }
    consent_response(&st, req, &session.csrf, &session.user, &pending)
}

/// `POST /consent`: the session's CSRF token must come back with the form.
pub(crate) async fn consent_submit(
    State(st): State<Arc<AsState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let Some((sid, session)) = st.browser.session(&headers) else {
        return page_error(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest,
            "sign in first",
        );
    };
    if !constant_eq(&session.csrf, field("csrf")) {
        return page_error(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest,
            "CSRF check failed",
        );
    }
    let Some(pending) = st.browser.take_pending(field("req")) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "the authorization request expired; start again from the application",
        );
    };
    if pending.session.as_deref() != Some(sid.as_str()) {
        return page_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "this authorization request belongs to another sign-in",
        );
    }
    if field("decision") != "approve" {
        let e = ServerError::protocol(ErrorCode::AccessDenied, "the user denied the request");
        let desc = e.public_description();
        return redirect(
            StatusCode::SEE_OTHER,
            &pending.redirect_uri,
            &[
                ("error", e.code().as_str()),
                ("error_description", &desc),
                ("state", &pending.state),
                ("iss", &st.cfg.issuer),
            ],
        );
    }
    let mut granted: Vec<String> = match st.store.consent(&session.user, &pending.client_id).await {
        Ok(Some(s)) => s
            .split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    for s in &pending.scopes {
        if !granted.contains(s) {
            granted.push(s.clone());
        }
    }
    if let Err(e) = st
        .store
        .put_consent(
            &session.user,
            &pending.client_id,
            &granted.join(" "),
            unix_now(),
        )
        .await
    {
        return error_redirect(&st, &pending.redirect_uri, Some(&pending.state), &e.into());
    }
    issue_code(&st, &session.user, &pending, StatusCode::SEE_OTHER).await
}
