//! PKCE (RFC 7636) with the S256 method only, and the `state` value.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// The only code challenge method this client uses.
pub const METHOD_S256: &str = "S256";

/// A PKCE code verifier and its S256 challenge. `Debug` hides the verifier.
#[derive(Clone)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl Pkce {
    /// A fresh verifier: 32 random bytes, base64url without padding (43 characters).
    pub fn generate() -> Self {
        Self::from_verifier(random_b64url(32))
    }

    /// Builds the pair from an existing verifier (used by tests and RFC vectors).
    pub fn from_verifier(verifier: impl Into<String>) -> Self {
        let verifier = verifier.into();
        let challenge = s256_challenge(&verifier);
        Self {
            verifier,
            challenge,
        }
    }

    /// The `code_verifier` for the token request. Secret until the code is redeemed.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The `code_challenge` for the authorization request.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"<redacted>")
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// `BASE64URL(SHA256(ASCII(verifier)))` (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random `state` value: 16 random bytes, base64url.
pub fn new_state() -> String {
    random_b64url(16)
}

pub(crate) fn random_b64url(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        // The verifier is base64url of the appendix's 32 random octets.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = URL_SAFE_NO_PAD.encode(octets);
        assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let p = Pkce::from_verifier(verifier);
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifier_has_rfc_length_and_alphabet() {
        let p = Pkce::generate();
        assert_eq!(p.verifier().len(), 43);
        assert!(p
            .verifier()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(p.challenge(), s256_challenge(p.verifier()));
        assert_ne!(Pkce::generate().verifier(), p.verifier());
    }

    #[test]
    fn debug_hides_verifier() {
        let p = Pkce::from_verifier("super-secret-verifier-value-xxxxxxxxxxxxxxxxx");
        assert!(!format!("{p:?}").contains("super-secret"));
    }

    #[test]
    fn states_are_unique() {
        assert_ne!(new_state(), new_state());
        assert_eq!(new_state().len(), 22);
    }
}
