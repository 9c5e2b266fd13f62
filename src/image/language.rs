//! Language packages found in an image: Python `*.dist-info/METADATA`
//! (and `*.egg-info/PKG-INFO`), `node_modules/**/package.json`,
//! `Cargo.lock`, `composer.lock` and `Gemfile.lock`, each read into
//! (ecosystem, name, version) with its purl type. Pure parsers.

/// One language package and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguagePackage {
    /// OSV ecosystem (`PyPI`, `npm`, `crates.io`, `Packagist`, `RubyGems`).
    pub ecosystem: &'static str,
    /// purl type (`pypi`, `npm`, `cargo`, `composer`, `gem`).
    pub purl_type: &'static str,
    /// Package name as its ecosystem spells it.
    pub name: String,
    /// Version.
    pub version: String,
}

/// Whether the scan reads `path` as a language manifest.
pub fn is_manifest(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    if matches!(file, "Cargo.lock" | "composer.lock" | "Gemfile.lock") {
        return true;
    }
    if path.ends_with(".dist-info/METADATA") || path.ends_with(".egg-info/PKG-INFO") {
        return true;
    }
    // `node_modules/NAME/package.json` or `node_modules/@SCOPE/NAME/package.json`.
    if let Some((_, rest)) = path.rsplit_once("node_modules/") {
        let parts: Vec<&str> = rest.split('/').collect();
        return match parts.as_slice() {
            [_, "package.json"] => true,
            [scope, _, "package.json"] => scope.starts_with('@'),
            _ => false,
        };
    }
    false
}

fn package(
    ecosystem: &'static str,
    purl_type: &'static str,
    name: &str,
    version: &str,
) -> LanguagePackage {
    LanguagePackage {
        ecosystem,
        purl_type,
        name: name.to_string(),
        version: version.to_string(),
    }
}

/// Python core metadata: the `Name:` and `Version:` headers.
fn python(text: &str) -> Vec<LanguagePackage> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break; // the description body follows the headers
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some(v.trim());
        }
    }
    match (name, version) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => vec![package("PyPI", "pypi", n, v)],
        _ => Vec::new(),
    }
}

fn npm(text: &str) -> Vec<LanguagePackage> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    match (
        value.get("name").and_then(|v| v.as_str()),
        value.get("version").and_then(|v| v.as_str()),
    ) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => vec![package("npm", "npm", n, v)],
        _ => Vec::new(),
    }
}

/// `Cargo.lock`: packages from a registry (path and git dependencies are
/// the project's own code or unversioned).
fn cargo(text: &str) -> Vec<LanguagePackage> {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        name: String,
        version: String,
        #[serde(default)]
        source: Option<String>,
    }
    let Ok(lock) = toml::from_str::<Lock>(text) else {
        return Vec::new();
    };
    lock.package
        .into_iter()
        .filter(|p| {
            p.source
                .as_deref()
                .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
        })
        .map(|p| package("crates.io", "cargo", &p.name, &p.version))
        .collect()
}

fn composer(text: &str) -> Vec<LanguagePackage> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    ["packages", "packages-dev"]
        .iter()
        .filter_map(|k| value.get(*k).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let version = p.get("version")?.as_str()?;
            Some(package(
                "Packagist",
                "composer",
                name,
                version.trim_start_matches('v'),
            ))
        })
        .collect()
}

/// `Gemfile.lock`: the `specs:` of `GEM` sections, `    name (version)`.
fn gems(text: &str) -> Vec<LanguagePackage> {
    let mut out = Vec::new();
    let mut in_gem = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_gem = line.trim() == "GEM";
            continue;
        }
        // Four spaces: a spec; six: one of its dependencies.
        let Some(spec) = line
            .strip_prefix("    ")
            .filter(|s| in_gem && !s.starts_with(' '))
        else {
            continue;
        };
        if let Some((name, rest)) = spec.split_once(" (") {
            let version = rest.trim_end_matches(')');
            // A platform gem: `nokogiri (1.15.4-x86_64-linux)`.
            let version = version.split_once('-').map_or(version, |(v, _)| v);
            out.push(package("RubyGems", "gem", name.trim(), version));
        }
    }
    out
}

/// The packages of the manifest at `path` (empty when it names none or is unreadable).
pub fn read(path: &str, data: &[u8]) -> Vec<LanguagePackage> {
    let text = String::from_utf8_lossy(data);
    let file = path.rsplit('/').next().unwrap_or(path);
    match file {
        "Cargo.lock" => cargo(&text),
        "composer.lock" => composer(&text),
        "Gemfile.lock" => gems(&text),
        "package.json" => npm(&text),
        "METADATA" | "PKG-INFO" => python(&text),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_recognized_by_path() {
        for yes in [
            "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",
            "app/node_modules/lodash/package.json",
            "app/node_modules/a/node_modules/@babel/core/package.json",
            "srv/Cargo.lock",
            "var/www/composer.lock",
            "app/Gemfile.lock",
        ] {
            assert!(is_manifest(yes), "{yes}");
        }
        for no in [
            "app/node_modules/lodash/lib/package.json",
            "app/package.json",
            "etc/METADATA",
        ] {
            assert!(!is_manifest(no), "{no}");
        }
    }

    #[test]
    fn each_manifest_format() {
        let names = |v: Vec<LanguagePackage>| -> Vec<(String, String, &'static str)> {
            v.into_iter()
                .map(|p| (p.name, p.version, p.ecosystem))
                .collect()
        };
        let metadata = "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nSummary: YAML\n\nName: not-a-header\n";
        assert_eq!(
            names(read("x.dist-info/METADATA", metadata.as_bytes())),
            vec![("PyYAML".into(), "6.0".into(), "PyPI")]
        );
        let pkg = r#"{"name": "@babel/core", "version": "7.22.5", "dependencies": {}}"#;
        assert_eq!(
            names(read(
                "node_modules/@babel/core/package.json",
                pkg.as_bytes()
            )),
            vec![("@babel/core".into(), "7.22.5".into(), "npm")]
        );
        let lock = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"openssl\"\nversion = \"0.10.55\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        assert_eq!(
            names(read("Cargo.lock", lock.as_bytes())),
            vec![("openssl".into(), "0.10.55".into(), "crates.io")]
        );
        let composer = r#"{"packages": [{"name": "guzzlehttp/psr7", "version": "2.4.3"}], "packages-dev": [{"name": "phpunit/phpunit", "version": "v9.6.0"}]}"#;
        assert_eq!(
            names(read("composer.lock", composer.as_bytes())),
            vec![
                ("guzzlehttp/psr7".into(), "2.4.3".into(), "Packagist"),
                ("phpunit/phpunit".into(), "9.6.0".into(), "Packagist")
            ]
        );
        let gemfile = "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.1)\n\nPLATFORMS\n  x86_64-linux\n\nBUNDLED WITH\n   2.4.10\n";
        assert_eq!(
            names(read("Gemfile.lock", gemfile.as_bytes())),
            vec![
                ("nokogiri".into(), "1.15.4".into(), "RubyGems"),
                ("racc".into(), "1.7.1".into(), "RubyGems")
            ]
        );
        assert!(read("Cargo.lock", b"not toml [[").is_empty());
    }
}
