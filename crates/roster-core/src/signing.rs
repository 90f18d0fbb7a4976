//! Client tokens: RS256 JWTs signed with keys kept in the store, so every node signs and
//! verifies with the same keys.
//!
//! The newest unretired key signs. Rotation adds a key and gives the older ones a retirement
//! time one token lifetime away: until then they still verify, and they stay in the JWKS.
//! A key's `kid` is its RFC 7638 JWK thumbprint.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Code, Error, Result};

const RSA_BITS: usize = 2048;
/// How far a token's `nbf`/`iat` may be ahead of this node's clock (clock skew between nodes).
pub const CLOCK_SKEW: Duration = Duration::seconds(30);

/// A stored signing key pair. The private half never leaves the store and this process.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    /// PKCS#8 PEM.
    pub private_pem: String,
    /// The public modulus and exponent, base64url (as in a JWK).
    pub modulus: String,
    pub exponent: String,
    pub created_at: DateTime<Utc>,
    /// After this the key neither signs nor verifies; `None` for the current key.
    pub retires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new RSA-2048 key pair from the operating system's CSPRNG.
    pub fn generate(now: DateTime<Utc>) -> Result<Self> {
        let internal =
            |e: String| Error::new(Code::Internal, format!("cannot make a signing key: {e}"));
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
            .map_err(|e| internal(e.to_string()))?;
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| internal(e.to_string()))?;
        let modulus = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let exponent = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        Ok(Self {
            kid: thumbprint(&modulus, &exponent),
            private_pem: pem.to_string(),
            modulus,
            exponent,
            created_at: now,
            retires_at: None,
        })
    }

    pub fn verifies_at(&self, now: DateTime<Utc>) -> bool {
        self.retires_at.is_none_or(|at| at > now)
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA",
            alg: "RS256",
            key_use: "sig",
            kid: self.kid.clone(),
            n: self.modulus.clone(),
            e: self.exponent.clone(),
        }
    }
}

/// RFC 7638 thumbprint of an RSA public key.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A public key as `/.well-known/jwks.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// The claims of a client token (seed 000's shape: `ver`, `jti`, `iss`, `aud`, `iat`, `exp`,
/// `cid`, `scp`, `sub`; plus `nbf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientClaims {
    pub ver: u8,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub cid: String,
    pub scp: Vec<String>,
    pub sub: String,
}

/// The keys this node signs and verifies with, parsed once.
pub struct KeyRing {
    signer: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, DecodingKey>,
    jwks: Vec<Jwk>,
}

impl KeyRing {
    pub fn new(keys: &[SigningKey], now: DateTime<Utc>) -> Result<Self> {
        let internal = |e: jsonwebtoken::errors::Error| {
            Error::new(
                Code::Internal,
                format!("stored signing key is unusable: {e}"),
            )
        };
        let mut live: Vec<&SigningKey> = keys.iter().filter(|k| k.verifies_at(now)).collect();
        live.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        let signer = live
            .iter()
            .find(|k| k.retires_at.is_none())
            .map(|k| {
                EncodingKey::from_rsa_pem(k.private_pem.as_bytes())
                    .map(|key| (k.kid.clone(), key))
                    .map_err(internal)
            })
            .transpose()?;
        let mut verifiers = HashMap::new();
        for key in &live {
            let decoding =
                DecodingKey::from_rsa_components(&key.modulus, &key.exponent).map_err(internal)?;
            verifiers.insert(key.kid.clone(), decoding);
        }
        Ok(Self {
            signer,
            verifiers,
            jwks: live.iter().map(|k| k.jwk()).collect(),
        })
    }

    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
    }

    pub fn knows(&self, kid: &str) -> bool {
        self.verifiers.contains_key(kid)
    }

    pub fn jwks(&self) -> &[Jwk] {
        &self.jwks
    }

    pub fn sign(&self, claims: &ClientClaims) -> Result<String> {
        let Some((kid, key)) = &self.signer else {
            return Err(Error::new(Code::Internal, "no signing key is available"));
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key)
            .map_err(|e| Error::new(Code::Internal, format!("cannot sign a token: {e}")))
    }

    /// Check the signature, algorithm, issuer, audience and validity window of `token`.
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<ClientClaims> {
        let invalid = |why: &str| {
            Error::new(
                Code::InvalidToken,
                format!("The client token is invalid: {why}."),
            )
        };
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("only RS256 tokens are accepted"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
        let key = self
            .verifiers
            .get(&kid)
            .ok_or_else(|| invalid("signed by an unknown key"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        // Times are checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<ClientClaims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid("bad signature"),
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => invalid("wrong audience"),
                _ => invalid("malformed"),
            })?
            .claims;
        Self::check_times(&claims, now)?;
        Ok(claims)
    }
}

impl KeyRing {
    /// A verified token is good until `exp`, and not before `nbf`/`iat` (allowing for skew).
    pub fn check_times(claims: &ClientClaims, now: DateTime<Utc>) -> Result<()> {
        let now_s = now.timestamp();
        if claims.exp <= now_s {
            return Err(Error::new(
                Code::TokenExpired,
                "The client token has expired; request a new one at POST /v1/admin/token.",
            ));
        }
        let skew = CLOCK_SKEW.num_seconds();
        if claims.nbf > now_s + skew || claims.iat > now_s + skew {
            return Err(Error::new(
                Code::InvalidToken,
                "The client token is invalid: not yet valid.",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: DateTime<Utc>) -> ClientClaims {
        ClientClaims {
            ver: 1,
            jti: "j".into(),
            iss: "https://roster.test".into(),
            aud: "roster-admin".into(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: now.timestamp() + 60,
            cid: "c".into(),
            scp: vec!["appuser:read".into()],
            sub: "c".into(),
        }
    }

    #[test]
    fn sign_verify_and_rotate() {
        let now = Utc::now();
        let old = SigningKey::generate(now).unwrap();
        let ring = KeyRing::new(std::slice::from_ref(&old), now).unwrap();
        let token = ring.sign(&claims(now)).unwrap();
        assert_eq!(
            ring.verify(&token, "https://roster.test", "roster-admin", now)
                .unwrap(),
            claims(now)
        );
        assert!(ring
            .verify(&token, "https://other", "roster-admin", now)
            .is_err());
        assert!(ring
            .verify(&token, "https://roster.test", "other", now)
            .is_err());
        let expired = ring.verify(
            &token,
            "https://roster.test",
            "roster-admin",
            now + Duration::seconds(61),
        );
        assert_eq!(expired.unwrap_err().code, Code::TokenExpired);
        // Rotation: the old key retires later; both verify until then, the new one signs.
        let new = SigningKey::generate(now + Duration::seconds(1)).unwrap();
        let retiring = SigningKey {
            retires_at: Some(now + Duration::seconds(30)),
            ..old
        };
        let ring = KeyRing::new(&[retiring.clone(), new.clone()], now).unwrap();
        assert!(ring
            .verify(&token, "https://roster.test", "roster-admin", now)
            .is_ok());
        let fresh = ring.sign(&claims(now)).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid,
            Some(new.kid.clone())
        );
        assert_eq!(ring.jwks().len(), 2);
        let later = now + Duration::seconds(31);
        let ring = KeyRing::new(&[retiring, new], later).unwrap();
        assert!(!ring.knows(&jsonwebtoken::decode_header(&token).unwrap().kid.unwrap()));
        assert_eq!(ring.jwks().len(), 1);
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 section 3.1's example key.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
