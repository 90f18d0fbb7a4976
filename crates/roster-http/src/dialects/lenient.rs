//! JSON as people write it in documentation: `//` and `/* */` comments, trailing commas
//! (seed 004's own example body has both) and bare object keys (seed 003's `{id: 1}`). Fixed
//! before parsing; strings are untouched.

/// `text` without comments and trailing commas outside strings, with bare keys quoted.
pub fn clean(text: &str) -> String {
    let without_comments = strip_comments(text);
    quote_bare_keys(&strip_trailing_commas(&without_comments))
}

/// `{id: 1}` → `{"id": 1}`: an identifier outside a string followed by `:` is a key.
fn quote_bare_keys(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                    i += 1;
                }
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if next == Some(&':') {
                out.push('"');
                out.push_str(&word);
                out.push('"');
            } else {
                out.push_str(&word);
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        out.push(escaped);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for skipped in chars.by_ref() {
                    if last == '*' && skipped == '/' {
                        break;
                    }
                    last = skipped;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

fn strip_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                    i += 1;
                }
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if !matches!(next, Some('}' | ']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_go_strings_stay() {
        let text = "{\n\"a\": null, //a note, with \"quotes\"\n\"b\": \"x // y, }\", /* c */ \"c\": [1, 2,],\n}";
        let value: serde_json::Value = serde_json::from_str(&clean(text)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": null, "b": "x // y, }", "c": [1, 2]})
        );
        assert_eq!(clean(r#"{"s": "a\",}"}"#), r#"{"s": "a\",}"}"#);
        let bare: serde_json::Value = serde_json::from_str(&clean(
            "{\nid: 1,\nuser: {\nrole: \"analyst\",\nremove_groups: true\n}\n}",
        ))
        .unwrap();
        assert_eq!(
            bare,
            serde_json::json!({"id": 1, "user": {"role": "analyst", "remove_groups": true}})
        );
    }
}
