//! Public identifiers: a type prefix and random lower-case base-36 characters
//! (`usr_2x9k3m4n5p…`), as seed 002 shows them.

use chrono::{DateTime, Utc};

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

/// Characters of a sortable id that hold its time: milliseconds since 1970 in 9 base-36
/// digits (enough until the year 5138).
const TIME_CHARS: usize = 9;

/// A new public id that sorts by creation time: the time in milliseconds, then random
/// characters (11 base-36 characters, 56 bits). Records created together get neighbouring
/// ids, so a bulk insert appends to the id index instead of touching a page per row.
pub fn new_sortable_id(prefix: &str, now: DateTime<Utc>, random: &dyn Random) -> String {
    let mut millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let mut time = [b'0'; TIME_CHARS];
    for slot in time.iter_mut().rev() {
        *slot = ALPHABET[(millis % 36) as usize];
        millis /= 36;
    }
    let random_part = new_id("", random);
    let mut id = String::with_capacity(prefix.len() + 1 + ID_CHARS);
    id.push_str(prefix);
    id.push('_');
    id.extend(time.iter().map(|b| char::from(*b)));
    id.push_str(&random_part[1..=ID_CHARS - TIME_CHARS]);
    id
}

/// A UUID version 7 (RFC 9562: time-ordered) for `now`, its other bits from `random`.
pub fn new_uuid_v7(now: DateTime<Utc>, random: &dyn Random) -> uuid::Uuid {
    let mut bytes = [0u8; 10];
    random.fill(&mut bytes);
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
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
    fn sortable_ids_sort_by_time_and_stay_well_formed() {
        use chrono::TimeZone;
        let random = SeededRandom::new(7);
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let a = new_sortable_id("usr", t, &random);
        let b = new_sortable_id("usr", t + chrono::Duration::milliseconds(1), &random);
        let c = new_sortable_id("usr", t + chrono::Duration::days(400), &random);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a.len(), 4 + ID_CHARS);
        assert!(is_well_formed("usr", &a));
        assert_ne!(a, new_sortable_id("usr", t, &random), "random part differs");
        let u1 = new_uuid_v7(t, &random);
        let u2 = new_uuid_v7(t + chrono::Duration::milliseconds(1), &random);
        assert_eq!(u1.get_version_num(), 7);
        assert!(u1 < u2);
    }

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
