//! A workspace's invitation settings: how long an invitation lasts and the mail's subject
//! and text, as templates with `{{placeholders}}`; and rendering them.

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};

pub const DEFAULT_EXPIRY_HOURS: u32 = 7 * 24;
pub const MAX_EXPIRY_HOURS: u32 = 90 * 24;
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 10_000;

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

pub(crate) fn check_placeholders(field: &'static str, template: &str) -> Result<()> {
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
pub(crate) fn render(template: &str, values: &[(&str, &str)]) -> String {
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
