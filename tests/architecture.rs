//! The boundaries of ARCHITECTURE.md, enforced: read from the `crate::` and
//! `super::` paths of every file under `src/` (comments skipped), so a new
//! import that crosses a boundary fails here, not in review.
//!
//! - The protocol rooms (`rv`, `ola`), the simulator (`sim`) and the cue
//!   engine (`cue`) never use the shell (`app`, `ui`, `shell`), the command
//!   line (`cli`, `cmd`, `options`, `config`), nor the terminal crates.
//! - `app` (the shell's state) never uses `ui`, `shell`, `cmd` or `cli`;
//!   `ui` (drawing) never uses `shell`, `cmd`, `cli` nor a socket.
//! - No import circles: between the rooms, and between the files of a room
//!   (a room's `mod.rs` may use its children and they it, as Rust's module
//!   tree does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// One source file: its room (top-level module) and its module within it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    room: String,
    /// The file's module below the room: `""` for the room's own file
    /// (`rv/mod.rs` or `cli.rs`), else e.g. `client` for `rv/client/...`.
    child: String,
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(path: &Path) -> Module {
    let rel = path.strip_prefix(SRC).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    let room = parts[0].clone();
    let child = match parts.get(1).map(String::as_str) {
        None | Some("mod") => String::new(),
        Some(child) => child.to_owned(),
    };
    Module { room, child }
}

/// The code of a file without comments (line comments and doc comments;
/// block comments are not used in this crate's code).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // `//` inside a string literal ("http://") is rare enough here;
            // cutting there only loses paths, never adds one.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` and `super::b` path of `code`, `use` trees with
/// braces expanded, as (room, child) pairs; `super` is resolved against
/// `module`. The test modules (`mod tests`) are skipped: tests may use
/// anything.
fn references(module: &Module, is_mod_rs: bool, code: &str) -> Refs {
    let code = match code.find("#[cfg(test)]") {
        Some(at) => &code[..at],
        None => code,
    };
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (prefix, is_super) in [("crate::", false), ("super::", true)] {
        let mut from = 0;
        while let Some(at) = code[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            // A path segment, not the end of a longer identifier.
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            for path in expand(&code[from..]) {
                let mut segs = path.iter().map(String::as_str);
                let (room, child) = if is_super {
                    if is_mod_rs || module.child.is_empty() {
                        // `super` of a room's own file is the crate root.
                        let room = segs.next().unwrap_or_default();
                        (room.to_owned(), segs.next().unwrap_or_default().to_owned())
                    } else {
                        let child = segs.next().unwrap_or_default();
                        (module.room.clone(), child.to_owned())
                    }
                } else {
                    let room = segs.next().unwrap_or_default();
                    (room.to_owned(), segs.next().unwrap_or_default().to_owned())
                };
                if !room.is_empty() {
                    out.insert((room, child));
                }
            }
        }
    }
    out
}

/// The paths that start at `text` (just after `crate::`): `a::b::C` gives
/// one, `a::{b, c::D}` gives `a::b` and `a::c::D`.
fn expand(text: &str) -> Vec<Vec<String>> {
    if let Some(group) = text.strip_prefix('{') {
        return split_top(group)
            .into_iter()
            .flat_map(|item| expand(item.trim()))
            .collect();
    }
    let mut segs = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_owned());
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix("::") {
            if let Some(group) = after.strip_prefix('{') {
                let mut out = Vec::new();
                for item in split_top(group) {
                    for tail in expand(item.trim()) {
                        let mut path = segs.clone();
                        path.extend(tail);
                        out.push(path);
                    }
                }
                return out;
            }
            rest = after;
        } else {
            break;
        }
    }
    vec![segs]
}

/// The comma-separated items of a `{...}` group, up to its closing brace.
fn split_top(group: &str) -> Vec<&str> {
    let mut depth = 0;
    let mut items = Vec::new();
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// What a file references: (room, child) pairs.
type Refs = BTreeSet<(String, String)>;

struct Crate {
    /// (module, what it references, its comment-free code).
    modules: Vec<(Module, Refs, String)>,
}

fn read_crate() -> Crate {
    let mut paths = Vec::new();
    files(Path::new(SRC), &mut paths);
    let modules = paths
        .iter()
        .map(|path| {
            let module = module_of(path);
            let text = code(&std::fs::read_to_string(path).unwrap());
            let is_mod_rs = path.file_name().is_some_and(|n| n == "mod.rs");
            let refs = references(&module, is_mod_rs, &text);
            (module, refs, text)
        })
        .collect();
    Crate { modules }
}

const ROOMS_BELOW_THE_SHELL: &[&str] = &["rv", "ola", "sim", "cue"];
const THE_SHELL_AND_COMMAND_LINE: &[&str] = &[
    "app", "ui", "shell", "cli", "cmd", "options", "config", "main",
];

#[test]
fn protocol_rooms_know_nothing_of_the_shell_or_the_command_line() {
    let krate = read_crate();
    let mut crossings = Vec::new();
    for (module, refs, text) in &krate.modules {
        if !ROOMS_BELOW_THE_SHELL.contains(&module.room.as_str()) {
            continue;
        }
        for (room, _) in refs {
            if THE_SHELL_AND_COMMAND_LINE.contains(&room.as_str()) {
                crossings.push(format!("{module:?} uses crate::{room}"));
            }
        }
        for terminal in ["ratatui::", "crossterm::"] {
            if text.contains(terminal) {
                crossings.push(format!("{module:?} uses {terminal}"));
            }
        }
    }
    assert!(crossings.is_empty(), "{crossings:#?}");
}

#[test]
fn the_shells_state_and_drawing_stay_in_their_lanes() {
    let krate = read_crate();
    let rules: &[(&str, &[&str])] = &[
        ("app", &["ui", "shell", "cmd", "cli"]),
        ("ui", &["shell", "cmd", "cli"]),
        ("shell", &["cmd", "cli"]),
        ("options", &["cmd", "cli"]),
        ("config", &["cmd", "cli", "options"]),
    ];
    let mut crossings = Vec::new();
    for (module, refs, text) in &krate.modules {
        for (room, banned) in rules {
            if module.room != *room {
                continue;
            }
            for (used, _) in refs {
                if banned.contains(&used.as_str()) {
                    crossings.push(format!("{module:?} uses crate::{used}"));
                }
            }
            if module.room == "ui" || module.room == "app" {
                for io in ["tokio::net", "std::net::Tcp", "tokio::spawn", ".await"] {
                    if text.contains(io) {
                        crossings.push(format!("{module:?} uses {io}"));
                    }
                }
            }
        }
    }
    assert!(crossings.is_empty(), "{crossings:#?}");
}

/// The first cycle of `graph`, if any, as the list of its nodes.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_import_circles_between_rooms() {
    let krate = read_crate();
    let rooms: BTreeSet<String> = krate.modules.iter().map(|(m, ..)| m.room.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, refs, _) in &krate.modules {
        if module.room == "lib" || module.room == "main" {
            continue;
        }
        for (room, _) in refs {
            if room != &module.room && rooms.contains(room) {
                graph
                    .entry(module.room.clone())
                    .or_default()
                    .insert(room.clone());
            }
        }
    }
    assert_eq!(find_cycle(&graph), None, "rooms: {graph:#?}");
}

#[test]
fn no_import_circles_between_the_files_of_a_room() {
    let krate = read_crate();
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, refs, _) in &krate.modules {
        if module.child.is_empty() {
            continue;
        }
        for (room, child) in refs {
            if room == &module.room && !child.is_empty() && child != &module.child {
                graphs
                    .entry(module.room.clone())
                    .or_default()
                    .entry(module.child.clone())
                    .or_default()
                    .insert(child.clone());
            }
        }
    }
    for (room, graph) in &graphs {
        assert_eq!(find_cycle(graph), None, "files of {room}: {graph:#?}");
    }
}

/// The checker itself: a known crossing and a known circle are found.
#[test]
fn the_checker_sees_paths_in_use_trees_and_code() {
    let module = Module {
        room: "rv".into(),
        child: "client".into(),
    };
    let refs = references(
        &module,
        false,
        "use crate::{app::App, ui};\nuse super::{frame::Frame, reader};\nfn f() { crate::shell::run(); }",
    );
    for (room, child) in [
        ("app", "App"),
        ("ui", ""),
        ("rv", "frame"),
        ("rv", "reader"),
        ("shell", "run"),
    ] {
        assert!(refs.contains(&(room.into(), child.into())), "{refs:?}");
    }
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(find_cycle(&graph).is_some());
    graph.remove("b");
    assert_eq!(find_cycle(&graph), None);
}
