//! The authorization-code grant as types: a [`PendingAuthorization`] holds the PKCE verifier,
//! `state` and expected issuer of one request; [`PendingAuthorization::accept`] consumes it and
//! checks the callback, yielding an [`AuthorizationCode`] that can be redeemed once. A callback
//! can't be checked against the wrong request, and a verifier can't be reused.

use std::fmt;

use url::Url;

use super::authorizer::CallbackParams;
use super::discovery::AuthorizationServerMetadata;
use super::error::AuthError;
use super::pkce::{self, Pkce};

/// An authorization request waiting for its callback.
#[must_use = "an authorization request does nothing until its callback is accepted"]
pub struct PendingAuthorization {
    url: Url,
    state: String,
    pkce: Pkce,
    redirect_uri: String,
    issuer: String,
    iss_required: bool,
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("url", &self.url.as_str())
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// What goes into an authorization request besides PKCE and `state`.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationParams<'a> {
    /// The `client_id`.
    pub client_id: &'a str,
    /// The redirect URI for this attempt.
    pub redirect_uri: &'a str,
    /// The PRM `resource`, verbatim (RFC 8707).
    pub resource: &'a str,
    /// Space-separated scopes; `None` omits the parameter.
    pub scope: Option<&'a str>,
}

impl PendingAuthorization {
    /// Builds the request URL on the AS's `authorization_endpoint` with a fresh PKCE pair and
    /// `state`. Refuses an AS that does not advertise S256 (the MCP spec forbids falling back
    /// to `plain` or to no PKCE).
    pub fn new(
        asm: &AuthorizationServerMetadata,
        endpoint: Url,
        p: AuthorizationParams<'_>,
    ) -> Result<Self, AuthError> {
        let s256 = asm
            .code_challenge_methods_supported
            .as_ref()
            .is_some_and(|m| m.iter().any(|x| x == pkce::METHOD_S256));
        if !s256 {
            return Err(AuthError::PkceUnsupported {
                issuer: asm.issuer.clone(),
            });
        }
        let pkce = Pkce::generate();
        let state = pkce::new_state();
        let mut url = endpoint;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", p.client_id)
                .append_pair("redirect_uri", p.redirect_uri)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", pkce::METHOD_S256)
                .append_pair("state", &state)
                .append_pair("resource", p.resource);
            if let Some(s) = p.scope {
                q.append_pair("scope", s);
            }
        }
        Ok(Self {
            url,
            state,
            pkce,
            redirect_uri: p.redirect_uri.to_owned(),
            issuer: asm.issuer.clone(),
            iss_required: asm.authorization_response_iss_parameter_supported == Some(true),
        })
    }

    /// The URL to send the user agent to.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The redirect URI this request uses.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Checks the callback: `state` first, then the RFC 9207 `iss` (exact string comparison,
    /// and required when the AS advertises it) before `error` or `code` are believed, so a
    /// mix-up attacker's response is rejected whatever it says.
    pub fn accept(self, cb: &CallbackParams) -> Result<AuthorizationCode, AuthError> {
        if cb.state.as_deref() != Some(self.state.as_str()) {
            return Err(AuthError::StateMismatch);
        }
        match &cb.iss {
            Some(iss) if *iss != self.issuer => {
                return Err(AuthError::IssMismatch {
                    expected: self.issuer,
                    found: iss.clone(),
                })
            }
            Some(_) => {}
            None if self.iss_required => {
                return Err(AuthError::IssMissing {
                    issuer: self.issuer,
                })
            }
            None => {}
        }
        if let Some(error) = &cb.error {
            return Err(AuthError::AuthorizationDenied {
                error: error.clone(),
                description: cb.error_description.clone(),
            });
        }
        let code = cb
            .code
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| AuthError::InvalidCallback("no code".into()))?;
        Ok(AuthorizationCode {
            code,
            verifier: self.pkce.verifier().to_owned(),
            redirect_uri: self.redirect_uri,
        })
    }
}

/// A checked authorization code with the verifier and redirect URI of its request, redeemed
/// once by the token request. `Debug` hides the code and verifier.
#[must_use = "an authorization code is only useful when redeemed"]
pub struct AuthorizationCode {
    pub(crate) code: String,
    pub(crate) verifier: String,
    pub(crate) redirect_uri: String,
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("code", &"<redacted>")
            .field("verifier", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asm(json: &str) -> AuthorizationServerMetadata {
        serde_json::from_str(json).unwrap()
    }

    const ADVERTISED: &str = r#"{"issuer":"http://localhost:9","code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}"#;
    const SILENT: &str =
        r#"{"issuer":"http://localhost:9","code_challenge_methods_supported":["S256"]}"#;

    fn pending(meta: &str) -> PendingAuthorization {
        PendingAuthorization::new(
            &asm(meta),
            Url::parse("http://localhost:9/authorize?tenant=a").unwrap(),
            AuthorizationParams {
                client_id: "cid",
                redirect_uri: "http://localhost:3000/callback",
                resource: "http://localhost:8",
                scope: None,
            },
        )
        .unwrap()
    }

    /// Answers `p` with its own state plus `extra` query parameters.
    fn answer(p: PendingAuthorization, extra: &str) -> Result<AuthorizationCode, AuthError> {
        let q = format!("state={}&{extra}", p.state);
        p.accept(&CallbackParams::from_query(&q).unwrap())
    }

    #[test]
    fn request_url_carries_pkce_state_and_resource_verbatim() {
        let p = pending(SILENT);
        let u = Url::parse(p.url()).unwrap();
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "a", "existing query kept");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], p.pkce.challenge());
        assert_eq!(q["resource"], "http://localhost:8");
        assert_eq!(q["state"], p.state);
        assert!(!q.contains_key("scope"));
    }

    #[test]
    fn pkce_without_s256_is_refused() {
        for meta in [
            r#"{"issuer":"x"}"#,
            r#"{"issuer":"x","code_challenge_methods_supported":["plain"]}"#,
        ] {
            let r = PendingAuthorization::new(
                &asm(meta),
                Url::parse("https://x/a").unwrap(),
                AuthorizationParams {
                    client_id: "c",
                    redirect_uri: "http://localhost/cb",
                    resource: "r",
                    scope: None,
                },
            );
            assert!(matches!(r, Err(AuthError::PkceUnsupported { .. })));
        }
    }

    #[test]
    fn iss_equal_to_issuer_is_accepted() {
        let c = answer(pending(ADVERTISED), "code=c&iss=http%3A%2F%2Flocalhost%3A9").unwrap();
        assert_eq!(c.code, "c");
        assert_eq!(c.verifier.len(), 43);
        assert!(!format!("{c:?}").contains(&c.verifier));
    }

    #[test]
    fn iss_is_compared_without_normalisation() {
        let e = answer(
            pending(ADVERTISED),
            "code=c&iss=http%3A%2F%2Flocalhost%3A9%2F",
        )
        .unwrap_err();
        assert!(matches!(e, AuthError::IssMismatch { .. }), "{e}");
    }

    #[test]
    fn iss_missing_while_advertised_is_rejected() {
        let e = answer(pending(ADVERTISED), "code=c").unwrap_err();
        assert!(matches!(e, AuthError::IssMissing { .. }), "{e}");
    }

    #[test]
    fn iss_missing_while_not_advertised_is_accepted() {
        assert_eq!(answer(pending(SILENT), "code=c").unwrap().code, "c");
    }

    #[test]
    fn unexpected_wrong_iss_is_rejected_even_when_not_advertised() {
        let e = answer(pending(SILENT), "code=c&iss=https%3A%2F%2Fevil.example.com").unwrap_err();
        assert!(matches!(e, AuthError::IssMismatch { .. }), "{e}");
    }

    #[test]
    fn wrong_iss_is_reported_before_an_error_response() {
        let e = answer(
            pending(SILENT),
            "error=access_denied&iss=https%3A%2F%2Fevil",
        )
        .unwrap_err();
        assert!(matches!(e, AuthError::IssMismatch { .. }), "{e}");
    }

    #[test]
    fn state_mismatch_denial_and_missing_code() {
        let p = pending(SILENT);
        let cb = CallbackParams::from_query("code=c&state=x").unwrap();
        assert!(matches!(p.accept(&cb), Err(AuthError::StateMismatch)));
        let p = pending(SILENT);
        let cb = CallbackParams::from_query("code=c").unwrap();
        assert!(matches!(p.accept(&cb), Err(AuthError::StateMismatch)));
        assert!(matches!(
            answer(pending(SILENT), "error=access_denied"),
            Err(AuthError::AuthorizationDenied { .. })
        ));
        assert!(matches!(
            answer(pending(SILENT), "x=1"),
            Err(AuthError::InvalidCallback(_))
        ));
    }
}
