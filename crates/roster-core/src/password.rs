//! Passwords, stored as argon2id PHC strings with OWASP's recommended parameters (19 MiB of
//! memory, 2 passes, 1 lane). Hashing and verifying run on the blocking thread pool, at most
//! a few at once, so a burst of password work cannot starve the async runtime of other
//! requests. Imported bcrypt hashes verify too; [`Verified::needs_rehash`] tells the caller
//! to replace them (and argon2 hashes with other parameters) after a successful sign-in.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
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

/// The most an imported hash may cost to verify, so that one sign-in can never hold a core
/// (or a gigabyte of memory) for long. bcrypt: cost 04–14 (cost 14 is about one second on
/// a current core; each step doubles it). argon2id: at most 128 MiB of memory, 10 passes,
/// 16 lanes, and memory × passes at most 256 MiB (Django's default, m=100 MiB t=2, fits;
/// Bitwarden's, m=64 MiB t=3, too). Hashes beyond these bounds are refused at import and
/// never verified.
pub const MAX_BCRYPT_COST: u32 = 14;
pub const MIN_BCRYPT_COST: u32 = 4;
pub const MAX_ARGON2_MEMORY_KIB: u32 = 131_072;
pub const MAX_ARGON2_PASSES: u32 = 10;
pub const MAX_ARGON2_LANES: u32 = 16;
pub const MAX_ARGON2_MEMORY_PASSES_KIB: u64 = 262_144;

/// The common passwords refused when a workspace asks for it (see `data/README.md`).
static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .collect()
    });

/// The password hasher: argon2id with fixed parameters and a bound on concurrent work.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when there is no user or no password,
    /// so that such a sign-in costs what a wrong password costs.
    decoy: Arc<std::sync::OnceLock<String>>,
    /// Verifications performed, against real or decoy hashes alike: what makes failures
    /// cost the same is that each performs exactly one.
    verifications: Arc<std::sync::atomic::AtomicU64>,
}

/// What verifying a password found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash is bcrypt, or argon2 with other parameters: store a fresh one.
    pub needs_rehash: bool,
}

/// A workspace's password rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub refuse_common: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: MIN_PASSWORD_CHARS,
            refuse_common: false,
        }
    }
}

impl Passwords {
    /// At most `concurrency` hashes run at once; others wait their turn.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: Arc::new(std::sync::OnceLock::new()),
            verifications: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// Check `password` against `policy` and hash it.
    pub async fn hash_with(
        &self,
        password: &str,
        policy: PasswordPolicy,
        random: &dyn Random,
    ) -> Result<String> {
        validate_password(password, policy)?;
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let password = password.to_owned();
        self.blocking(move || hash_now(&password, &salt)).await
    }

    /// Verify `password` against `stored` (argon2 or bcrypt); with no stored hash, verify
    /// against a decoy so the answer takes as long and is `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verified> {
        let password = password.to_owned();
        let (stored, real) = match stored {
            Some(hash) => (hash.to_owned(), true),
            None => (self.decoy_hash()?, false),
        };
        let counter = self.verifications.clone();
        let verified = self
            .blocking(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(verify_now(&password, &stored))
            })
            .await?;
        Ok(Verified {
            matches: verified.matches && real,
            needs_rehash: verified.needs_rehash && real,
        })
    }

    /// How many verifications this hasher has performed.
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn decoy_hash(&self) -> Result<String> {
        if let Some(hash) = self.decoy.get() {
            return Ok(hash.clone());
        }
        let mut salt = [0u8; 16];
        crate::OsRandom.fill(&mut salt);
        let mut secret = [0u8; 24];
        crate::OsRandom.fill(&mut secret);
        let decoy = hash_now(&format!("{secret:?}"), &salt)?;
        Ok(self.decoy.get_or_init(|| decoy).clone())
    }

    /// Run password work on the blocking pool, at most `concurrency` at once.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // The permit moves into the blocking work: a request abandoned while its hash runs
        // keeps the permit until the hash ends, so the bound holds against clients that
        // disconnect.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(Code::Internal, "password hashing is shut down"))?;
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(permit);
            done
        })
        .await
        .map_err(|e| Error::new(Code::Internal, format!("password hashing failed: {e}")))?
    }
}

/// Verify without a permit, on the calling thread. A hash that costs more than the bounds
/// allow is not verified (it could only have been stored before they existed).
fn verify_now(password: &str, stored: &str) -> Verified {
    if !within_cost_bounds(stored) {
        tracing::warn!("a stored password hash exceeds the cost bounds and was not verified");
        return Verified {
            matches: false,
            needs_rehash: false,
        };
    }
    if stored.starts_with("$2") {
        let matches = bcrypt::verify(password, stored).unwrap_or(false);
        return Verified {
            matches,
            needs_rehash: true,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified {
            matches: false,
            needs_rehash: false,
        };
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = format!("m={MEMORY_KIB},t={PASSES},p={LANES}");
    let needs_rehash = parsed.algorithm.as_str() != "argon2id"
        || parsed.params.to_string() != current
        || parsed.version != Some(0x13);
    Verified {
        matches,
        needs_rehash,
    }
}

/// Whether `stored` is a hash Roster verifies: bcrypt (`$2a$`, `$2b$`, `$2y$`) of cost
/// [`MIN_BCRYPT_COST`]–[`MAX_BCRYPT_COST`] with 53 characters of bcrypt's base64, or an
/// argon2id PHC string with salt, hash and parameters within the argon2 bounds.
pub fn within_cost_bounds(stored: &str) -> bool {
    if stored.starts_with("$2") {
        let parts: Vec<&str> = stored.split('$').collect();
        return parts.len() == 4
            && parts[0].is_empty()
            && matches!(parts[1], "2a" | "2b" | "2y")
            && parts[2].len() == 2
            && parts[2]
                .parse::<u32>()
                .is_ok_and(|cost| (MIN_BCRYPT_COST..=MAX_BCRYPT_COST).contains(&cost))
            && parts[3].len() == 53
            && parts[3]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    parsed.algorithm.as_str() == "argon2id"
        && parsed.salt.is_some()
        && parsed.hash.is_some()
        && params.m_cost() <= MAX_ARGON2_MEMORY_KIB
        && params.t_cost() <= MAX_ARGON2_PASSES
        && params.p_cost() <= MAX_ARGON2_LANES
        && u64::from(params.m_cost()) * u64::from(params.t_cost()) <= MAX_ARGON2_MEMORY_PASSES_KIB
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

/// The default policy every new password meets: 8 characters or more, at most 1,024 bytes.
pub fn validate_new_password(password: &str) -> Result<()> {
    validate_password(password, PasswordPolicy::default())
}

/// `policy`'s rules: at least `min_chars` characters, at most 1,024 bytes, and (if asked)
/// not one of the 10,000 most common passwords.
pub fn validate_password(password: &str, policy: PasswordPolicy) -> Result<()> {
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
    if password.chars().count() < policy.min_chars {
        return Err(Error::field(
            Code::PasswordTooShort,
            "password",
            format!("A password needs at least {} characters.", policy.min_chars),
        ));
    }
    if policy.refuse_common && COMMON.contains(password.to_lowercase().as_str()) {
        return Err(Error::field(
            Code::PasswordTooCommon,
            "password",
            "This password is one of the most common ones; choose another.",
        ));
    }
    Ok(())
}

/// Checks the length of a password given to sign in (never the policy: a password set
/// under an older policy still signs in).
pub fn validate_attempt(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::field(
            Code::FieldRequired,
            "password",
            "password is required.",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::field(
            Code::PasswordTooLong,
            "password",
            format!("A password may be at most {MAX_PASSWORD_BYTES} bytes."),
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
            .hash_with("correct horse battery", PasswordPolicy::default(), &random)
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

    #[tokio::test]
    async fn bcrypt_and_old_argon2_verify_and_ask_for_a_rehash() {
        let passwords = Passwords::new(1);
        let bcrypt = bcrypt::hash("hunter2hunter2", 4).unwrap();
        let found = passwords
            .verify("hunter2hunter2", Some(&bcrypt))
            .await
            .unwrap();
        assert_eq!(
            found,
            Verified {
                matches: true,
                needs_rehash: true
            }
        );
        let wrong = passwords
            .verify("hunter3hunter3", Some(&bcrypt))
            .await
            .unwrap();
        assert!(!wrong.matches);
        let current = passwords
            .hash_with(
                "hunter2hunter2",
                PasswordPolicy::default(),
                &crate::SeededRandom::new(3),
            )
            .await
            .unwrap();
        let found = passwords
            .verify("hunter2hunter2", Some(&current))
            .await
            .unwrap();
        assert_eq!(
            found,
            Verified {
                matches: true,
                needs_rehash: false
            }
        );
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(
            b"hunter2hunter2",
            &SaltString::encode_b64(&[7; 16]).unwrap(),
        )
        .unwrap()
        .to_string();
        let found = passwords
            .verify("hunter2hunter2", Some(&weaker))
            .await
            .unwrap();
        assert_eq!(
            found,
            Verified {
                matches: true,
                needs_rehash: true
            }
        );
        let none = passwords.verify("hunter2hunter2", None).await.unwrap();
        assert_eq!(
            none,
            Verified {
                matches: false,
                needs_rehash: false
            }
        );
    }

    #[test]
    fn the_decoy_costs_what_a_real_hash_costs() {
        let decoy = Passwords::new(1).decoy_hash().unwrap();
        assert!(
            decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{decoy}"
        );
    }

    #[test]
    fn hash_costs_are_bounded() {
        let argon = |m: u32, t: u32, p: u32| {
            format!("$argon2id$v=19$m={m},t={t},p={p}$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
        };
        assert!(within_cost_bounds(&argon(19_456, 2, 1)));
        assert!(within_cost_bounds(&argon(102_400, 2, 8)), "Django");
        assert!(within_cost_bounds(&argon(65_536, 3, 4)), "Bitwarden");
        assert!(
            !within_cost_bounds(&argon(1_048_576, 50, 1)),
            "1 GiB, 50 passes"
        );
        assert!(
            !within_cost_bounds(&argon(131_072, 3, 1)),
            "memory x passes"
        );
        assert!(!within_cost_bounds(&argon(19_456, 11, 1)));
        assert!(!within_cost_bounds(&argon(19_456, 2, 17)));
        let salt = "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert!(within_cost_bounds(&format!("$2b$14${salt}")));
        assert!(!within_cost_bounds(&format!("$2b$15${salt}")));
        assert!(!within_cost_bounds(&format!("$2b$31${salt}")));
        assert!(!within_cost_bounds(&format!("$2b$03${salt}")));
    }

    #[tokio::test]
    async fn an_over_bound_hash_is_not_verified() {
        // bcrypt cost 31 would take days; it must answer at once, as a mismatch.
        let stored = "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        let found = Passwords::new(1)
            .verify("whatever1", Some(stored))
            .await
            .unwrap();
        assert!(!found.matches);
    }

    #[tokio::test]
    async fn an_abandoned_hash_keeps_its_permit_until_it_ends() {
        let passwords = Passwords::new(1);
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let held = passwords.clone();
        let abandoned = tokio::spawn(async move {
            held.blocking(move || {
                let _ = started_tx.send(());
                let _ = release_rx.recv();
                Ok(())
            })
            .await
        });
        tokio::task::spawn_blocking(move || started_rx.recv())
            .await
            .unwrap()
            .unwrap();
        abandoned.abort();
        let _ = abandoned.await;
        // The request is gone but its work still runs: no second permit is to be had.
        assert_eq!(passwords.permits.available_permits(), 0);
        release_tx.send(()).unwrap();
        let permit = passwords.permits.acquire().await.unwrap();
        drop(permit);
        assert_eq!(passwords.permits.available_permits(), 1);
    }

    #[test]
    fn common_passwords_are_refused_only_when_asked() {
        let strict = PasswordPolicy {
            min_chars: 8,
            refuse_common: true,
        };
        assert_eq!(
            validate_password("Password1", strict).unwrap_err().code,
            Code::PasswordTooCommon
        );
        assert_eq!(
            validate_password("Abcd1234", strict).unwrap_err().code,
            Code::PasswordTooCommon
        );
        assert!(
            validate_password("Abcd1234", PasswordPolicy::default()).is_ok(),
            "seed 004's example"
        );
        assert!(validate_password("violet-tractor-lagoon", strict).is_ok());
        let long = PasswordPolicy {
            min_chars: 12,
            refuse_common: false,
        };
        assert_eq!(
            validate_password("elevenchars", long).unwrap_err().code,
            Code::PasswordTooShort
        );
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
