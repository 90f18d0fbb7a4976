//! The code's layout holds to what the team agreed (issue 14): no source file over 800 lines,
//! no library function over 80, and no import circle in the core wider than three files.
//! These read the sources as text; they are not a parser, only a tripwire.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 80;
const MAX_CIRCLE: usize = 3;

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The library sources: `crates/*/src/**/*.rs`.
fn library_sources() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            all.extend(rust_files(&src));
        }
    }
    assert!(all.len() > 50, "found only {} source files", all.len());
    all
}

/// The text before a file's unit tests (`#[cfg(test)] mod tests`), which are not library code.
fn library_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = library_sources()
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).unwrap().lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_FILE_LINES} lines: {long:#?}");
}

/// `(name, lines)` of each function with a body: from its `fn` line to the closing brace at
/// the same indentation (rustfmt's layout).
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "fn") else {
            i += 1;
            continue;
        };
        let qualifiers_only = words[..at]
            .iter()
            .all(|w| matches!(*w, "pub" | "async" | "const" | "unsafe") || w.starts_with("pub("));
        if !qualifiers_only || at + 1 >= words.len() {
            i += 1;
            continue;
        }
        let name: String = words[at + 1]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The signature ends with `{` (a body) or `;` (a declaration).
        let mut j = i;
        while j < lines.len() && !lines[j].trim_end().ends_with('{') {
            if lines[j].trim_end().ends_with(';') {
                break;
            }
            j += 1;
        }
        if j >= lines.len() || lines[j].trim_end().ends_with(';') {
            i = j + 1;
            continue;
        }
        let closing = format!("{}}}", " ".repeat(indent));
        let end = (j..lines.len())
            .find(|&k| lines[k] == closing || (k == j && line.trim_end().ends_with('}')))
            .unwrap_or(lines.len() - 1);
        found.push((name, end - i + 1));
        i = end + 1;
    }
    found
}

#[test]
fn no_library_function_is_over_80_lines() {
    let mut long = Vec::new();
    for path in library_sources() {
        for (name, lines) in functions(&library_text(&path)) {
            if lines > MAX_FN_LINES {
                long.push(format!("{}: {name} ({lines} lines)", path.display()));
            }
        }
    }
    assert!(long.is_empty(), "over {MAX_FN_LINES} lines: {long:#?}");
}

#[test]
fn the_function_measure_counts_what_it_should() {
    let text = "fn short() {\n    one();\n}\n\n    pub(crate) async fn long(\n        a: u8,\n    ) -> u8 {\n        a\n    }\nfn declared();\n";
    assert_eq!(
        functions(text),
        [("short".to_owned(), 3), ("long".to_owned(), 5)]
    );
}

/// The core's modules (`store::users` for `store/users.rs`) and the modules each names.
fn core_imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = crates_dir().join("roster-core").join("src");
    let mut texts = BTreeMap::new();
    for path in rust_files(&src) {
        let relative = path.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let module = parts.join("::");
        if module != "lib" {
            texts.insert(module, library_text(&path));
        }
    }
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    // The longest module that `path` starts with.
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|candidate| modules.contains(candidate))
    };
    let mut edges = BTreeMap::new();
    for (module, text) in &texts {
        let parent = module.rsplit_once("::").map(|(p, _)| p.to_owned());
        let mut named = BTreeSet::new();
        for (prefix, base) in [
            ("crate::", String::new()),
            ("super::", parent.clone().unwrap_or_default()),
        ] {
            for (at, _) in text.match_indices(prefix) {
                let rest = &text[at + prefix.len()..];
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let path = path.trim_end_matches(':');
                let full = match (base.is_empty(), path.is_empty()) {
                    (true, _) => path.to_owned(),
                    (false, true) => base.clone(),
                    (false, false) => format!("{base}::{path}"),
                };
                if let Some(target) = resolve(&full) {
                    named.insert(target);
                }
            }
        }
        // A parent names its children by declaring them.
        for line in text.lines() {
            let line = line.trim_start_matches("pub ");
            if let Some(child) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
                let child = format!("{module}::{child}");
                if modules.contains(&child) {
                    named.insert(child);
                }
            }
        }
        named.remove(module);
        edges.insert(module.clone(), named);
    }
    edges
}

/// The strongly connected groups of `edges` (Tarjan's algorithm, iteratively small enough
/// to recurse: the core has a few dozen modules).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                self.found.push(group);
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_import_circle_in_the_core_is_wider_than_three_files() {
    let edges = core_imports();
    assert!(edges.len() > 30, "found only {} core modules", edges.len());
    assert!(
        edges["roster"].contains("store"),
        "the import reader misses `use crate::store::…`"
    );
    let wide: Vec<Vec<String>> = circles(&edges)
        .into_iter()
        .filter(|group| group.len() > MAX_CIRCLE)
        .collect();
    assert!(
        wide.is_empty(),
        "import circles wider than {MAX_CIRCLE}: {wide:#?}"
    );
}

#[test]
fn the_circle_finder_finds_circles() {
    let edge = |a: &str, b: &[&str]| (a.to_owned(), b.iter().map(|s| (*s).to_owned()).collect());
    let edges: BTreeMap<String, BTreeSet<String>> = [
        edge("a", &["b"]),
        edge("b", &["c"]),
        edge("c", &["a"]),
        edge("d", &["a"]),
    ]
    .into_iter()
    .collect();
    let mut sizes: Vec<usize> = circles(&edges).iter().map(Vec::len).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 3]);
}
