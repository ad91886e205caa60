//! Browser state: login sessions (`__Host-` cookies), CSRF tokens, pending authorization
//! requests, and the fixed-window rate limiter used for login and registration.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::random_token;

/// The login session cookie.
pub const SESSION_COOKIE: &str = "__Host-switchyard-session";
/// The pre-login CSRF cookie (double-submit with the login form).
pub const LOGIN_CSRF_COOKIE: &str = "__Host-switchyard-login-csrf";
/// How long a login session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// How long a user has to finish logging in and consenting.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// Pending requests kept at most; the oldest are dropped beyond this (memory bound).
const MAX_PENDING: usize = 10_000;
/// Sessions kept at most.
const MAX_SESSIONS: usize = 10_000;

/// A `Set-Cookie` value with the `__Host-` requirements: Secure, Path=/, no Domain; plus
/// HttpOnly and SameSite=Lax.
pub fn cookie(name: &str, value: &str, max_age: Duration) -> String {
    format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        max_age.as_secs()
    )
}

/// Reads a cookie from the request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in browser.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) user: String,
    pub(crate) csrf: String,
    expires: Instant,
}

/// An authorization request waiting for login and consent, held server-side so the browser
/// only carries a random handle.
#[derive(Clone)]
pub(crate) struct Pending {
    pub(crate) client_id: String,
    pub(crate) client_name: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: String,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: String,
    /// The session that may complete it, once the user has signed in.
    pub(crate) session: Option<String>,
    expires: Instant,
}

impl Pending {
    #[allow(clippy::too_many_arguments)] // a plain record of the validated request
    pub(crate) fn new(
        client_id: String,
        client_name: String,
        redirect_uri: String,
        state: String,
        code_challenge: String,
        scopes: Vec<String>,
        resource: String,
    ) -> Self {
        Self {
            client_id,
            client_name,
            redirect_uri,
            state,
            code_challenge,
            scopes,
            resource,
            session: None,
            expires: Instant::now() + PENDING_TTL,
        }
    }
}

fn evict<V>(map: &mut HashMap<String, V>, max: usize, expired: impl Fn(&V) -> bool) {
    map.retain(|_, v| !expired(v));
    while map.len() >= max {
        let Some(k) = map.keys().next().cloned() else {
            break;
        };
        map.remove(&k);
    }
}

/// In-memory sessions and pending requests.
#[derive(Default)]
pub(crate) struct Browser {
    sessions: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Browser {
    /// Starts a session for `user`; returns its cookie value.
    pub(crate) fn start_session(&self, user: &str) -> String {
        let id = random_token(32);
        let s = Session {
            user: user.to_owned(),
            csrf: random_token(32),
            expires: Instant::now() + SESSION_TTL,
        };
        if let Ok(mut m) = self.sessions.lock() {
            let now = Instant::now();
            evict(&mut m, MAX_SESSIONS, |s| s.expires < now);
            m.insert(id.clone(), s);
        }
        id
    }

    /// The live session named by the request's cookie, with its id.
    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = read_cookie(headers, SESSION_COOKIE)?;
        let m = self.sessions.lock().ok()?;
        let s = m.get(&id)?;
        (s.expires > Instant::now()).then(|| (id.clone(), s.clone()))
    }

    /// Stores a pending request; returns its handle.
    pub(crate) fn put_pending(&self, p: Pending) -> String {
        let id = random_token(24);
        if let Ok(mut m) = self.pending.lock() {
            let now = Instant::now();
            evict(&mut m, MAX_PENDING, |p| p.expires < now);
            m.insert(id.clone(), p);
        }
        id
    }

    /// A live pending request.
    pub(crate) fn pending(&self, id: &str) -> Option<Pending> {
        let m = self.pending.lock().ok()?;
        m.get(id).filter(|p| p.expires > Instant::now()).cloned()
    }

    /// Binds a pending request to the session that signed in for it.
    pub(crate) fn bind_pending(&self, id: &str, session: &str) {
        if let Ok(mut m) = self.pending.lock() {
            if let Some(p) = m.get_mut(id) {
                p.session = Some(session.to_owned());
            }
        }
    }

    /// Removes and returns a pending request (it is single-use).
    pub(crate) fn take_pending(&self, id: &str) -> Option<Pending> {
        let mut m = self.pending.lock().ok()?;
        m.remove(id).filter(|p| p.expires > Instant::now())
    }
}

/// Fixed-window counters keyed by a string (user name, client address).
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Keys tracked at most per limiter.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` is over its limit in the current window (without counting).
    pub(crate) fn blocked(&self, key: &str) -> bool {
        let Ok(m) = self.hits.lock() else { return true };
        m.get(key)
            .is_some_and(|(start, n)| start.elapsed() < self.window && *n >= self.limit)
    }

    /// Counts one event for `key`; returns `false` if it is over the limit.
    pub(crate) fn hit(&self, key: &str) -> bool {
        let Ok(mut m) = self.hits.lock() else {
            return false;
        };
        if m.len() >= MAX_KEYS {
            let window = self.window;
            m.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = m.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (Instant::now(), 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1 <= self.limit
    }

    /// Forgets `key` (after a successful login).
    pub(crate) fn reset(&self, key: &str) {
        if let Ok(mut m) = self.hits.lock() {
            m.remove(key);
        }
    }
}

/// The peer address, when the server was started with connect info.
pub(crate) struct PeerIp(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_limit_and_resets() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        assert!(l.hit("k") && l.hit("k"));
        assert!(l.blocked("k"));
        assert!(!l.hit("k"));
        assert!(!l.blocked("other"));
        l.reset("k");
        assert!(!l.blocked("k"));
    }

    #[test]
    fn cookies_are_host_prefixed_secure_httponly_lax() {
        let c = cookie(SESSION_COOKIE, "v", SESSION_TTL);
        for part in ["__Host-", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Domain"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; __Host-switchyard-session=xyz"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(read_cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
    }
}
