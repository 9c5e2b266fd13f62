//! Embeds the feed catalog (`feeds/*.toml`) into the binary.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=feeds");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("/// (file name, TOML text) of every built-in catalog file.\npub static FILES: &[(&str, &str)] = &[\n");
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(
        std::path::Path::new(&out_dir).join("builtin_catalog.rs"),
        out,
    ) {
        panic!("cannot write builtin_catalog.rs: {e}");
    }
}
