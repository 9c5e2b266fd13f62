//! Ubuntu OVAL: the classic dpkg form (`dpkginfo_test` on a constant
//! variable listing binaries) and the OCI form (`textfilecontent54_test` on a
//! `manifest` file with one line pattern per binary), in the cve, usn and pkg
//! flavours. Entries are named by source package with the binaries in
//! `ecosystem_specific.binaries`; the release comes from the definition id
//! (`oval:com.ubuntu.jammy:` -> `Ubuntu:22.04:LTS`, Pro/FIPS streams from the
//! title).

use super::identity::{cve_ids, standard_identity, Identity, IdentityError};
use super::xml::{Definition, Node};
use crate::model::is_cve_id;

/// Codename -> (version, LTS).
const RELEASES: &[(&str, &str, bool)] = &[
    ("trusty", "14.04", true),
    ("xenial", "16.04", true),
    ("bionic", "18.04", true),
    ("cosmic", "18.10", false),
    ("disco", "19.04", false),
    ("eoan", "19.10", false),
    ("focal", "20.04", true),
    ("groovy", "20.10", false),
    ("hirsute", "21.04", false),
    ("impish", "21.10", false),
    ("jammy", "22.04", true),
    ("kinetic", "22.10", false),
    ("lunar", "23.04", false),
    ("mantic", "23.10", false),
    ("noble", "24.04", true),
    ("oracular", "24.10", false),
    ("plucky", "25.04", false),
    ("questing", "25.10", false),
];

/// The ecosystem of a codename in a stream (`""`, `Pro`, `Pro:FIPS`, `Pro:FIPS-updates`).
pub fn release_ecosystem(codename: &str, stream: &str) -> Option<String> {
    let (_, version, lts) = RELEASES.iter().find(|(c, _, _)| *c == codename)?;
    let mut eco = String::from("Ubuntu:");
    if !stream.is_empty() {
        eco.push_str(stream);
        eco.push(':');
    }
    eco.push_str(version);
    if *lts {
        eco.push_str(":LTS");
    }
    Some(eco)
}

/// The release of a definition from its id and title.
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let codename = def
        .id
        .strip_prefix("oval:com.ubuntu.")
        .and_then(|r| r.split(':').next())
        .unwrap_or("");
    let title = &def.title;
    let stream = if title.contains("FIPS-updates") {
        "Pro:FIPS-updates"
    } else if title.contains("FIPS") {
        "Pro:FIPS"
    } else if title.contains("Ubuntu Pro") {
        "Pro"
    } else {
        ""
    };
    release_ecosystem(codename, stream).into_iter().collect()
}

/// CVE definitions get the CVE id, USN definitions the USN id.
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    let usn = def
        .title
        .split_whitespace()
        .next()
        .filter(|t| t.starts_with("USN-") || t.starts_with("LSN-"))
        .map(str::to_string);
    if usn.is_none() && cve_ids(def).is_empty() {
        return Err(IdentityError::NoCveOrUsn(def.title.clone()));
    }
    standard_identity(def, usn)
}

fn collect_by_cve(node: &Node, out: &mut Vec<(String, Vec<Node>)>) {
    match node {
        Node::Criteria { children, .. } => {
            for c in children {
                collect_by_cve(c, out);
            }
        }
        Node::Criterion { comment, .. } => {
            let cve = comment
                .strip_prefix('(')
                .and_then(|r| r.split(')').next())
                .filter(|c| is_cve_id(c));
            if let Some(cve) = cve {
                match out.iter_mut().find(|(c, _)| c == cve) {
                    Some((_, nodes)) => nodes.push(node.clone()),
                    None => out.push((cve.to_string(), vec![node.clone()])),
                }
            }
        }
        Node::Extend { .. } => {}
    }
}

/// The pkg flavour has one definition per source package whose criteria
/// are each tagged `(CVE-...)`: split it into one definition per CVE.
/// Returns `None` for definitions of the other flavours.
pub fn split_package_definition(def: &Definition) -> Option<Vec<Definition>> {
    if !cve_ids(def).is_empty() || def.title.starts_with("USN-") {
        return None;
    }
    let mut groups = Vec::new();
    collect_by_cve(def.criteria.as_ref()?, &mut groups);
    if groups.is_empty() {
        return None;
    }
    Some(
        groups
            .into_iter()
            .map(|(cve, nodes)| Definition {
                title: cve,
                criteria: Some(Node::Criteria {
                    operator: "OR".into(),
                    negate: false,
                    children: nodes,
                }),
                cves: Vec::new(),
                ..def.clone()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(
            release_ecosystem("jammy", "").as_deref(),
            Some("Ubuntu:22.04:LTS")
        );
        assert_eq!(
            release_ecosystem("jammy", "Pro:FIPS-updates").as_deref(),
            Some("Ubuntu:Pro:FIPS-updates:22.04:LTS")
        );
        assert_eq!(
            release_ecosystem("mantic", "").as_deref(),
            Some("Ubuntu:23.10")
        );
        assert_eq!(release_ecosystem("warty", ""), None);
    }
}
