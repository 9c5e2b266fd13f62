//! Azure Linux / CBL-Mariner OVAL (`oval:com.microsoft.azurelinux:`,
//! `oval:com.microsoft.cbl-mariner:`): one `vulnerability` definition per
//! CVE and package, whose criteria are `rpminfo_test`s on that package.
//!
//! - **release**: no definition names it (the platform is just "Azure Linux"
//!   or "CBL-Mariner"), so it is read from the dist tag of the definition's
//!   own EVRs (`0:3.4.0-1.azl3` -> 3, `0:1.20.7-1.cm2` -> 2, `.cm1` -> 1),
//!   else from the file name (`azurelinux-3.0-oval.xml`,
//!   `cbl-mariner-2.0-oval.xml`). OSV.dev files every release, CBL-Mariner
//!   included, under one `Azure Linux:<major>` ecosystem (`Azure Linux:3`,
//!   `Azure Linux:2`).
//! - **ranges**: `evr less than V` is `fixed V`; `less than or equal V` (the
//!   vendor's "installed with version V or earlier", used when no fix
//!   exists) is `last_affected V`; `greater than` / `greater than or equal
//!   V` is `introduced V` (OSV has no exclusive lower bound: for `greater
//!   than` the one version V itself is over-matched, and the vendor writes
//!   such bounds without a release, e.g. `0:1.19.0.cm2`, which no build
//!   carries); `equals V` is `introduced V, last_affected V`. Several
//!   criteria on one package in one branch (`golang > 1.19.0` AND `golang <
//!   1.20.7-1`) make one range.
//! - **not affected**: `patchable` `Not Applicable` ("This CVE either no
//!   longer is or was never applicable") yields no record, whatever the
//!   test says. A package without a fix (`patchable false`) keeps the
//!   vendor's word in `ecosystem_specific.patchable`.
//! - **record**: id = the CVE of the reference, vendor severity from
//!   `metadata/severity`, published from `metadata/advisory_date`; without
//!   one, `modified` is the file's `generator/timestamp`.

use std::collections::BTreeMap;

use serde_json::json;

use super::criteria::{definition_branches, Leaf};
use super::error::DefinitionError;
use super::identity::standard_identity;
use super::record::{record, timestamp};
use super::xml::{Definition, Tables};
use super::Dialect;
use crate::model::{Advisory, Affected, Ecosystem, Event, Package, Range, RangeKind};

/// The ecosystem base OSV.dev uses for every Azure Linux / CBL-Mariner release.
pub const ECOSYSTEM_BASE: &str = "Azure Linux";

/// Whether a definition id or generator name is Azure Linux / CBL-Mariner's.
pub fn is_azure(namespace_or_generator: &str) -> bool {
    let s = namespace_or_generator.to_ascii_lowercase();
    s.starts_with("com.microsoft.azurelinux")
        || s.starts_with("com.microsoft.cbl-mariner")
        || s.contains("cbl-mariner")
        || s.contains("azure linux")
        || s.contains("azurelinux")
}

/// The release named by an rpm dist tag in `evr`: `.azl3` -> 3, `.cm2` -> 2.
pub fn dist_release(evr: &str) -> Option<u32> {
    for (tag, _) in evr.match_indices('.') {
        let rest = &evr[tag + 1..];
        let digits = rest.strip_prefix("azl").or_else(|| rest.strip_prefix("cm"));
        let Some(digits) = digits else { continue };
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        // The tag ends the string or a dot-separated part (`.cm2`, `.azl3.1`).
        let at_boundary = digits[end..].is_empty() || digits[end..].starts_with(['.', '_', '+']);
        if end > 0 && at_boundary {
            if let Ok(n) = digits[..end].parse() {
                return Some(n);
            }
        }
    }
    None
}

/// The release named by a file name such as `azurelinux-3.0-oval.xml` or
/// `cbl-mariner-2.0-oval.xml`: the first number after the product name.
pub fn file_release(source: &str) -> Option<u32> {
    let name = source
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(source)
        .to_ascii_lowercase();
    let at = ["azurelinux", "azure-linux", "azure_linux", "mariner"]
        .iter()
        .filter_map(|p| name.find(p).map(|i| i + p.len()))
        .min()?;
    let rest = &name[at..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    // Only separators between the product name and its release.
    if !rest[..start].chars().all(|c| matches!(c, '-' | '_' | '.')) {
        return None;
    }
    let digits = &rest[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// An `evr` comparison of a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

/// One criterion, resolved: a package and, if any, a version comparison.
#[derive(Debug, Clone)]
struct Bound {
    name: String,
    cmp: Option<(Op, String)>,
}

fn resolve(leaf: &Leaf<'_>, tables: &Tables) -> Result<Bound, DefinitionError> {
    let reference = || leaf.reference.to_string();
    if leaf.extend {
        return Err(DefinitionError::AzureExtend(reference()));
    }
    if leaf.negate {
        return Err(DefinitionError::Negated(reference()));
    }
    let test = tables.entry_by_id(&tables.tests, leaf.reference, "test")?;
    if &*test.kind != "rpminfo_test" {
        return Err(DefinitionError::TestType {
            kind: test.kind.to_string(),
            test: reference(),
        });
    }
    let object = test
        .object
        .ok_or_else(|| DefinitionError::NoObject(reference()))?;
    let object = tables.entry(&tables.objects, object, "object")?;
    let name = object
        .field("name")
        .filter(|f| f.var_ref.is_none() && !f.value.trim().is_empty())
        .ok_or_else(|| DefinitionError::NoPackage(reference()))?;
    let mut cmp = None;
    for state in test.states() {
        let state = tables.entry(&tables.states, *state, "state")?;
        for field in &state.fields {
            if &*field.name != "evr" {
                return Err(DefinitionError::StateField {
                    field: field.name.to_string(),
                    test: reference(),
                });
            }
            let op = match field.operation.as_deref().unwrap_or("equals") {
                "less than" => Op::Less,
                "less than or equal" => Op::LessOrEqual,
                "greater than" => Op::Greater,
                "greater than or equal" => Op::GreaterOrEqual,
                "equals" => Op::Equal,
                other => {
                    return Err(DefinitionError::EvrOperation {
                        operation: other.to_string(),
                        test: reference(),
                    })
                }
            };
            if cmp.is_some() {
                return Err(DefinitionError::SeveralStates(reference()));
            }
            cmp = Some((op, field.value.trim().to_string()));
        }
    }
    if test.none_satisfy || test.none_exist {
        return Err(DefinitionError::NegativeCheck(reference()));
    }
    Ok(Bound {
        name: name.value.trim().to_string(),
        cmp,
    })
}

/// The events of one package's bounds in one branch.
fn events(name: &str, bounds: &[&Bound]) -> Result<Vec<Event>, DefinitionError> {
    let mut lower: Option<String> = None;
    let mut upper: Option<Event> = None;
    let set = |slot: &mut bool| -> Result<(), DefinitionError> {
        if *slot {
            return Err(DefinitionError::SeveralBounds(name.to_string()));
        }
        *slot = true;
        Ok(())
    };
    let (mut has_lower, mut has_upper) = (false, false);
    for bound in bounds {
        let Some((op, v)) = &bound.cmp else { continue };
        match op {
            Op::Greater | Op::GreaterOrEqual => {
                set(&mut has_lower)?;
                lower = Some(v.clone());
            }
            Op::Less => {
                set(&mut has_upper)?;
                upper = Some(Event::Fixed(v.clone()));
            }
            Op::LessOrEqual => {
                set(&mut has_upper)?;
                upper = Some(Event::LastAffected(v.clone()));
            }
            Op::Equal => {
                set(&mut has_lower)?;
                set(&mut has_upper)?;
                lower = Some(v.clone());
                upper = Some(Event::LastAffected(v.clone()));
            }
        }
    }
    let mut out = vec![Event::Introduced(lower.unwrap_or_else(|| "0".into()))];
    out.extend(upper);
    Ok(out)
}

/// Normalizes one Azure Linux / CBL-Mariner definition; `source` is the
/// file's path or URL (the release's last resort).
pub fn build(
    def: &Definition,
    tables: &Tables,
    source: &str,
) -> Result<Option<Advisory>, DefinitionError> {
    let patchable = def.patchable.as_deref().map(str::trim);
    if patchable.is_some_and(|p| p.eq_ignore_ascii_case("not applicable")) {
        return Ok(None);
    }
    let mut leaves = Vec::new();
    let alternatives = definition_branches(def, &mut leaves)?;
    let bounds: Vec<Bound> = leaves
        .iter()
        .map(|leaf| resolve(leaf, tables))
        .collect::<Result<_, _>>()?;

    let mut releases: Vec<u32> = bounds
        .iter()
        .filter_map(|b| b.cmp.as_ref().and_then(|(_, v)| dist_release(v)))
        .collect();
    releases.sort_unstable();
    releases.dedup();
    let release = match releases.as_slice() {
        [one] => *one,
        [] => file_release(source).ok_or(DefinitionError::NoRelease)?,
        many => return Err(DefinitionError::SeveralReleases(many.to_vec())),
    };
    let ecosystem = Ecosystem::new(format!("{ECOSYSTEM_BASE}:{release}"))?;

    // package -> its distinct ranges (packages in name order).
    let mut ranges: BTreeMap<String, Vec<Vec<Event>>> = BTreeMap::new();
    for branch in alternatives.iter() {
        let mut per_package: BTreeMap<&str, Vec<&Bound>> = BTreeMap::new();
        for &i in branch {
            per_package
                .entry(bounds[i].name.as_str())
                .or_default()
                .push(&bounds[i]);
        }
        for (name, list) in per_package {
            let evs = events(name, &list)?;
            let slot = ranges.entry(name.to_string()).or_default();
            if !slot.contains(&evs) {
                slot.push(evs);
            }
        }
    }
    if ranges.is_empty() {
        return Ok(None);
    }

    let mut affected = Vec::new();
    for (name, list) in ranges {
        for evs in list {
            let fixed = evs.iter().any(|e| matches!(e, Event::Fixed(_)));
            let specific = match patchable {
                Some(p) if !fixed => Some(json!({ "patchable": p })),
                _ => None,
            };
            affected.push(Affected {
                ranges: vec![Range {
                    kind: RangeKind::Ecosystem,
                    repo: None,
                    events: evs,
                    database_specific: None,
                }],
                ecosystem_specific: specific,
                ..Affected::new(Package {
                    ecosystem: ecosystem.clone(),
                    name: name.clone(),
                    purl: None,
                })
            });
        }
    }
    let ident = standard_identity(def, None)?;
    let mut adv = record(Dialect::Azure, def, ident, affected);
    if def.issued.is_none() && def.updated.is_none() {
        // Many definitions carry no advisory_date: the file's generation
        // time is the best bound on when they were last written.
        if let Some(ts) = tables.generated.as_deref().and_then(timestamp) {
            adv.modified = ts;
        }
    }
    Ok(Some(adv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_tags() {
        assert_eq!(dist_release("0:3.4.0-1.azl3"), Some(3));
        assert_eq!(dist_release("0:1.20.7-1.cm2"), Some(2));
        assert_eq!(dist_release("0:1.19.0.cm2"), Some(2));
        assert_eq!(dist_release("1.0-3.cm1.1"), Some(1));
        assert_eq!(dist_release("2.0-1.cmake"), None);
        assert_eq!(dist_release("2.0-1.el8"), None);
        assert_eq!(dist_release("2.0-1.azl"), None);
    }

    #[test]
    fn file_names() {
        assert_eq!(file_release("/x/azurelinux-3.0-oval.xml"), Some(3));
        assert_eq!(file_release("azure-linux-3.0-oval.truncated.xml"), Some(3));
        assert_eq!(file_release("https://h/cbl-mariner-2.0-oval.xml"), Some(2));
        assert_eq!(file_release("mariner-1.0-oval.xml.gz"), Some(1));
        assert_eq!(file_release("mariner-oval-v2.xml"), None);
        assert_eq!(file_release("rhel-8.xml"), None);
    }

    use crate::formats::oval::{parse_bytes, Dialect};
    use crate::formats::{RecordError, SourceContext};

    /// Written from the OVAL 5 schema in the shape of the vendor's files.
    const FIXTURE: &str = r#"<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
 <generator><oval:product_name>Azure Linux OVAL Definition Generator</oval:product_name><oval:timestamp>2024-05-08T12:04:07Z</oval:timestamp></generator>
 <definitions>
  <definition class="vulnerability" id="oval:com.microsoft.azurelinux:def:1" version="1">
   <metadata><title>CVE-2024-0001 affecting package zlib</title>
    <reference ref_id="CVE-2024-0001" ref_url="https://example.test/CVE-2024-0001" source="CVE"/>
    <patchable>true</patchable><advisory_date>2024-04-01T00:00:00Z</advisory_date><severity>Low</severity></metadata>
   <criteria operator="OR">
    <criteria operator="AND">
     <criterion comment="zlib at least 1.2" test_ref="oval:com.microsoft.azurelinux:tst:1"/>
     <criterion comment="zlib earlier than 1.3-2" test_ref="oval:com.microsoft.azurelinux:tst:2"/>
    </criteria>
    <criterion comment="zlib-devel is exactly 1.0-1" test_ref="oval:com.microsoft.azurelinux:tst:3"/>
   </criteria>
  </definition>
  <definition class="vulnerability" id="oval:com.microsoft.azurelinux:def:2" version="1">
   <metadata><title>CVE-2024-0002 affecting package zlib</title>
    <reference ref_id="CVE-2024-0002" ref_url="https://example.test/CVE-2024-0002" source="CVE"/>
    <patchable>Not Applicable</patchable><severity>High</severity></metadata>
   <criteria operator="AND"><criterion comment="zlib" test_ref="oval:com.microsoft.azurelinux:tst:2"/></criteria>
  </definition>
  <definition class="vulnerability" id="oval:com.microsoft.azurelinux:def:3" version="1">
   <metadata><title>CVE-2024-0003 affecting package zlib</title>
    <reference ref_id="CVE-2024-0003" ref_url="https://example.test/CVE-2024-0003" source="CVE"/><severity>High</severity></metadata>
   <criteria operator="AND"><criterion comment="zlib odd" test_ref="oval:com.microsoft.azurelinux:tst:4"/></criteria>
  </definition>
 </definitions>
 <tests>
  <linux-def:rpminfo_test check="at least one" id="oval:com.microsoft.azurelinux:tst:1" version="1">
   <linux-def:object object_ref="oval:com.microsoft.azurelinux:obj:1"/><linux-def:state state_ref="oval:com.microsoft.azurelinux:ste:1"/></linux-def:rpminfo_test>
  <linux-def:rpminfo_test check="at least one" id="oval:com.microsoft.azurelinux:tst:2" version="1">
   <linux-def:object object_ref="oval:com.microsoft.azurelinux:obj:1"/><linux-def:state state_ref="oval:com.microsoft.azurelinux:ste:2"/></linux-def:rpminfo_test>
  <linux-def:rpminfo_test check="at least one" id="oval:com.microsoft.azurelinux:tst:3" version="1">
   <linux-def:object object_ref="oval:com.microsoft.azurelinux:obj:2"/><linux-def:state state_ref="oval:com.microsoft.azurelinux:ste:3"/></linux-def:rpminfo_test>
  <linux-def:rpminfo_test check="at least one" id="oval:com.microsoft.azurelinux:tst:4" version="1">
   <linux-def:object object_ref="oval:com.microsoft.azurelinux:obj:1"/><linux-def:state state_ref="oval:com.microsoft.azurelinux:ste:4"/></linux-def:rpminfo_test>
 </tests>
 <objects>
  <linux-def:rpminfo_object id="oval:com.microsoft.azurelinux:obj:1" version="1"><linux-def:name>zlib</linux-def:name></linux-def:rpminfo_object>
  <linux-def:rpminfo_object id="oval:com.microsoft.azurelinux:obj:2" version="1"><linux-def:name>zlib-devel</linux-def:name></linux-def:rpminfo_object>
 </objects>
 <states>
  <linux-def:rpminfo_state id="oval:com.microsoft.azurelinux:ste:1" version="1"><linux-def:evr datatype="evr_string" operation="greater than or equal">0:1.2.azl3</linux-def:evr></linux-def:rpminfo_state>
  <linux-def:rpminfo_state id="oval:com.microsoft.azurelinux:ste:2" version="1"><linux-def:evr datatype="evr_string" operation="less than">0:1.3-2.azl3</linux-def:evr></linux-def:rpminfo_state>
  <linux-def:rpminfo_state id="oval:com.microsoft.azurelinux:ste:3" version="1"><linux-def:evr datatype="evr_string" operation="equals">0:1.0-1.azl3</linux-def:evr></linux-def:rpminfo_state>
  <linux-def:rpminfo_state id="oval:com.microsoft.azurelinux:ste:4" version="1"><linux-def:evr datatype="evr_string" operation="pattern match">^0:1\.</linux-def:evr></linux-def:rpminfo_state>
 </states>
</oval_definitions>"#;

    fn run(xml: &str) -> (Vec<Advisory>, Vec<RecordError>) {
        let ctx = SourceContext::for_bytes(
            "azure-unit",
            "unit.xml",
            "2024-01-01T00:00:00Z".parse().expect("timestamp"),
            b"",
        );
        let mut ok = Vec::new();
        let mut errs = Vec::new();
        let dialect = parse_bytes(xml.as_bytes(), &ctx, &mut |i| match i {
            Ok(a) => ok.push(a),
            Err(e) => errs.push(e),
        })
        .expect("parse");
        assert_eq!(dialect, Dialect::Azure);
        (ok, errs)
    }

    #[test]
    fn bounds_not_applicable_and_unsupported_operations() {
        let (records, errors) = run(FIXTURE);
        // def:2 is "Not Applicable": no record; def:3 has an operation no
        // range can express: reported, not guessed.
        assert_eq!(records.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].record, "oval:com.microsoft.azurelinux:def:3");
        assert!(
            errors[0].reason.contains("pattern match"),
            "{}",
            errors[0].reason
        );
        let r = &records[0];
        assert_eq!(r.id.as_str(), "CVE-2024-0001");
        assert_eq!(
            r.published.as_ref().map(|t| t.as_str()),
            Some("2024-04-01T00:00:00Z")
        );
        let by_name = |name: &str| {
            r.affected
                .iter()
                .find(|a| a.package.as_ref().is_some_and(|p| p.name == name))
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let zlib = by_name("zlib");
        assert_eq!(
            zlib.package.as_ref().map(|p| p.ecosystem.as_str()),
            Some("Azure Linux:3")
        );
        assert_eq!(
            zlib.ranges[0].events,
            [
                Event::Introduced("0:1.2.azl3".into()),
                Event::Fixed("0:1.3-2.azl3".into())
            ]
        );
        assert_eq!(zlib.ecosystem_specific, None);
        let devel = by_name("zlib-devel");
        assert_eq!(
            devel.ranges[0].events,
            [
                Event::Introduced("0:1.0-1.azl3".into()),
                Event::LastAffected("0:1.0-1.azl3".into())
            ]
        );
        assert_eq!(
            devel.ecosystem_specific,
            Some(serde_json::json!({"patchable": "true"}))
        );
    }

    #[test]
    fn detection_names() {
        assert!(is_azure("com.microsoft.azurelinux:def:1"));
        assert!(is_azure("com.microsoft.cbl-mariner:def:1"));
        assert!(is_azure("CBL-Mariner OVAL Definition Generator"));
        assert!(is_azure("Azure Linux OVAL Definition Generator"));
        assert!(!is_azure("com.microsoft.other"));
    }
}
