//! The module graph of the README ("Module graph"): every `crate::` path in `src/` is checked
//! against it. A module may use only modules on lines below its own; modules on one line do
//! not use each other; `crate::Error` and `crate::Result` (the base layer's, re-exported at
//! the root) are open to all. Every top-level module of `src/` must be placed in the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The graph's lines, top (highest layer) first, read from the README's indented block after
/// the "## Module graph" heading.
fn readme_layers(readme: &str) -> Vec<Vec<String>> {
    let section = readme
        .split("\n## Module graph\n")
        .nth(1)
        .expect("README.md has a `## Module graph` section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("    "))
        .take_while(|l| l.starts_with("    "))
        .map(|l| {
            // Each line: the modules, then `#` and a comment.
            let names = l.split('#').next().unwrap_or_default();
            names.split_whitespace().map(str::to_string).collect()
        })
        .collect()
}

/// The top-level modules named by `crate::` paths in `source` (grouped imports included),
/// excluding the root re-exports `Error` and `Result`.
fn used_modules(source: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (i, _) in source.match_indices("crate::") {
        let rest = &source[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            // `crate::{a::X, b, Error}`: the first identifier of each item.
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .map(|item| item.trim().split("::").next().unwrap_or_default())
                .collect(),
            None => vec![
                rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap(),
            ],
        };
        for name in names {
            let is_module = name.starts_with(|c: char| c.is_ascii_lowercase());
            if is_module && name != "self" {
                used.insert(name.to_string());
            }
        }
    }
    used
}

/// The violations of `layers` by `uses` (module -> modules it uses): each as a sentence.
fn violations(layers: &[Vec<String>], uses: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(r, line)| line.iter().map(move |m| (m.as_str(), layers.len() - r)))
        .collect();
    let mut found = Vec::new();
    for (module, used) in uses {
        let Some(&own) = rank.get(module.as_str()) else {
            found.push(format!("`{module}` is not in the README's module graph"));
            continue;
        };
        for dep in used.iter().filter(|d| *d != module) {
            match rank.get(dep.as_str()) {
                None => found.push(format!(
                    "`{module}` uses `{dep}`, which is not in the graph"
                )),
                Some(&r) if r >= own => found.push(format!(
                    "`{module}` uses `{dep}`, which is not on a line below it"
                )),
                Some(_) => {}
            }
        }
    }
    found
}

/// Every `.rs` file under `path` (or `path` itself).
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            files.push(p);
        }
    }
    files
}

/// Top-level module -> modules its files use, for the crate in `src`.
fn crate_uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut uses = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        let used = rust_files(&path)
            .iter()
            .flat_map(|f| used_modules(&std::fs::read_to_string(f).unwrap()))
            .collect();
        uses.insert(name, used);
    }
    uses
}

#[test]
fn every_module_uses_only_modules_below_it_in_the_readme_graph() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layers = readme_layers(&std::fs::read_to_string(root.join("README.md")).unwrap());
    assert!(
        layers.len() >= 5,
        "graph not found in README.md: {layers:?}"
    );
    let uses = crate_uses(&root.join("src"));
    assert!(uses.len() >= 10, "found only {:?}", uses.keys());
    let found = violations(&layers, &uses);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The binary is thin: it parses arguments and calls the command line layer only.
    let main = std::fs::read_to_string(root.join("src/main.rs")).unwrap();
    for (i, _) in main.match_indices("gped::") {
        let path = &main[i + "gped::".len()..];
        assert!(
            path.starts_with("cli::") || path.starts_with("Error"),
            "src/main.rs uses gped::{}",
            path.lines().next().unwrap_or_default()
        );
    }
}

#[test]
fn the_checker_finds_upward_sideways_and_unplaced_uses() {
    let layers = readme_layers(
        "x\n## Module graph\ntext\n\n    cli        # top\n    nn data\n    base\n\nafter\n",
    );
    assert_eq!(layers, [vec!["cli"], vec!["nn", "data"], vec!["base"]]);
    let src = "use crate::base::X;\nuse crate::{Error, data::Y, nn};\nfn f() { crate::cli::run() }";
    assert_eq!(
        used_modules(src).into_iter().collect::<Vec<_>>(),
        ["base", "cli", "data", "nn"]
    );
    let uses: BTreeMap<String, BTreeSet<String>> = [
        ("nn", vec!["base", "data", "cli"]),
        ("base", vec![]),
        ("cli", vec!["nn", "base"]),
        ("prune", vec!["nn"]),
    ]
    .into_iter()
    .map(|(m, d)| (m.into(), d.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        violations(&layers, &uses),
        [
            "`nn` uses `cli`, which is not on a line below it",
            "`nn` uses `data`, which is not on a line below it",
            "`prune` is not in the README's module graph",
        ]
    );
}
