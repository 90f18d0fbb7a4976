//! Free-form user attributes: a JSON object of bounded size, patched with JSON Merge Patch
//! (RFC 7396: a `null` value removes a key).

use serde_json::{Map, Value};

use crate::error::{Code, Error, Result};

/// The largest attributes object, serialized.
pub const MAX_BYTES: usize = 16 * 1024;
/// The deepest nesting of objects and arrays.
pub const MAX_DEPTH: usize = 8;
pub const MAX_KEY_CHARS: usize = 128;

pub type Attributes = Map<String, Value>;

/// Check a whole attributes value.
pub fn validate(value: Value) -> Result<Attributes> {
    let Value::Object(map) = value else {
        return Err(invalid("attributes must be a JSON object."));
    };
    check(&map)?;
    Ok(map)
}

/// Apply a merge patch to `current` and check the result.
pub fn merge(current: &Attributes, patch: Value) -> Result<Attributes> {
    let Value::Object(patch) = patch else {
        return Err(invalid("attributes must be a JSON object."));
    };
    let mut merged = Value::Object(current.clone());
    merge_value(&mut merged, Value::Object(patch));
    match merged {
        Value::Object(map) => {
            check(&map)?;
            Ok(map)
        }
        _ => Err(invalid("attributes must be a JSON object.")),
    }
}

fn merge_value(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(map) = target {
                for (key, value) in patch {
                    if value.is_null() {
                        map.remove(&key);
                    } else {
                        merge_value(map.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

fn check(map: &Attributes) -> Result<()> {
    if let Some(key) = map
        .keys()
        .find(|k| k.is_empty() || k.chars().count() > MAX_KEY_CHARS)
    {
        return Err(invalid(format!(
            "attribute keys must be 1 to {MAX_KEY_CHARS} characters; '{}' is not.",
            key.chars().take(32).collect::<String>()
        )));
    }
    if depth_of_map(map) > MAX_DEPTH {
        return Err(invalid(format!(
            "attributes may nest at most {MAX_DEPTH} levels deep."
        )));
    }
    let size = serde_json::to_vec(map)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_BYTES {
        return Err(invalid(format!(
            "attributes may take at most {MAX_BYTES} bytes as JSON; these take {size}."
        )));
    }
    Ok(())
}

fn depth_of_map(map: &Attributes) -> usize {
    1 + map.values().map(depth).max().unwrap_or(0)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => depth_of_map(map),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::field(Code::InvalidAttributes, "attributes", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_objects_are_attributes() {
        assert!(validate(json!({"plan": "pro"})).is_ok());
        for bad in [json!([]), json!("x"), json!(1), json!(null)] {
            assert_eq!(validate(bad).unwrap_err().code, Code::InvalidAttributes);
        }
    }

    #[test]
    fn size_depth_and_keys_are_bounded() {
        let big = "x".repeat(MAX_BYTES);
        assert!(validate(json!({ "a": big })).is_err());
        let mut deep = json!(1);
        for _ in 0..=MAX_DEPTH {
            deep = json!({ "k": deep });
        }
        assert!(validate(deep.clone()).is_err());
        assert!(validate(deep["k"].clone()).is_ok());
        assert!(validate(json!({ "": 1 })).is_err());
    }

    #[test]
    fn merge_follows_rfc_7396() {
        let current = validate(json!({"a": 1, "b": {"c": 2, "d": 3}})).unwrap();
        let merged = merge(
            &current,
            json!({"a": null, "b": {"c": null, "e": 4}, "f": [1]}),
        )
        .unwrap();
        assert_eq!(
            Value::Object(merged),
            json!({"b": {"d": 3, "e": 4}, "f": [1]})
        );
    }
}
