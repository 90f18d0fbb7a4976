//! Invitations: a single-use token mailed to an invited user. Accepting it activates the
//! user; a resend replaces it (the old token dies), and deactivation, deletion and purging
//! revoke it. Only the token's SHA-256 is stored.
//!
//! Each workspace may set the mail's subject and text (templates with `{{placeholders}}`)
//! and how long an invitation lasts (default 7 days).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::{Code, Error};
use crate::ids;
use crate::invitation_settings::render;
pub use crate::invitation_settings::{
    InvitationSettings, DEFAULT_EXPIRY_HOURS, MAX_EXPIRY_HOURS, MAX_SUBJECT_CHARS, MAX_TEXT_CHARS,
};
use crate::user::User;
pub use crate::user::{validate_message, MAX_MESSAGE_CHARS};
use crate::workspace::Workspace;
use crate::Random;

const TOKEN_PREFIX: &str = "inv_";
const TOKEN_BYTES: usize = 32;
/// Longest token text accepted before hashing (the prefix and 43 base64url characters).
const MAX_TOKEN_LEN: usize = 64;

/// A stored invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// `inv_…`, never the token itself.
    pub id: String,
    pub workspace_key: i64,
    /// The invited user's integer key; for a user created in the same write, the store uses
    /// the key it assigns.
    pub user_key: i64,
    pub token_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Why this invitation can no longer be accepted at `now`, if it cannot.
    pub fn refusal(&self, now: DateTime<Utc>) -> Option<Error> {
        if self.accepted_at.is_some() {
            Some(Error::new(
                Code::InvitationUsed,
                "This invitation has already been accepted.",
            ))
        } else if self.revoked_at.is_some() {
            Some(Error::new(
                Code::InvitationRevoked,
                "This invitation was replaced by a newer one or withdrawn.",
            ))
        } else if self.expires_at <= now {
            Some(Error::new(
                Code::InvitationExpired,
                "This invitation has expired; ask for a new one.",
            ))
        } else {
            None
        }
    }
}

/// A new invitation and its token (the only time the token exists in clear).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub token: String,
}

/// Make an invitation for `user` at `now`, lasting as long as the workspace says.
pub(crate) fn issue(
    workspace: &Workspace,
    user: &User,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> IssuedInvitation {
    let mut bytes = [0u8; TOKEN_BYTES];
    random.fill(&mut bytes);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hours = i64::from(workspace.invitations.expiry_hours());
    IssuedInvitation {
        invitation: Invitation {
            id: ids::new_sortable_id("inv", now, random),
            workspace_key: workspace.key,
            user_key: user.key,
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: now + Duration::hours(hours),
            accepted_at: None,
            revoked_at: None,
        },
        token,
    }
}

/// The SHA-256 of a token, as stored; `None` when the text cannot be a token at all.
pub fn token_hash_of(token: &str) -> Option<[u8; 32]> {
    let token = token.trim();
    (token.starts_with(TOKEN_PREFIX) && token.len() <= MAX_TOKEN_LEN).then(|| token_hash(token))
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The subject and text of `user`'s invitation mail.
pub(crate) fn mail_content(
    workspace: &Workspace,
    user: &User,
    issued: &IssuedInvitation,
    message: Option<&str>,
) -> (String, String) {
    let expires_at = issued
        .invitation
        .expires_at
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let message = message
        .map(|m| format!("\n{}\n", m.trim()))
        .unwrap_or_default();
    let values = [
        ("name", user.name.as_str()),
        ("email", user.email.as_str()),
        ("workspace", workspace.name.as_str()),
        ("token", issued.token.as_str()),
        ("message", message.as_str()),
        ("expires_at", expires_at.as_str()),
    ];
    let settings = &workspace.invitations;
    (
        render(settings.subject_template(), &values),
        render(settings.text_template(), &values),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_only_known_placeholders() {
        let ok = InvitationSettings {
            subject: Some("Join {{ workspace }}".into()),
            text: Some("Code: {{token}}".into()),
            expiry_hours: Some(24),
        };
        assert!(ok.validate().is_ok());
        for (subject, text) in [
            ("Join {{team}}", "{{token}}"),
            ("Join", "no token here"),
            ("Join {{workspace", "{{token}}"),
            ("Two\nlines", "{{token}}"),
        ] {
            let bad = InvitationSettings {
                subject: Some(subject.into()),
                text: Some(text.into()),
                expiry_hours: None,
            };
            assert_eq!(bad.validate().unwrap_err().code, Code::InvalidTemplate);
        }
        let too_long = InvitationSettings {
            expiry_hours: Some(MAX_EXPIRY_HOURS + 1),
            ..InvitationSettings::default()
        };
        assert_eq!(too_long.validate().unwrap_err().code, Code::InvalidExpiry);
    }

    #[test]
    fn rendering_fills_every_placeholder() {
        let text = render(
            "Hi {{name}}, {{ token }} {{message}}.",
            &[("name", "Ann"), ("token", "inv_x"), ("message", "")],
        );
        assert_eq!(text, "Hi Ann, inv_x .");
    }

    #[test]
    fn only_token_shaped_text_is_hashed() {
        assert!(token_hash_of("inv_abc").is_some());
        assert!(token_hash_of("abc").is_none());
        assert!(token_hash_of(&format!("inv_{}", "a".repeat(100))).is_none());
        assert_eq!(token_hash_of(" inv_abc "), token_hash_of("inv_abc"));
    }
}
