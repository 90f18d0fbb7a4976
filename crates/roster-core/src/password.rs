//! Passwords, stored as argon2id PHC strings with OWASP's recommended parameters (19 MiB of
//! memory, 2 passes, 1 lane). Hashing runs on the blocking thread pool, at most a few at
//! once, so a burst of password work cannot starve the async runtime of other requests.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Code, Error, Result};
use crate::Random;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1_024;

/// OWASP Password Storage Cheat Sheet, argon2id: m=19456 KiB, t=2, p=1.
pub const MEMORY_KIB: u32 = 19_456;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// The password hasher: argon2id with fixed parameters and a bound on concurrent work.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// At most `concurrency` hashes run at once; others wait their turn.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Check `password` against the policy and hash it.
    pub async fn hash(&self, password: &str, random: &dyn Random) -> Result<String> {
        validate_new_password(password)?;
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let password = password.to_owned();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::new(Code::Internal, "password hashing is shut down"))?;
        tokio::task::spawn_blocking(move || hash_now(&password, &salt))
            .await
            .map_err(|e| Error::new(Code::Internal, format!("password hashing failed: {e}")))?
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }
}

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| Error::new(Code::Internal, format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &str, salt: &[u8; 16]) -> Result<String> {
    let salt = SaltString::encode_b64(salt)
        .map_err(|e| Error::new(Code::Internal, format!("salt: {e}")))?;
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::new(Code::Internal, format!("argon2: {e}")))
}

/// The policy every new password meets: 8 characters or more, at most 1,024 bytes.
pub fn validate_new_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::field(
            Code::FieldRequired,
            "password",
            "password may not be empty.",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::field(
            Code::PasswordTooLong,
            "password",
            format!("A password may be at most {MAX_PASSWORD_BYTES} bytes."),
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::field(
            Code::PasswordTooShort,
            "password",
            format!("A password needs at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHash, PasswordVerifier};

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_documented_parameters() {
        let random = crate::SeededRandom::new(1);
        let hash = Passwords::new(1)
            .hash("correct horse battery", &random)
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse battery", &parsed)
            .is_err());
    }

    #[test]
    fn policy_bounds_length() {
        assert_eq!(
            validate_new_password("short").unwrap_err().code,
            Code::PasswordTooShort
        );
        assert_eq!(
            validate_new_password(&"x".repeat(1_025)).unwrap_err().code,
            Code::PasswordTooLong
        );
        assert_eq!(
            validate_new_password("").unwrap_err().code,
            Code::FieldRequired
        );
        assert!(validate_new_password("éééééééé").is_ok());
    }
}
