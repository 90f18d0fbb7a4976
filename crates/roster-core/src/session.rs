//! Sessions and personal tokens: what a user holds after signing in.
//!
//! A session is an opaque token (`ses_…`, 256 random bits, only its SHA-256 stored) that
//! slides: each use moves its expiry to `idle` from now, never past its absolute lifetime. A
//! personal token (`pat_…`, seed 003's authentication token) authenticates its user the same
//! way and does not expire until revoked. Both are refused while their user is not active.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Code, Error, Result};
use crate::password::{PasswordPolicy, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::Random;

const TOKEN_BYTES: usize = 32;
const MAX_TOKEN_LEN: usize = 64;

pub const DEFAULT_IDLE_MINUTES: u32 = 7 * 24 * 60;
pub const DEFAULT_LIFETIME_HOURS: u32 = 30 * 24;
/// A session's last use is written at most this often.
pub const TOUCH_EVERY_SECONDS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// From a sign-in; slides and expires.
    Session,
    /// A user's personal API token; lives until revoked.
    Personal,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Personal => "personal_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Session, Self::Personal]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Session => "ses_",
            Self::Personal => "pat_",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub key: i64,
    /// `ses_…` (for both kinds; the token is another thing).
    pub id: String,
    pub workspace_key: i64,
    pub user_key: i64,
    pub kind: SessionKind,
    pub token_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// `None` for a personal token.
    pub expires_at: Option<DateTime<Utc>>,
    /// The end user's address and agent at sign-in.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// Which of a user's sessions to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessions {
    /// Every live sign-in session (personal tokens stay).
    AllSessions,
    /// The live session or token with this public id.
    One(String),
    /// The user's live personal token.
    PersonalToken,
}

/// A new token of `kind`, and its hash.
pub(crate) fn new_token(kind: SessionKind, random: &dyn Random) -> (String, [u8; 32]) {
    let mut bytes = [0u8; TOKEN_BYTES];
    random.fill(&mut bytes);
    let token = format!(
        "{}{}",
        kind.prefix(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = Sha256::digest(token.as_bytes()).into();
    (token, hash)
}

/// The hash of a presented token, if it has a token's shape.
pub fn token_hash_of(token: &str) -> Option<[u8; 32]> {
    let token = token.trim();
    let shaped = (token.starts_with("ses_") || token.starts_with("pat_"))
        && (20..=MAX_TOKEN_LEN).contains(&token.len())
        && token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    shaped.then(|| Sha256::digest(token.as_bytes()).into())
}

/// What to do when a sign-in would pass a user's `sessions_limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitPolicy {
    /// End the oldest sessions to make room (the default).
    #[default]
    EvictOldest,
    /// Refuse the new sign-in.
    Refuse,
}

/// A workspace's password and session rules; unset fields take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_password_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_common_passwords: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_idle_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_lifetime_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_limit_policy: Option<LimitPolicy>,
}

impl AuthSettings {
    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_chars: self
                .min_password_length
                .map_or(MIN_PASSWORD_CHARS, |n| n as usize),
            refuse_common: self.check_common_passwords.unwrap_or(false),
        }
    }

    pub fn idle(&self) -> Duration {
        Duration::minutes(i64::from(
            self.session_idle_minutes.unwrap_or(DEFAULT_IDLE_MINUTES),
        ))
    }

    pub fn lifetime(&self) -> Duration {
        Duration::hours(i64::from(
            self.session_lifetime_hours
                .unwrap_or(DEFAULT_LIFETIME_HOURS),
        ))
    }

    pub fn limit_policy(&self) -> LimitPolicy {
        self.session_limit_policy.unwrap_or_default()
    }

    /// Minimum password length 8 to 128; idle time 5 minutes to 90 days; lifetime 1 hour to
    /// 365 days and not shorter than the idle time.
    pub fn validate(self) -> Result<Self> {
        let bad = |message: String| Error::new(Code::InvalidAuthSettings, message);
        if let Some(n) = self.min_password_length {
            if !(MIN_PASSWORD_CHARS as u32..=128).contains(&n) {
                return Err(bad(format!(
                    "min_password_length must be between {MIN_PASSWORD_CHARS} and 128 (passwords are at most {MAX_PASSWORD_BYTES} bytes)."
                )));
            }
        }
        if let Some(n) = self.session_idle_minutes {
            if !(5..=90 * 24 * 60).contains(&n) {
                return Err(bad(
                    "session_idle_minutes must be between 5 and 129600 (90 days).".into(),
                ));
            }
        }
        if let Some(n) = self.session_lifetime_hours {
            if !(1..=365 * 24).contains(&n) {
                return Err(bad(
                    "session_lifetime_hours must be between 1 and 8760 (365 days).".into(),
                ));
            }
        }
        if self.lifetime() < self.idle() {
            return Err(bad(
                "session_lifetime_hours may not be shorter than session_idle_minutes.".into(),
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_a_shape() {
        let (token, hash) = new_token(SessionKind::Session, &crate::SeededRandom::new(1));
        assert!(token.starts_with("ses_") && token.len() == 47, "{token}");
        assert_eq!(token_hash_of(&token), Some(hash));
        for bad in [
            "",
            "ses_",
            "sk_live_abc",
            "ses_a b",
            &format!("pat_{}", "a".repeat(80)),
        ] {
            assert_eq!(token_hash_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_are_bounded() {
        assert!(AuthSettings::default().validate().is_ok());
        for bad in [
            AuthSettings {
                min_password_length: Some(4),
                ..Default::default()
            },
            AuthSettings {
                session_idle_minutes: Some(1),
                ..Default::default()
            },
            AuthSettings {
                session_lifetime_hours: Some(0),
                ..Default::default()
            },
            AuthSettings {
                session_idle_minutes: Some(600),
                session_lifetime_hours: Some(2),
                ..Default::default()
            },
        ] {
            assert_eq!(bad.validate().unwrap_err().code, Code::InvalidAuthSettings);
        }
    }
}
