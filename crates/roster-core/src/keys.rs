//! Secret keys: `sk_live_` followed by 256 random bits. Only a SHA-256 hash is stored; the
//! secret is shown once, when the key is made.
//!
//! A fast hash is right here (not argon2): the secret is uniformly random with 256 bits of
//! entropy, so there is nothing to brute-force, and the hash is looked up on every request.

use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::{Code, Error, Result};
use crate::ids;
use crate::scopes::{self, Scope};
use crate::Random;

pub const SECRET_PREFIX: &str = "sk_live_";
const SECRET_BYTES: usize = 32;
/// How many characters of the secret are kept in clear, to recognise a key in lists.
const DISPLAY_PREFIX_LEN: usize = 12;

/// The most requests per minute a credential may be given.
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 100_000_000;
const MAX_NAME_CHARS: usize = 100;

/// A stored secret key (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public id, `key_…`.
    pub id: String,
    pub workspace_key: i64,
    pub name: String,
    /// The first characters of the secret, for recognising it.
    pub prefix: String,
    pub secret_hash: [u8; 32],
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Overrides the workspace's limit when set.
    pub rate_limit_per_minute: Option<u32>,
    /// When the key last authenticated a request (kept to within a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A key just made, with its secret: the only time the secret exists outside the caller.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// A new random secret.
pub fn new_secret(random: &dyn Random) -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    random.fill(&mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Check that a secret supplied by an operator (bootstrap) is one Roster could have made:
/// the prefix and at least 256 bits' worth of URL-safe characters.
pub fn validate_supplied_secret(secret: &str) -> Result<()> {
    let body = secret.strip_prefix(SECRET_PREFIX).unwrap_or_default();
    let ok = body.len() >= 43
        && body.len() <= 128
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::InvalidSecretKey,
            format!("A secret key is '{SECRET_PREFIX}' followed by 43 to 128 characters of A-Z, a-z, 0-9, '-' or '_'."),
        ))
    }
}

/// The hash a secret is stored and looked up by.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// What a caller asks for when making a key.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    pub name: Option<String>,
    /// Required: a key's powers are always chosen, never defaulted.
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limit_per_minute: Option<u32>,
}

/// The checked parts of a [`KeyRequest`].
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limit_per_minute: Option<u32>,
}

impl KeyRequest {
    pub fn validate(self, now: DateTime<Utc>) -> Result<KeySpec> {
        Ok(KeySpec {
            name: validate_credential_name(self.name.as_deref())?,
            scopes: match &self.scopes {
                Some(names) => scopes::parse_all(names)?,
                None => {
                    return Err(Error::field(
                        Code::FieldRequired,
                        "scopes",
                        "scopes is required.",
                    ))
                }
            },
            expires_at: match self.expires_at {
                Some(at) if at <= now => {
                    return Err(Error::field(
                        Code::InvalidExpiry,
                        "expires_at",
                        "expires_at must be in the future.",
                    ))
                }
                other => other,
            },
            rate_limit_per_minute: validate_rate_limit(self.rate_limit_per_minute)?,
        })
    }
}

/// Names label credentials in lists: at most 100 characters, no control characters.
pub fn validate_credential_name(name: Option<&str>) -> Result<String> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::field(
            Code::InvalidField,
            "name",
            format!("name may be at most {MAX_NAME_CHARS} characters, without control characters."),
        ));
    }
    Ok(name.to_owned())
}

pub fn validate_rate_limit(limit: Option<u32>) -> Result<Option<u32>> {
    match limit {
        Some(n) if n == 0 || n > MAX_RATE_LIMIT_PER_MINUTE => Err(Error::field(
            Code::InvalidRateLimit,
            "rate_limit_per_minute",
            format!("rate_limit_per_minute must be between 1 and {MAX_RATE_LIMIT_PER_MINUTE}."),
        )),
        other => Ok(other),
    }
}

/// Build the stored record for `secret`.
pub fn key_for_secret(
    secret: &str,
    workspace_key: i64,
    spec: KeySpec,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> ApiKey {
    ApiKey {
        id: ids::new_id("key", random),
        workspace_key,
        name: spec.name,
        prefix: secret.chars().take(DISPLAY_PREFIX_LEN).collect(),
        secret_hash: hash_secret(secret),
        scopes: spec.scopes,
        created_at: now,
        expires_at: spec.expires_at,
        rate_limit_per_minute: spec.rate_limit_per_minute,
        last_used_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    #[test]
    fn secrets_carry_256_bits_and_validate() {
        let secret = new_secret(&SeededRandom::new(3));
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(secret.len(), SECRET_PREFIX.len() + 43);
        validate_supplied_secret(&secret).unwrap();
    }

    #[test]
    fn weak_or_foreign_secrets_are_refused() {
        for bad in [
            "",
            "sk_live_short",
            "pk_live_0123456789012345678901234567890123456789012",
            "sk_live_has space in it but is long enough to pass the len",
        ] {
            assert!(validate_supplied_secret(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_requests_are_checked() {
        let now = chrono::Utc::now();
        let ok = KeyRequest {
            name: Some(" ci ".into()),
            scopes: Some(vec!["users:read".into()]),
            expires_at: Some(now + chrono::Duration::days(1)),
            rate_limit_per_minute: Some(60),
        };
        assert_eq!(ok.clone().validate(now).unwrap().name, "ci");
        let past = KeyRequest {
            expires_at: Some(now),
            ..ok.clone()
        };
        assert_eq!(past.validate(now).unwrap_err().code, Code::InvalidExpiry);
        let zero = KeyRequest {
            rate_limit_per_minute: Some(0),
            ..ok.clone()
        };
        assert_eq!(zero.validate(now).unwrap_err().code, Code::InvalidRateLimit);
        let none = KeyRequest {
            scopes: Some(vec![]),
            ..ok.clone()
        };
        assert_eq!(none.validate(now).unwrap_err().code, Code::UnknownScope);
        let missing = KeyRequest {
            scopes: None,
            ..ok.clone()
        };
        assert_eq!(missing.validate(now).unwrap_err().code, Code::FieldRequired);
        let long = KeyRequest {
            name: Some("x".repeat(101)),
            ..ok
        };
        assert_eq!(long.validate(now).unwrap_err().code, Code::InvalidField);
    }

    #[test]
    fn hash_is_stable_and_distinct() {
        assert_eq!(hash_secret("a"), hash_secret("a"));
        assert_ne!(hash_secret("a"), hash_secret("b"));
    }
}
