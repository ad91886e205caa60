//! The server-rendered login, consent and error pages: plain string formatting with every
//! interpolated value HTML-escaped, served with anti-framing and no-store headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `Content-Security-Policy` of every page: nothing loads, nothing frames us. (`form-action`
/// is left unset: browsers apply it to the redirect after the consent POST, which goes to the
/// client's redirect URI.)
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;\
padding:0 1rem;color:#222}h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}\
input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1.2rem;margin-right:.5rem}.err{color:#a00}\
code{background:#f3f3f3;padding:0 .2rem;word-break:break-all}li{margin:.2rem 0}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// An HTML response with the page security headers and any `Set-Cookie` values.
pub fn html(status: StatusCode, body: String, cookies: &[String]) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(h);
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Adds the anti-framing, no-store and no-referrer headers.
pub fn secure_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The login form.
pub fn login(
    action: &str,
    req: &str,
    csrf: &str,
    client_name: &str,
    error: Option<&str>,
) -> String {
    let err = error
        .map(|e| format!("<p class=\"err\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    layout(
        "Sign in",
        &format!(
            "<h1>Sign in</h1><p><strong>{client}</strong> wants to access your account.</p>{err}\
             <form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"req\" value=\"{req}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"username\">User name</label>\
             <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\" id=\"sign-in\">Sign in</button></form>",
            client = escape(client_name),
            action = escape(action),
            req = escape(req),
            csrf = escape(csrf),
        ),
    )
}

/// What the consent page shows.
pub struct ConsentView<'a> {
    /// Form target.
    pub action: &'a str,
    /// Pending request handle.
    pub req: &'a str,
    /// Session CSRF token.
    pub csrf: &'a str,
    /// Signed-in user.
    pub user: &'a str,
    /// Client name.
    pub client_name: &'a str,
    /// Client ID.
    pub client_id: &'a str,
    /// Where the browser will be sent.
    pub redirect_uri: &'a str,
    /// The resource (audience).
    pub resource: &'a str,
    /// Requested scopes.
    pub scopes: &'a [String],
}

/// The consent form: names the client, its redirect URI, the resource and each scope.
pub fn consent(v: &ConsentView<'_>) -> String {
    let scopes = if v.scopes.is_empty() {
        "<li>basic access (no specific scopes)</li>".to_owned()
    } else {
        v.scopes
            .iter()
            .map(|s| format!("<li><code>{}</code></li>", escape(s)))
            .collect()
    };
    layout(
        "Authorize access",
        &format!(
            "<h1>Authorize {client}?</h1>\
             <p>Signed in as <strong>{user}</strong>.</p>\
             <p><strong>{client}</strong> (client ID <code>{client_id}</code>) asks for access to \
             <code>{resource}</code> with:</p><ul>{scopes}</ul>\
             <p>After you decide you will be sent to <code>{redirect}</code>.</p>\
             <form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"req\" value=\"{req}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>",
            client = escape(v.client_name),
            client_id = escape(v.client_id),
            user = escape(v.user),
            resource = escape(v.resource),
            redirect = escape(v.redirect_uri),
            action = escape(v.action),
            req = escape(v.req),
            csrf = escape(v.csrf),
        ),
    )
}

/// An error page for failures that must not redirect (unknown client, bad redirect URI,
/// CSRF failure). Shows the OAuth error code and description.
pub fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = layout(
        "Authorization error",
        &format!(
            "<h1>Authorization error</h1><p><code id=\"error\">{}</code></p><p id=\"error_description\">{}</p>",
            escape(code),
            escape(description)
        ),
    );
    html(status, body, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        let page = login("/login", "r", "c", "<img src=x onerror=alert(1)>", None);
        assert!(!page.contains("<img"));
    }
}
