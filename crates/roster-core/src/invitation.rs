//! Invitations: a single-use token mailed to an invited user. Accepting it activates the
//! user; a resend replaces it (the old token dies), and deactivation, deletion and purging
//! revoke it. Only the token's SHA-256 is stored.
//!
//! Each workspace may set the mail's subject and text (templates with `{{placeholders}}`)
//! and how long an invitation lasts (default 7 days).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Code, Error, Result};
use crate::ids;
use crate::user::User;
use crate::workspace::Workspace;
use crate::Random;

pub const DEFAULT_EXPIRY_HOURS: u32 = 7 * 24;
pub const MAX_EXPIRY_HOURS: u32 = 90 * 24;
/// Seed 003's invite `message`, shown in the mail.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 10_000;

const TOKEN_PREFIX: &str = "inv_";
const TOKEN_BYTES: usize = 32;
/// Longest token text accepted before hashing (the prefix and 43 base64url characters).
const MAX_TOKEN_LEN: usize = 64;

const DEFAULT_SUBJECT: &str = "You are invited to {{workspace}}";
const DEFAULT_TEXT: &str = "Hello {{name}},

You have been invited to join {{workspace}} as {{email}}.
{{message}}
Your invitation code is:

    {{token}}

It can be used once and expires at {{expires_at}}. If you did not expect this
invitation, you can ignore this mail.
";

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 6] = [
    "name",
    "email",
    "workspace",
    "token",
    "message",
    "expires_at",
];

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

/// A workspace's invitation settings; unset fields take Roster's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl InvitationSettings {
    pub fn expiry_hours(&self) -> u32 {
        self.expiry_hours.unwrap_or(DEFAULT_EXPIRY_HOURS)
    }

    pub fn subject_template(&self) -> &str {
        self.subject.as_deref().unwrap_or(DEFAULT_SUBJECT)
    }

    pub fn text_template(&self) -> &str {
        self.text.as_deref().unwrap_or(DEFAULT_TEXT)
    }

    /// Check every set field: expiry 1 hour to 90 days; the subject one line of at most 200
    /// characters; the text at most 10,000 characters and containing `{{token}}`; both using
    /// only known placeholders.
    pub fn validate(self) -> Result<Self> {
        if let Some(hours) = self.expiry_hours {
            if !(1..=MAX_EXPIRY_HOURS).contains(&hours) {
                return Err(Error::field(
                    Code::InvalidExpiry,
                    "expiry_hours",
                    format!("expiry_hours must be between 1 and {MAX_EXPIRY_HOURS}."),
                ));
            }
        }
        if let Some(subject) = &self.subject {
            if subject.trim().is_empty()
                || subject.chars().count() > MAX_SUBJECT_CHARS
                || subject.chars().any(char::is_control)
            {
                return Err(Error::field(
                    Code::InvalidTemplate,
                    "subject",
                    format!("subject must be one line of 1 to {MAX_SUBJECT_CHARS} characters."),
                ));
            }
            check_placeholders("subject", subject)?;
        }
        if let Some(text) = &self.text {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(Error::field(
                    Code::InvalidTemplate,
                    "text",
                    format!("text may be at most {MAX_TEXT_CHARS} characters."),
                ));
            }
            check_placeholders("text", text)?;
            if !text.contains("{{token}}") {
                return Err(Error::field(
                    Code::InvalidTemplate,
                    "text",
                    "text must contain {{token}}, or the invitation cannot be accepted.",
                ));
            }
        }
        Ok(self)
    }
}

fn check_placeholders(field: &'static str, template: &str) -> Result<()> {
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(Error::field(
                Code::InvalidTemplate,
                field,
                "A '{{' is never closed by '}}'.",
            ));
        };
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(Error::field(
                Code::InvalidTemplate,
                field,
                format!(
                    "Unknown placeholder {{{{{}}}}}; use {}.",
                    name.chars().take(32).collect::<String>(),
                    PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
                ),
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// Replace each placeholder with its value (templates were checked when set).
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
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

/// Check an invitation's optional message (seed 003's `message`).
pub fn validate_message(message: Option<&str>) -> Result<Option<String>> {
    match message.map(str::trim) {
        None | Some("") => Ok(None),
        Some(m) if m.chars().count() > MAX_MESSAGE_CHARS => Err(Error::field(
            Code::FieldTooLong,
            "message",
            format!("message may be at most {MAX_MESSAGE_CHARS} characters."),
        )),
        Some(m) if m.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            Err(Error::field(
                Code::InvalidField,
                "message",
                "message may not contain control characters other than newlines and tabs.",
            ))
        }
        Some(m) => Ok(Some(m.to_owned())),
    }
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
