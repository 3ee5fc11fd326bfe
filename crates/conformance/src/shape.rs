//! Spec 1: the connector's shape — a binary crate `connectors/<name>/` named after its folder, depending on
//! `fivetran-core` and on no other connector or HTTP crate, a short declarative `main.rs`, and a README with every
//! section the spec asks for.

use std::path::Path;

/// Crates whose use in a connector means HTTP, retry or paging code of its own.
const FORBIDDEN_DEPENDENCIES: [&str; 4] = ["reqwest", "hyper", "ureq", "oauth1-request"];

/// Words in `main.rs` that mean HTTP, retry, paging or state code of its own.
const FORBIDDEN_CODE: [&str; 4] = ["reqwest::", "hyper::", "sleep(", "Instant::now"];

/// The README sections (matched case-insensitively).
const README_TOPICS: [&str; 6] = [
    "secret",
    "table",
    "primary key",
    "incremental",
    "rate limit",
    "deploy",
];

/// The most lines `main.rs` should have.
const MAIN_LINES: usize = 150;

/// Checks the connector whose manifest folder is `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`).
pub fn shape(manifest_dir: &str) {
    let dir = Path::new(manifest_dir);
    let folder = dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a folder name");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{folder}: cannot read {name}: {e}"))
    };
    assert_eq!(
        dir.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str()),
        Some("connectors"),
        "{folder}: a connector lives in connectors/<name>/"
    );

    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains(&format!("name = \"{folder}\"")),
        "{folder}: the package must be named after its folder"
    );
    assert!(
        !manifest.contains("[[bin]]")
            || manifest.matches(&format!("name = \"{folder}\"")).count() >= 2,
        "{folder}: the binary must be named after the folder"
    );
    let dependencies = section(&manifest, "[dependencies]");
    assert!(
        dependencies.iter().any(|d| d == "fivetran-core"),
        "{folder}: must depend on fivetran-core"
    );
    let siblings: Vec<String> = std::fs::read_dir(dir.parent().expect("connectors/"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n != folder)
        .collect();
    for dependency in &dependencies {
        assert!(
            !siblings.contains(dependency),
            "{folder}: depends on another connector, `{dependency}`"
        );
        assert!(
            !FORBIDDEN_DEPENDENCIES.contains(&dependency.as_str()),
            "{folder}: depends on `{dependency}`; HTTP, retries and paging belong in fivetran-core"
        );
    }

    let main = read("src/main.rs");
    let lines = main.lines().count();
    assert!(
        lines < MAIN_LINES,
        "{folder}: src/main.rs has {lines} lines; a declaration stays under {MAIN_LINES}"
    );
    let code = without_comments(&main);
    for word in FORBIDDEN_CODE {
        assert!(
            !code.contains(word),
            "{folder}: src/main.rs contains `{word}`: HTTP, retry, paging and state code belong in fivetran-core"
        );
    }
    assert!(
        main.contains("fivetran_core::lambda::run("),
        "{folder}: src/main.rs must hand its declaration to fivetran_core::lambda::run"
    );

    let readme = read("README.md").to_lowercase();
    for topic in README_TOPICS {
        assert!(
            readme.contains(topic),
            "{folder}: README.md says nothing about {topic}s (spec 1.3)"
        );
    }
}

/// Rust source without its `//` comments (doc comments included), so prose may name anything.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The dependency names of a manifest section (`name = ...` or `name.workspace = true` lines).
fn section(manifest: &str, header: &str) -> Vec<String> {
    manifest
        .split(header)
        .nth(1)
        .map(|rest| {
            rest.lines()
                .skip(1)
                .take_while(|l| !l.trim_start().starts_with('['))
                .filter_map(|l| {
                    let name = l.split(['=', '.']).next()?.trim();
                    (!name.is_empty() && !name.starts_with('#')).then(|| name.to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_names_come_from_their_section() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nfivetran-core.workspace = true\nserde_json = { workspace = true }\n# a comment\n\n[dev-dependencies]\ntokio.workspace = true\n";
        assert_eq!(
            section(manifest, "[dependencies]"),
            ["fivetran-core", "serde_json"]
        );
        assert_eq!(section(manifest, "[dev-dependencies]"), ["tokio"]);
    }

    #[test]
    fn comments_may_name_anything() {
        let source =
            "/// returns `hasMore: true`\nlet a = 1; // sleep(1)\nlet b = \"http://x\"; // kept\n";
        let code = without_comments(source);
        assert!(
            !code.contains("hasMore") && !code.contains("sleep("),
            "{code}"
        );
        assert!(code.contains("http://x"), "{code}");
    }
}
