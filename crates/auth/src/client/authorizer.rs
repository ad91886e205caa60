//! The user-agent step of the authorization-code flow: send someone (or something) to the
//! authorization URL and collect the redirect's query parameters.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use url::Url;

use super::error::AuthError;
use super::BoxFuture;

/// Query parameters of the authorization redirect (RFC 6749 §4.1.2, RFC 9207).
/// `Debug` hides the code.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` echoed back.
    pub state: Option<String>,
    /// The issuer (RFC 9207).
    pub iss: Option<String>,
    /// The OAuth error code, on failure.
    pub error: Option<String>,
    /// The error description, on failure.
    pub error_description: Option<String>,
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("state", &self.state)
            .field("iss", &self.iss)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

impl CallbackParams {
    /// Parses a query string (without `?`). A repeated parameter is an error: RFC 6749 §3.1
    /// forbids it, and taking either copy would let an attacker smuggle a value in.
    pub fn from_query(query: &str) -> Result<Self, AuthError> {
        let mut p = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut p.code,
                "state" => &mut p.state,
                "iss" => &mut p.iss,
                "error" => &mut p.error,
                "error_description" => &mut p.error_description,
                _ => continue,
            };
            if slot.is_some() {
                return Err(AuthError::InvalidCallback(format!(
                    "parameter {k} repeated"
                )));
            }
            *slot = Some(v.into_owned());
        }
        Ok(p)
    }

    /// Parses the full redirect URL.
    pub fn from_redirect_url(url: &Url) -> Result<Self, AuthError> {
        Self::from_query(url.query().unwrap_or(""))
    }
}

/// Runs the user-agent step. Implementations must be `Send + Sync`; the returned future must
/// be `Send`.
pub trait Authorizer: Send + Sync {
    /// Called before the authorization URL is built. Returns the redirect URI to use for this
    /// attempt — by default `redirect_uri` unchanged; [`LoopbackAuthorizer`] binds its listener
    /// here and fills in the real port when `redirect_uri` has port 0.
    fn prepare(&self, redirect_uri: &str) -> BoxFuture<'_, Result<String, AuthError>> {
        let r = redirect_uri.to_owned();
        Box::pin(async move { Ok(r) })
    }

    /// Visits `authorize_url` and returns the redirect's query parameters (code, state, iss,
    /// error…).
    fn authorize(
        &self,
        authorize_url: &str,
        redirect_uri: &str,
    ) -> BoxFuture<'_, Result<CallbackParams, AuthError>>;
}

/// Whether `loc` points at `redirect_uri` (same scheme, host, port and path).
fn is_redirect_target(loc: &Url, redirect_uri: &Url) -> bool {
    loc.scheme() == redirect_uri.scheme()
        && loc.host_str() == redirect_uri.host_str()
        && loc.port_or_known_default() == redirect_uri.port_or_known_default()
        && loc.path() == redirect_uri.path()
}

fn parse_redirect(redirect_uri: &str) -> Result<Url, AuthError> {
    Url::parse(redirect_uri).map_err(|e| AuthError::InvalidUrl {
        what: "redirect",
        url: redirect_uri.to_owned(),
        reason: e.to_string(),
    })
}

/// Fetches the authorization URL with redirects disabled and reads the `Location` header: for
/// authorization servers that approve without user interaction (test and CI servers).
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadlessAuthorizer;

impl Authorizer for HeadlessAuthorizer {
    fn authorize(
        &self,
        authorize_url: &str,
        redirect_uri: &str,
    ) -> BoxFuture<'_, Result<CallbackParams, AuthError>> {
        let authorize_url = authorize_url.to_owned();
        let redirect_uri = redirect_uri.to_owned();
        Box::pin(async move {
            let target = parse_redirect(&redirect_uri)?;
            let url = Url::parse(&authorize_url).map_err(|e| AuthError::InvalidUrl {
                what: "authorization endpoint",
                url: authorize_url.clone(),
                reason: e.to_string(),
            })?;
            super::ssrf::SsrfPolicy::danger_allow_loopback_http().check_url(&url)?;
            // Loopback is allowed (test authorization servers run there); private, link-local
            // and metadata addresses are not. The caller has already checked the URL itself
            // against its own policy.
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(super::ssrf::GuardedResolver::shared(
                    super::ssrf::SsrfPolicy::danger_allow_loopback_http(),
                ))
                .timeout(Duration::from_secs(20))
                .build()
                .map_err(|e| AuthError::Authorizer(format!("HTTP client: {e}")))?;
            let resp = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| super::http::map_send_error(url.as_str(), e))?;
            if !resp.status().is_redirection() {
                return Err(AuthError::Authorizer(format!(
                    "authorization endpoint answered HTTP {} instead of redirecting (it needs a user; use a browser)",
                    resp.status().as_u16()
                )));
            }
            let loc = super::http::location(resp.headers(), &url)?;
            if !is_redirect_target(&loc, &target) {
                return Err(AuthError::Authorizer(
                    "authorization endpoint redirected elsewhere than the redirect URI (it needs a user; use a browser)".into(),
                ));
            }
            CallbackParams::from_redirect_url(&loc)
        })
    }
}

/// Opens the authorization URL in the user's browser (or prints it) and waits for the
/// redirect on a loopback listener (RFC 8252 §7.3).
#[derive(Clone, Copy, Debug)]
pub struct LoopbackAuthorizer {
    /// Launch the browser (`xdg-open`, `open`); otherwise only print the URL to stderr.
    pub open_browser: bool,
    /// How long to wait for the redirect.
    pub timeout: Duration,
}

impl Default for LoopbackAuthorizer {
    fn default() -> Self {
        Self {
            open_browser: true,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Longest request head the callback listener reads.
const MAX_CALLBACK_REQUEST: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const CALLBACK_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Listeners bound by `prepare`, by port, waiting for their `authorize` call.
fn prepared() -> &'static Mutex<HashMap<u16, std::net::TcpListener>> {
    static P: OnceLock<Mutex<HashMap<u16, std::net::TcpListener>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

/// The address to bind for a loopback redirect URI.
fn loopback_addr(redirect: &Url) -> Result<SocketAddr, AuthError> {
    let bad = |reason: &str| AuthError::InvalidUrl {
        what: "redirect",
        url: redirect.as_str().to_owned(),
        reason: reason.to_owned(),
    };
    if redirect.scheme() != "http" {
        return Err(bad("a loopback redirect URI uses http"));
    }
    let ip = match redirect.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        _ => return Err(bad("the host must be 127.0.0.1, [::1] or localhost")),
    };
    Ok(SocketAddr::new(ip, redirect.port().unwrap_or(80)))
}

impl LoopbackAuthorizer {
    fn bind(redirect: &Url) -> Result<std::net::TcpListener, AuthError> {
        let addr = loopback_addr(redirect)?;
        if let Some(l) = super::lock(prepared()).remove(&addr.port()) {
            return Ok(l);
        }
        let l = std::net::TcpListener::bind(addr)
            .map_err(|e| AuthError::Authorizer(format!("cannot listen on {addr}: {e}")))?;
        l.set_nonblocking(true)
            .map_err(|e| AuthError::Authorizer(format!("listener: {e}")))?;
        Ok(l)
    }
}

impl Authorizer for LoopbackAuthorizer {
    fn prepare(&self, redirect_uri: &str) -> BoxFuture<'_, Result<String, AuthError>> {
        let redirect_uri = redirect_uri.to_owned();
        Box::pin(async move {
            let mut url = parse_redirect(&redirect_uri)?;
            if url.port() != Some(0) {
                return Ok(redirect_uri);
            }
            let l = Self::bind(&url)?;
            let port = l
                .local_addr()
                .map_err(|e| AuthError::Authorizer(format!("listener: {e}")))?
                .port();
            super::lock(prepared()).insert(port, l);
            url.set_port(Some(port))
                .map_err(|()| AuthError::Authorizer("cannot set redirect port".into()))?;
            Ok(url.into())
        })
    }

    fn authorize(
        &self,
        authorize_url: &str,
        redirect_uri: &str,
    ) -> BoxFuture<'_, Result<CallbackParams, AuthError>> {
        let authorize_url = authorize_url.to_owned();
        let redirect_uri = redirect_uri.to_owned();
        let this = *self;
        Box::pin(async move {
            let redirect = parse_redirect(&redirect_uri)?;
            let az = Url::parse(&authorize_url).map_err(|e| AuthError::InvalidUrl {
                what: "authorization endpoint",
                url: authorize_url.clone(),
                reason: e.to_string(),
            })?;
            if !matches!(az.scheme(), "http" | "https") {
                return Err(AuthError::InvalidUrl {
                    what: "authorization endpoint",
                    url: authorize_url,
                    reason: "only http and https URLs are opened".into(),
                });
            }
            let listener = tokio::net::TcpListener::from_std(Self::bind(&redirect)?)
                .map_err(|e| AuthError::Authorizer(format!("listener: {e}")))?;
            eprintln!("Open this URL in a browser to authorize:\n\n  {az}\n");
            if this.open_browser {
                open_browser(az.as_str());
            }
            tokio::time::timeout(this.timeout, wait_for_callback(&listener, redirect.path()))
                .await
                .map_err(|_| AuthError::Authorizer("timed out waiting for the browser".into()))?
        })
    }
}

/// Launches the platform's URL opener without a shell (the URL is one argv entry).
fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let r = std::process::Command::new(cmd)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not launch a browser; open the printed URL by hand");
    }
}

const PAGE_OK: &str = "<!doctype html><title>Authorized</title><p>Authorization complete. You can close this tab.</p>";
const PAGE_ERR: &str = "<!doctype html><title>Authorization failed</title><p>Authorization failed. Return to the terminal for details. You can close this tab.</p>";

async fn wait_for_callback(
    listener: &tokio::net::TcpListener,
    path: &str,
) -> Result<CallbackParams, AuthError> {
    loop {
        let (mut sock, _) = listener
            .accept()
            .await
            .map_err(|e| AuthError::Authorizer(format!("accept: {e}")))?;
        let head = match tokio::time::timeout(CALLBACK_READ_TIMEOUT, read_head(&mut sock)).await {
            Ok(Ok(h)) => h,
            _ => continue,
        };
        let target = head
            .lines()
            .next()
            .and_then(|l| {
                let mut parts = l.split(' ');
                match (parts.next(), parts.next()) {
                    (Some("GET"), Some(t)) => Some(t.to_owned()),
                    _ => None,
                }
            })
            .unwrap_or_default();
        let (p, q) = target.split_once('?').unwrap_or((target.as_str(), ""));
        if p != path {
            let _ = respond(&mut sock, "404 Not Found", "<p>Not found</p>").await;
            continue;
        }
        let params = CallbackParams::from_query(q);
        let ok = params
            .as_ref()
            .is_ok_and(|p| p.error.is_none() && p.code.is_some());
        let _ = respond(&mut sock, "200 OK", if ok { PAGE_OK } else { PAGE_ERR }).await;
        return params;
    }
}

async fn read_head(sock: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_CALLBACK_REQUEST {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn respond(
    sock: &mut tokio::net::TcpStream,
    status: &str,
    body: &str,
) -> std::io::Result<()> {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(msg.as_bytes()).await?;
    sock.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_query_parsing_and_repeats() {
        let p =
            CallbackParams::from_query("code=abc&state=s1&iss=http%3A%2F%2Flocalhost%3A9").unwrap();
        assert_eq!(p.code.as_deref(), Some("abc"));
        assert_eq!(p.state.as_deref(), Some("s1"));
        assert_eq!(p.iss.as_deref(), Some("http://localhost:9"));
        assert!(!format!("{p:?}").contains("abc"));
        assert!(CallbackParams::from_query("code=a&state=1&state=2").is_err());
        let e = CallbackParams::from_query("error=access_denied&error_description=no").unwrap();
        assert_eq!(e.error.as_deref(), Some("access_denied"));
    }

    #[tokio::test]
    async fn loopback_authorizer_receives_the_redirect() {
        let a = LoopbackAuthorizer {
            open_browser: false,
            timeout: Duration::from_secs(10),
        };
        let redirect = a.prepare("http://127.0.0.1:0/callback").await.unwrap();
        assert!(!redirect.contains(":0/"), "{redirect}");
        let r2 = redirect.clone();
        let browser = tokio::spawn(async move {
            // A stray request first, then the real redirect.
            let c = reqwest::Client::new();
            let nf = c
                .get(r2.replace("/callback", "/favicon.ico"))
                .send()
                .await
                .unwrap();
            assert_eq!(nf.status().as_u16(), 404);
            let r = c
                .get(format!("{r2}?code=c1&state=st&iss=https%3A%2F%2Fas"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.text().await.unwrap()
        });
        let p = a
            .authorize("https://as.example/authorize?x=1", &redirect)
            .await
            .unwrap();
        assert_eq!(p.code.as_deref(), Some("c1"));
        assert_eq!(p.state.as_deref(), Some("st"));
        assert_eq!(p.iss.as_deref(), Some("https://as"));
        assert!(browser.await.unwrap().contains("close this tab"));
    }

    #[tokio::test]
    async fn loopback_authorizer_refuses_non_http_authorize_urls() {
        let a = LoopbackAuthorizer {
            open_browser: false,
            timeout: Duration::from_secs(1),
        };
        let e = a
            .authorize("file:///etc/passwd", "http://127.0.0.1:0/callback")
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::InvalidUrl { .. }), "{e}");
    }
}
