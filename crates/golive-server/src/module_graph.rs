//! A test that this crate's modules, and `golive-core`'s, import one
//! another one way only: no module uses one that uses it back, directly
//! or round a longer circle (`docs/architecture.md`, "Who depends on
//! whom"). It reads the crates' sources: every path through `crate::`,
//! `super::`, `self::` or a child module's name, in code and `use` lists
//! (comments and `mod tests` left out), is an edge to the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path ("" for the crate root) → its source.
fn sources(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).expect("under src");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read file");
            out.insert(parts.join("::"), text);
        }
    }
    out
}

/// The code of a file without comment lines and its `mod tests`.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path written in `code` (`a::b::C`), `use` groups expanded; in
/// a group (`crate::{auth, state::AppState}`) a lone name is one too.
fn paths(code: &str, group: bool) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts =
            is_ident(bytes[i]) && (i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b':'));
        if !starts {
            i += 1;
            continue;
        }
        let (end, found) = path_at(code, i, group);
        out.extend(found);
        i = end.max(i + 1);
    }
    out
}

/// The path starting at `start` (with any `::{…}` group expanded), and
/// where it ends.
fn path_at(code: &str, start: usize, group: bool) -> (usize, Vec<String>) {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut end = start;
    loop {
        while end < bytes.len() && is_ident(bytes[end]) {
            end += 1;
        }
        if code[end..].starts_with("::") && end + 2 < bytes.len() && is_ident(bytes[end + 2]) {
            end += 2;
            continue;
        }
        break;
    }
    let prefix = &code[start..end];
    if code[end..].starts_with("::{") {
        let mut depth = 0;
        let mut close = end + 2;
        for (offset, ch) in code[end + 2..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = end + 2 + offset;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &code[end + 3..close];
        let found = paths(inner, true)
            .into_iter()
            .map(|path| format!("{prefix}::{path}"))
            .chain(std::iter::once(prefix.to_string()))
            .collect();
        return (close + 1, found);
    }
    let found = if group || prefix.contains("::") {
        vec![prefix.to_string()]
    } else {
        Vec::new()
    };
    (end, found)
}

fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(parent, _)| parent)
}

fn join(base: &str, rest: &str) -> String {
    if base.is_empty() {
        rest.to_string()
    } else {
        format!("{base}::{rest}")
    }
}

/// The module a path written in `module` names, if it names one of this
/// crate's other modules (the longest that exists).
fn target(path: &str, module: &str, modules: &BTreeSet<String>) -> Option<String> {
    let (first, rest) = path.split_once("::")?;
    let absolute = match first {
        "crate" => rest.to_string(),
        "super" => join(parent(module), rest),
        "self" => join(module, rest),
        _ if modules.contains(&join(module, first)) => join(module, path),
        _ => return None,
    };
    let mut candidate = absolute.as_str();
    loop {
        if modules.contains(candidate) {
            return (!candidate.is_empty() && candidate != module).then(|| candidate.to_string());
        }
        candidate = candidate.rsplit_once("::")?.0;
    }
}

/// A circle of imports, if there is one, as the modules along it.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // 0 unseen, 1 on the current path, 2 done.
    fn visit(
        module: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(module.to_string(), 1);
        path.push(module.to_string());
        for next in edges.get(module).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|m| m == next).unwrap_or(0);
                    let mut circle = path[from..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(circle) = visit(next, edges, state, path) {
                        return Some(circle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(module.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for module in edges.keys() {
        if state.get(module).copied().unwrap_or(0) == 0
            && let Some(circle) = visit(module, edges, &mut state, &mut Vec::new())
        {
            return Some(circle);
        }
    }
    None
}

fn edges_of(sources: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(module, text)| {
            let targets = paths(&code(text), false)
                .iter()
                .filter_map(|path| target(path, module, &modules))
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// Reads the crate whose sources are at `src` (relative to this crate),
/// checks that `module`'s use of `uses` is seen, and fails on a circle.
fn assert_no_circle(src: &str, module: &str, uses: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let edges = edges_of(&sources(&root));
    assert!(edges.len() > 30, "the modules of {src} were read");
    assert!(
        edges[module].contains(uses),
        "{module}'s use of {uses} is seen"
    );
    if let Some(circle) = circle(&edges) {
        panic!(
            "modules of {src} import each other round a circle: {}",
            circle.join(" → ")
        );
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    assert_no_circle("src", "routes::report", "state");
}

#[test]
fn no_module_of_the_core_imports_one_that_imports_it_back() {
    assert_no_circle("../golive-core/src", "alerts", "event");
}

#[test]
fn a_circle_is_found_however_it_is_written() {
    let mut files = BTreeMap::new();
    files.insert(String::new(), "mod a;\nmod b;".to_string());
    files.insert("a".into(), "use crate::{b::{Thing, Other}};".to_string());
    files.insert("d".into(), "use crate::{a, c};".to_string());
    files.insert(
        "b".into(),
        "// crate::c is a comment\nfn f() { super::c::go() }".to_string(),
    );
    files.insert("c".into(), "pub fn go() { crate::a::x(); }".to_string());
    let edges = edges_of(&files);
    assert_eq!(edges["a"], BTreeSet::from(["b".to_string()]));
    assert_eq!(edges["b"], BTreeSet::from(["c".to_string()]));
    assert_eq!(
        edges["d"],
        BTreeSet::from(["a".to_string(), "c".to_string()])
    );
    let circle = circle(&edges).expect("a → b → c → a");
    assert_eq!(circle.len(), 4);
    files.insert("c".into(), "pub fn go() {}".to_string());
    assert_eq!(circle_of(&files), None);
}

#[cfg(test)]
fn circle_of(files: &BTreeMap<String, String>) -> Option<Vec<String>> {
    circle(&edges_of(files))
}
