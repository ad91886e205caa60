//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the client
//! signs a short-lived JWT naming itself and the authorization server.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::error::AuthError;
use super::pkce::random_b64url;
use super::token::now;

/// `client_assertion_type` for JWT client assertions.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid: long enough for clock skew, short enough that a
/// leaked one is soon useless.
const ASSERTION_LIFETIME_SECS: u64 = 300;

/// A private key for `private_key_jwt`. `Debug` shows only the algorithm.
#[derive(Clone)]
pub struct SigningKey {
    key: EncodingKey,
    alg: Algorithm,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A P-256 key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), signing with ES256.
    pub fn es256_pem(pem: &str) -> Result<Self, AuthError> {
        let der = pem_body(pem, "PRIVATE KEY").ok_or_else(|| {
            AuthError::Config(
                "ES256 private key: expected PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)".into(),
            )
        })?;
        let k = Self {
            key: EncodingKey::from_ec_der(&der),
            alg: Algorithm::ES256,
        };
        // The DER is only parsed when signing: sign once now so a bad key fails here.
        jsonwebtoken::encode(&Header::new(k.alg), &serde_json::json!({}), &k.key)
            .map_err(|e| AuthError::Config(format!("ES256 private key: {e}")))?;
        Ok(k)
    }

    /// The JWS algorithm name (e.g. `ES256`).
    pub fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::ES256 => "ES256",
            _ => "unknown",
        }
    }

    /// A signed client assertion: `iss` = `sub` = `client_id`, `aud` = the AS issuer, a fresh
    /// `jti`, five minutes of validity.
    pub fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, AuthError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
            jti: String,
        }
        let iat = now();
        let claims = Claims {
            iss: client_id,
            sub: client_id,
            aud: audience,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
            jti: random_b64url(16),
        };
        jsonwebtoken::encode(&Header::new(self.alg), &claims, &self.key)
            .map_err(|e| AuthError::Config(format!("signing the client assertion: {e}")))
    }
}

/// The base64 body of the PEM block labelled `label`, decoded.
pub(crate) fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY/Pr7hrIA99DEFNZ
lsXocxjikR4sJZjySgwbjC5FSXihRANCAAS/YkiwlFl8FcKLLmiGJlfiNyoUn0KN
Y3FiCwID2FqU39QT+JZcFHUxr0KvFW6/0LeOZb4a0W5V1D7rU9xyfdTz
-----END PRIVATE KEY-----
";
    const TEST_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEv2JIsJRZfBXCiy5ohiZX4jcqFJ9C
jWNxYgsCA9halN/UE/iWXBR1Ma9CrxVuv9C3jmW+GtFuVdQ+61Pccn3U8w==
-----END PUBLIC KEY-----
";

    /// The uncompressed point at the end of the P-256 SPKI.
    fn public_key() -> jsonwebtoken::DecodingKey {
        let der = pem_body(TEST_PUB, "PUBLIC KEY").unwrap();
        jsonwebtoken::DecodingKey::from_ec_der(&der[der.len() - 65..])
    }

    #[test]
    fn assertion_verifies_with_the_public_key_and_carries_the_claims() {
        let k = SigningKey::es256_pem(TEST_KEY).unwrap();
        assert!(!format!("{k:?}").contains("PRIVATE"));
        let jwt = k
            .client_assertion("client-1", "https://as.example")
            .unwrap();
        let mut v = jsonwebtoken::Validation::new(Algorithm::ES256);
        v.set_audience(&["https://as.example"]);
        v.set_issuer(&["client-1"]);
        let d = jsonwebtoken::decode::<serde_json::Value>(&jwt, &public_key(), &v).unwrap();
        assert_eq!(d.claims["sub"], "client-1");
        assert_eq!(
            d.claims["exp"].as_u64().unwrap() - d.claims["iat"].as_u64().unwrap(),
            300
        );
        let jti = d.claims["jti"].as_str().unwrap().to_owned();
        let again = k
            .client_assertion("client-1", "https://as.example")
            .unwrap();
        let d2 = jsonwebtoken::decode::<serde_json::Value>(&again, &public_key(), &v).unwrap();
        assert_ne!(d2.claims["jti"].as_str().unwrap(), jti, "jti is fresh");
    }

    #[test]
    fn bad_keys_are_config_errors() {
        assert!(matches!(
            SigningKey::es256_pem("not a key"),
            Err(AuthError::Config(_))
        ));
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            SigningKey::es256_pem(garbage),
            Err(AuthError::Config(_))
        ));
    }
}
