//! Local file names for feeds and their files: the cache directory, the
//! offline mirror and the sync share them, so a file fetched by one is found
//! by the others.

use sha2::{Digest, Sha256};

/// A file-system-safe version of a feed name.
pub fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The local file name for `url`: its last path segment (made safe) and a
/// short hash of the whole URL, so two feeds' `all.zip` never collide.
pub fn cache_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("file");
    let hash = hex::encode(&Sha256::digest(url.as_bytes())[..6]);
    let base = safe_name(last);
    let base = if base.is_empty() || base.starts_with('.') {
        format!("file{base}")
    } else {
        base
    };
    format!("{hash}-{base}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_safe_and_distinct() {
        let a = cache_file_name("https://example.org/PyPI/all.zip");
        let b = cache_file_name("https://example.org/npm/all.zip");
        assert_ne!(a, b);
        assert!(a.ends_with("-all.zip"), "{a}");
        let c = cache_file_name("https://example.org/data/json");
        assert!(c.ends_with("-json"), "{c}");
        assert!(!cache_file_name("https://example.org/../x?y=/z").contains('/'));
        assert_eq!(safe_name("osv:PyPI"), "osv_PyPI");
    }
}
