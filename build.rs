//! Embeds every `lessons/*.toml` in the binary, and registers every
//! `src/scenarios/*.rs`, so a new lesson is one lesson file and at most one
//! scenario file, with no edit elsewhere.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a target/ copied from
    // another checkout would otherwise embed that checkout's lessons.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest).join("lessons");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("/// Every lesson file shipped in `lessons/`, by file name.\n");
    out.push_str("pub const EMBEDDED: &[(&str, &str)] = &[\n");
    for n in &names {
        let path = dir.join(n);
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    ({n:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lessons.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
    scenarios(Path::new(&manifest));
}

/// `OUT_DIR/scenarios.rs`: a module per `src/scenarios/*.rs` (but mod.rs) and the
/// table of their builders, by id. A scenario's id is its file name with `-` for
/// `_`, unless the file says otherwise with `pub const ID: &str = "…";`.
fn scenarios(manifest: &Path) {
    let dir = manifest.join("src").join("scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "rs"))
                .filter(|p| p.file_stem().is_some_and(|s| s != "mod"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut mods = String::new();
    let mut table = String::from("/// Every scenario, by the id lesson files name.\n");
    table.push_str("pub const SCENARIOS: &[(&str, Build)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let id = if text.contains("pub const ID: &str") {
            format!("{stem}::ID")
        } else {
            format!("{:?}", stem.replace('_', "-"))
        };
        let _ = writeln!(
            mods,
            "#[path = {:?}]\npub mod {stem};",
            path.display().to_string()
        );
        let _ = writeln!(table, "    ({id}, {stem}::build),");
    }
    table.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("scenarios.rs");
    std::fs::write(dest, mods + &table).expect("OUT_DIR is writable");
}
