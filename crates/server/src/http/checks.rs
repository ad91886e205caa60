//! Request checks that run before any JSON is read: Host/Origin (DNS rebinding), media types.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{header, HeaderMap};

/// Which `Host` and `Origin` values the endpoint accepts.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Accepted host names (without port). `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Accepted origins (`scheme://host[:port]`); an entry without a port matches any port.
    /// `*` accepts any.
    pub allowed_origins: Vec<String>,
}

impl Default for OriginPolicy {
    /// Loopback only: what a local server needs against DNS rebinding.
    fn default() -> Self {
        let hosts = ["localhost", "127.0.0.1", "[::1]"];
        Self {
            allowed_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            allowed_origins: hosts
                .iter()
                .flat_map(|h| [format!("http://{h}"), format!("https://{h}")])
                .collect(),
        }
    }
}

fn host_without_port(h: &str) -> &str {
    if h.starts_with('[') {
        return h.find(']').map_or(h, |i| &h[..=i]);
    }
    h.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(h, |(host, _)| host)
}

impl OriginPolicy {
    /// Accepts any Host and Origin; for deployments behind a proxy that checks them.
    pub fn danger_allow_any() -> Self {
        Self {
            allowed_hosts: vec!["*".into()],
            allowed_origins: vec!["*".into()],
        }
    }

    /// Adds a public host name (and its https origin).
    pub fn allow_host(mut self, host: &str) -> Self {
        self.allowed_hosts.push(host.to_ascii_lowercase());
        self.allowed_origins
            .push(format!("https://{}", host.to_ascii_lowercase()));
        self
    }

    /// Whether the request's Host and Origin are acceptable.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        if !self.allowed_hosts.iter().any(|h| h == "*") {
            if let Some(host) = headers.get(header::HOST) {
                let host = host.to_str().map_err(|_| "invalid Host header")?;
                let name = host_without_port(host);
                // The host lower-cased must equal an entry, compared without allocating.
                let lower_eq = |allowed: &String| {
                    allowed.len() == name.len()
                        && allowed
                            .bytes()
                            .zip(name.bytes())
                            .all(|(a, n)| a == n.to_ascii_lowercase())
                };
                if !self.allowed_hosts.iter().any(lower_eq) {
                    return Err("Host not allowed");
                }
            }
        }
        if !self.allowed_origins.iter().any(|o| o == "*") {
            if let Some(origin) = headers.get(header::ORIGIN) {
                let origin = origin
                    .to_str()
                    .map_err(|_| "invalid Origin header")?
                    .to_ascii_lowercase();
                let ok = self.allowed_origins.iter().any(|a| {
                    origin == *a
                        || origin
                            .strip_prefix(a.as_str())
                            .and_then(|rest| rest.strip_prefix(':'))
                            .is_some_and(|port| {
                                !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                            })
                });
                if !ok {
                    return Err("Origin not allowed");
                }
            }
        }
        Ok(())
    }
}

/// Whether the `Content-Type` is `application/json` (parameters allowed).
pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    if v.as_bytes() == b"application/json" {
        return true;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|v| v.eq_ignore_ascii_case("application/json"))
}

/// What the `Accept` header allows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Accepts {
    pub(crate) json: bool,
    pub(crate) sse: bool,
}

pub(crate) fn accepts(headers: &HeaderMap) -> Accepts {
    let mut a = Accepts::default();
    let all = headers.get_all(header::ACCEPT);
    let mut values = all.iter();
    // What MCP clients send, as one header: settled without splitting.
    if let (Some(v), None) = (values.next(), values.next()) {
        if v.as_bytes() == b"application/json, text/event-stream"
            || v.as_bytes() == b"text/event-stream, application/json"
        {
            return Accepts {
                json: true,
                sse: true,
            };
        }
    }
    for v in all {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let t = item.split(';').next().unwrap_or("").trim();
            if t.eq_ignore_ascii_case("application/json") || t.eq_ignore_ascii_case("application/*")
            {
                a.json = true;
            } else if t.eq_ignore_ascii_case("text/event-stream")
                || t.eq_ignore_ascii_case("text/*")
            {
                a.sse = true;
            } else if t == "*/*" {
                a.json = true;
                a.sse = true;
            }
        }
    }
    a
}

/// Decodes a 2026-07-28 header value: `=?base64?…?=` carries base64 of UTF-8; anything else is
/// literal. Surrounding whitespace is not part of the value. `None` means a malformed base64 form.
pub(crate) fn decode_header_value(raw: &str) -> Option<String> {
    let v = raw.trim();
    if let Some(inner) = v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        let bytes = STANDARD.decode(inner).ok()?;
        return String::from_utf8(bytes).ok();
    }
    Some(v.to_owned())
}

/// Encodes a value for a 2026-07-28 header: literal when it is safe visible ASCII without
/// leading or trailing space, base64 form otherwise.
pub fn encode_header_value(v: &str) -> String {
    let safe = !v.is_empty()
        && !v.starts_with(' ')
        && !v.ends_with(' ')
        && !v.starts_with("=?")
        && v.bytes().all(|b| (0x20..0x7f).contains(&b));
    if safe {
        v.to_owned()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(v.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn default_policy_allows_loopback_and_rejects_rebinding() {
        let p = OriginPolicy::default();
        assert!(p
            .check(&h(&[
                ("host", "127.0.0.1:8787"),
                ("origin", "http://127.0.0.1:8787")
            ]))
            .is_ok());
        assert!(p.check(&h(&[("host", "localhost")])).is_ok());
        assert!(p.check(&h(&[("host", "[::1]:99")])).is_ok());
        assert!(p.check(&h(&[("host", "evil.example.com")])).is_err());
        assert!(p
            .check(&h(&[
                ("host", "localhost:1"),
                ("origin", "http://evil.example.com")
            ]))
            .is_err());
        assert!(p
            .check(&h(&[
                ("host", "localhost:1"),
                ("origin", "http://localhost.evil.com")
            ]))
            .is_err());
        assert!(p
            .check(&h(&[("host", "localhost:1"), ("origin", "null")]))
            .is_err());
    }

    #[test]
    fn header_values_decode_base64_form_and_literals() {
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8=?=").as_deref(),
            Some("Hello")
        );
        assert_eq!(decode_header_value("=?base64?SGVsbG8?="), None);
        assert_eq!(decode_header_value("=?base64?SGVs!!!bG8=?="), None);
        assert_eq!(decode_header_value("SGVsbG8=").as_deref(), Some("SGVsbG8="));
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8=").as_deref(),
            Some("=?base64?SGVsbG8=")
        );
        assert_eq!(decode_header_value("  tool  ").as_deref(), Some("tool"));
        assert_eq!(encode_header_value("héllo"), "=?base64?aMOpbGxv?=");
        assert_eq!(encode_header_value("plain"), "plain");
    }

    #[test]
    fn host_check_lower_cases_the_request_host_only() {
        let p = OriginPolicy::default();
        assert!(p.check(&h(&[("host", "LocalHost:8080")])).is_ok());
        assert!(p.check(&h(&[("host", "localhost.")])).is_err());
        assert!(p.check(&h(&[("host", "localhos")])).is_err());
        let upper = OriginPolicy {
            allowed_hosts: vec!["Example.com".into()],
            allowed_origins: vec![],
        };
        // Entries are compared as given: an upper-case entry never matched and still does not.
        assert!(upper.check(&h(&[("host", "example.com")])).is_err());
    }

    #[test]
    fn media_types_common_forms_and_general_forms_agree() {
        assert!(is_json_content_type(&h(&[(
            "content-type",
            "application/json"
        )])));
        assert!(is_json_content_type(&h(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(!is_json_content_type(&h(&[("content-type", "text/plain")])));
        assert!(!is_json_content_type(&h(&[])));
        let a = accepts(&h(&[("accept", "application/json, text/event-stream")]));
        assert!(a.json && a.sse);
        let a = accepts(&h(&[
            ("accept", "application/json"),
            ("accept", "text/event-stream"),
        ]));
        assert!(a.json && a.sse);
        let a = accepts(&h(&[("accept", "application/json,text/plain")]));
        assert!(a.json && !a.sse);
    }

    #[test]
    fn accept_parsing_handles_order_params_and_wildcards() {
        let a = accepts(&h(&[(
            "accept",
            "text/event-stream, application/json;q=0.9",
        )]));
        assert!(a.json && a.sse);
        let a = accepts(&h(&[("accept", "*/*")]));
        assert!(a.json && a.sse);
        let a = accepts(&h(&[("accept", "application/json")]));
        assert!(a.json && !a.sse);
    }
}
