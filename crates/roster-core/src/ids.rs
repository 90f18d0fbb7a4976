//! Public identifiers: a type prefix and random lower-case base-36 characters
//! (`usr_2x9k3m4n5p…`), as seed 002 shows them.

use crate::Random;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Random characters after the prefix: 20 base-36 characters carry 103 bits.
const ID_CHARS: usize = 20;

/// A new public id such as `usr_…`, `ws_…` or `key_…`.
pub fn new_id(prefix: &str, random: &dyn Random) -> String {
    let mut bytes = [0u8; ID_CHARS];
    random.fill(&mut bytes);
    let mut id = String::with_capacity(prefix.len() + 1 + ID_CHARS);
    id.push_str(prefix);
    id.push('_');
    // 252 is the largest multiple of 36 below 256: rejection keeps every character uniform.
    let mut extra = [0u8; 1];
    for mut b in bytes {
        while b >= 252 {
            random.fill(&mut extra);
            b = extra[0];
        }
        id.push(char::from(ALPHABET[usize::from(b % 36)]));
    }
    id
}

/// True when `id` has the shape of an id made by [`new_id`] with `prefix`.
pub fn is_well_formed(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 64
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A UUID (version 4) drawn from `random`.
pub fn new_uuid(random: &dyn Random) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    #[test]
    fn ids_have_prefix_and_base36_body() {
        let random = SeededRandom::new(7);
        let id = new_id("usr", &random);
        assert!(id.starts_with("usr_"));
        assert_eq!(id.len(), 4 + ID_CHARS);
        assert!(is_well_formed("usr", &id));
        assert!(!is_well_formed("ws", &id));
        assert!(!is_well_formed("usr", "usr_"));
        assert!(!is_well_formed("usr", "usr_ABC"));
    }

    #[test]
    fn ids_differ() {
        let random = SeededRandom::new(7);
        assert_ne!(new_id("usr", &random), new_id("usr", &random));
    }

    #[test]
    fn uuids_are_version_4() {
        let random = SeededRandom::new(1);
        assert_eq!(new_uuid(&random).get_version_num(), 4);
    }
}
