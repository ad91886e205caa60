//! ES256 signing keys: generated on first start, persisted in the store, rotated on a period,
//! with the previous key kept in `/jwks` until every token it signed has expired. Access tokens
//! are RFC 9068 JWTs (`typ: at+jwt`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use switchyard_store::{AuthStore, SigningKeyRecord};
use tokio::sync::RwLock;

use super::error::ServerError;
use super::unix_now;

/// The JWS algorithm of every token this server signs.
pub const SIGNING_ALG: &str = "ES256";

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user, or the client for `client_credentials`.
    pub sub: String,
    /// Audience: the RFC 8707 resource.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Token ID (used for revocation).
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes, space-separated (omitted when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

struct PublishedKey {
    jwk: serde_json::Value,
    decoding: DecodingKey,
}

struct Active {
    kid: String,
    encoding: EncodingKey,
    created_at: i64,
}

struct Inner {
    active: Active,
    published: Vec<(String, PublishedKey)>,
}

/// The signing keys: one active, plus recently retired ones still published.
pub(crate) struct KeyRing {
    store: Arc<dyn AuthStore>,
    rotation: Duration,
    /// How long a retired key stays in `/jwks` (at least the access-token lifetime).
    overlap: Duration,
    inner: RwLock<Inner>,
}

fn generate() -> Result<SigningKeyRecord, ServerError> {
    let key = loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // A uniformly random 32-byte string is a valid scalar with overwhelming probability.
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            break k;
        }
    };
    let der = key
        .to_pkcs8_der()
        .map_err(|e| ServerError::Signing(format!("PKCS#8 encoding: {e}")))?;
    let point = key.verifying_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(ServerError::Signing(
            "public key has no affine coordinates".into(),
        ));
    };
    let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
    // RFC 7638 thumbprint: the required members in lexicographic order, no whitespace.
    let thumb_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumb_input.as_bytes()));
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "x": x, "y": y,
        "kid": kid, "alg": SIGNING_ALG, "use": "sig",
    });
    Ok(SigningKeyRecord {
        kid,
        alg: SIGNING_ALG.into(),
        private_pkcs8: STANDARD.encode(der.as_bytes()),
        public_jwk: jwk.to_string(),
        created_at: unix_now(),
        retired_at: None,
    })
}

fn published(rec: &SigningKeyRecord) -> Result<PublishedKey, ServerError> {
    let jwk: serde_json::Value = serde_json::from_str(&rec.public_jwk)
        .map_err(|e| ServerError::Signing(format!("stored JWK {}: {e}", rec.kid)))?;
    let (Some(x), Some(y)) = (jwk["x"].as_str(), jwk["y"].as_str()) else {
        return Err(ServerError::Signing(format!(
            "stored JWK {} lacks x/y",
            rec.kid
        )));
    };
    let decoding = DecodingKey::from_ec_components(x, y)
        .map_err(|e| ServerError::Signing(format!("stored JWK {}: {e}", rec.kid)))?;
    Ok(PublishedKey { jwk, decoding })
}

fn active(rec: &SigningKeyRecord) -> Result<Active, ServerError> {
    let der = STANDARD
        .decode(&rec.private_pkcs8)
        .map_err(|e| ServerError::Signing(format!("stored key {}: {e}", rec.kid)))?;
    Ok(Active {
        kid: rec.kid.clone(),
        encoding: EncodingKey::from_ec_der(&der),
        created_at: rec.created_at,
    })
}

impl KeyRing {
    /// Loads the keys, creating or rotating the active one when needed.
    pub(crate) async fn load(
        store: Arc<dyn AuthStore>,
        rotation: Duration,
        overlap: Duration,
    ) -> Result<Self, ServerError> {
        let inner = Self::build(&store, rotation, overlap, false).await?;
        Ok(Self {
            store,
            rotation,
            overlap,
            inner: RwLock::new(inner),
        })
    }

    async fn build(
        store: &Arc<dyn AuthStore>,
        rotation: Duration,
        overlap: Duration,
        force_new: bool,
    ) -> Result<Inner, ServerError> {
        let now = unix_now();
        let mut keys = store.signing_keys().await?;
        let current = keys
            .iter()
            .find(|k| k.retired_at.is_none() && k.alg == SIGNING_ALG)
            .cloned();
        let stale = current
            .as_ref()
            .is_none_or(|k| now - k.created_at >= rotation.as_secs() as i64);
        if force_new || stale {
            for k in keys.iter().filter(|k| k.retired_at.is_none()) {
                store.retire_signing_key(&k.kid, now).await?;
            }
            let fresh = generate()?;
            store.put_signing_key(&fresh).await?;
            tracing::info!(kid = %fresh.kid, "new signing key");
            keys = store.signing_keys().await?;
        }
        let mut active_key = None;
        let mut list = Vec::new();
        for k in &keys {
            match k.retired_at {
                None if active_key.is_none() => active_key = Some(active(k)?),
                None => {}
                Some(at) if now - at > overlap.as_secs() as i64 => {
                    store.delete_signing_key(&k.kid).await?;
                    continue;
                }
                Some(_) => {}
            }
            list.push((k.kid.clone(), published(k)?));
        }
        let active = active_key.ok_or_else(|| ServerError::Signing("no active key".into()))?;
        Ok(Inner {
            active,
            published: list,
        })
    }

    /// Retires the active key now and starts signing with a fresh one.
    pub(crate) async fn rotate(&self) -> Result<String, ServerError> {
        let inner = Self::build(&self.store, self.rotation, self.overlap, true).await?;
        let kid = inner.active.kid.clone();
        *self.inner.write().await = inner;
        Ok(kid)
    }

    /// Rotates if the active key is older than the rotation period.
    pub(crate) async fn rotate_if_due(&self) -> Result<(), ServerError> {
        let due = {
            let g = self.inner.read().await;
            unix_now() - g.active.created_at >= self.rotation.as_secs() as i64
        };
        if due {
            self.rotate().await?;
        }
        Ok(())
    }

    /// The JWK Set document.
    pub(crate) async fn jwks(&self) -> serde_json::Value {
        let g = self.inner.read().await;
        let keys: Vec<_> = g.published.iter().map(|(_, k)| k.jwk.clone()).collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs an access token.
    pub(crate) async fn sign(&self, claims: &AccessClaims) -> Result<String, ServerError> {
        let g = self.inner.read().await;
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(g.active.kid.clone());
        jsonwebtoken::encode(&header, claims, &g.active.encoding)
            .map_err(|e| ServerError::Signing(e.to_string()))
    }

    /// Verifies an access token's signature, `typ`, issuer and (unless `allow_expired`) expiry.
    pub(crate) async fn verify(
        &self,
        token: &str,
        issuer: &str,
        allow_expired: bool,
    ) -> Option<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some("at+jwt") {
            return None;
        }
        let kid = header.kid?;
        let g = self.inner.read().await;
        let key = g.published.iter().find(|(k, _)| *k == kid)?;
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[issuer]);
        v.validate_aud = false;
        v.leeway = 0;
        if allow_expired {
            v.validate_exp = false;
            v.required_spec_claims = HashSet::new();
        }
        jsonwebtoken::decode::<AccessClaims>(token, &key.1.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}
