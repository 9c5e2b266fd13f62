//! From one OVAL definition to unified records: criteria expansion, test
//! resolution through the pass-1 tables, affected entries, record fields.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::criteria::{definition_branches, Leaf};
use super::error::DefinitionError;
use super::identity::{standard_identity, Identity, IdentityError, RawPlatform};
use super::record::record;
use super::xml::{Dangling, Definition, Field, Item, Tables, Test};
use super::{alma, azure, debian, oracle, photon, redhat, suse, ubuntu, Dialect};
use crate::formats::{ParseItem, RecordError, SourceContext};
use crate::model::{
    extend_unique, Advisory, Affected, Ecosystem, Event, FixStatus, Package, Range, RangeKind,
    StatusStatement,
};

/// What a package criterion says about the package. Text is borrowed from
/// the pass-1 tables, so resolving a leaf allocates nothing per name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond<'t> {
    /// Affected below this version (the fixed version).
    Below(&'t str),
    /// Affected whatever the version (no fix).
    Installed,
    /// Not installed, or stated not affected: never an affected entry.
    Absent,
}

/// A package criterion, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkgFact<'t> {
    /// The package names (binary names where the vendor lists them).
    pub names: Vec<&'t str>,
    /// The source package, where known (Ubuntu).
    pub source: Option<&'t str>,
    /// The condition.
    pub cond: Cond<'t>,
    /// The architecture pattern of the state, if any.
    pub arch: Option<&'t str>,
}

/// What one criteria leaf means once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact<'t> {
    /// No constraint that matters for package matching (signing key, uname,
    /// "must be installed" guard, applicability check).
    True,
    /// Can never hold for an affected system: the branch is dropped.
    False,
    /// The system is one of these ecosystems.
    Platform(Vec<String>),
    /// A package condition.
    Pkg(PkgFact<'t>),
    /// A module stream (`maven:3.5`) is enabled.
    Module(String),
    /// The package is (true) or is not (false) a ksplice build.
    Ksplice(bool),
    /// The machine architecture.
    Arch(&'t str),
}

fn platform(dialect: Dialect, raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    match dialect {
        Dialect::Suse => suse::platform(raw),
        Dialect::RedHat => redhat::platform(raw),
        Dialect::Ubuntu => None,
        Dialect::Debian => debian::platform(raw),
        Dialect::Oracle => oracle::platform(raw),
        Dialect::Alma => alma::platform(raw),
        Dialect::Photon => photon::platform(raw),
        Dialect::Azure => None,
    }
}

fn is_zero_version(v: &str) -> bool {
    matches!(v.trim(), "0" | "0:0" | "0:0-0" | "0-0")
}

/// Values of a field: its text, or the values of the constant variable it refers to.
fn field_values<'t>(field: &'t Field, tables: &'t Tables) -> Result<Vec<&'t str>, DefinitionError> {
    match field.var_ref {
        Some(var) => {
            let v = tables.entry(&tables.variables, var, "variable")?;
            if &*v.kind != "constant_variable" {
                return Err(DefinitionError::NotConstant {
                    variable: tables.id(var),
                    kind: v.kind.to_string(),
                });
            }
            Ok(v.values.iter().map(|s| &**s).collect())
        }
        None => Ok(vec![&*field.value]),
    }
}

/// The state fields of a test, all states merged: borrowed from the table
/// when the test has at most one state (nearly every test), so resolving a
/// leaf allocates nothing for them; gathered when it has several.
enum StateFields<'t> {
    One(&'t [Field]),
    Many(Vec<&'t Field>),
}

impl<'t> StateFields<'t> {
    fn iter(&self) -> impl Iterator<Item = &'t Field> + '_ {
        let (one, many): (&'t [Field], &[&'t Field]) = match self {
            StateFields::One(fields) => (fields, &[]),
            StateFields::Many(fields) => (&[], fields),
        };
        one.iter().chain(many.iter().copied())
    }

    fn is_empty(&self) -> bool {
        match self {
            StateFields::One(fields) => fields.is_empty(),
            StateFields::Many(fields) => fields.is_empty(),
        }
    }
}

/// The state fields of a test, all states merged.
fn state_fields<'t>(test: &Test, tables: &'t Tables) -> Result<StateFields<'t>, Dangling> {
    match test.states() {
        [] => Ok(StateFields::One(&[])),
        [one] => {
            let state: &Item = tables.entry(&tables.states, *one, "state")?;
            Ok(StateFields::One(&state.fields))
        }
        several => {
            let mut out = Vec::new();
            for s in several {
                let state: &Item = tables.entry(&tables.states, *s, "state")?;
                out.extend(state.fields.iter());
            }
            Ok(StateFields::Many(out))
        }
    }
}

fn find<'f>(fields: &StateFields<'f>, name: &str) -> Option<&'f Field> {
    fields.iter().find(|f| &*f.name == name)
}

fn op(field: &Field) -> &str {
    field.operation.as_deref().unwrap_or("equals")
}

/// The condition a version field states (`evr less than X` and friends).
fn version_cond(field: &Field) -> Result<Cond<'_>, DefinitionError> {
    let value = field.value.trim();
    // Some generators prefix an epoch to a version that already has one
    // (`0:1:4.14-1.1+deb7u1`); two epochs are never valid, keep the inner one.
    let value = match value.strip_prefix("0:") {
        Some(rest) if rest.split('-').next().is_some_and(|v| v.contains(':')) => rest,
        _ => value,
    };
    match op(field) {
        "less than" if is_zero_version(value) => Ok(Cond::Absent),
        "less than" => Ok(Cond::Below(value)),
        "equals" if is_zero_version(value) => Ok(Cond::Absent),
        other => Err(DefinitionError::Operation {
            field: field.name.to_string(),
            operation: other.to_string(),
            value: value.to_string(),
        }),
    }
}

/// Extracts a stream from a module state regex such as
/// `\nstream\s*=\s*3\.5\b[\w\W]*\nstate...`.
fn module_stream(pattern: &str) -> Option<String> {
    let at = pattern.find("stream")?;
    let rest = &pattern[at + "stream".len()..];
    let eq = rest.find('=')?;
    let mut rest = &rest[eq + 1..];
    while let Some(r) = rest.strip_prefix("\\s*") {
        rest = r;
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('.') | Some('-') | Some('+') | Some('_') => {
                    out.push(chars.next().unwrap_or('.'));
                }
                _ => break,
            },
            c if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') => out.push(c),
            _ => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A binary name from an OCI manifest regex `^name(?::\w+|)\s+(.*)$`.
fn manifest_name(pattern: &str) -> Option<&str> {
    let p = pattern.strip_prefix('^').unwrap_or(pattern);
    let end = p.find(['(', '\\', '$', ' ']).unwrap_or(p.len());
    let name = &p[..end];
    (!name.is_empty()).then_some(name)
}

/// The quoted name in `The 'openssh' package binaries`.
fn quoted(comment: &str) -> Option<&str> {
    let start = comment.find('\'')? + 1;
    let len = comment[start..].find('\'')?;
    Some(&comment[start..start + len])
}

/// Resolves one leaf through the tables.
pub fn resolve<'t>(
    dialect: Dialect,
    leaf: &Leaf<'_>,
    tables: &'t Tables,
) -> Result<Fact<'t>, DefinitionError> {
    let fact = if leaf.extend {
        // Extended definitions are only used as applicability checks
        // ("Ubuntu 22.04 LTS is installed"); the platform comes from the id.
        if leaf.comment.contains("is installed") {
            Fact::True
        } else {
            return Err(DefinitionError::Extend(leaf.reference.to_string()));
        }
    } else {
        let test = tables.entry_by_id(&tables.tests, leaf.reference, "test")?;
        resolve_test(dialect, leaf, test, tables)?
    };
    if !leaf.negate {
        return Ok(fact);
    }
    Ok(match fact {
        Fact::Pkg(mut p) => {
            p.cond = match p.cond {
                Cond::Installed => Cond::Absent,
                Cond::Absent => Cond::Installed,
                Cond::Below(v) => {
                    return Err(DefinitionError::NegatedVersion(v.to_string()));
                }
            };
            Fact::Pkg(p)
        }
        Fact::Ksplice(k) => Fact::Ksplice(!k),
        Fact::Arch(_) => Fact::True,
        Fact::True | Fact::Platform(_) | Fact::Module(_) => Fact::False,
        Fact::False => Fact::True,
    })
}

fn resolve_test<'t>(
    dialect: Dialect,
    leaf: &Leaf<'_>,
    test: &'t Test,
    tables: &'t Tables,
) -> Result<Fact<'t>, DefinitionError> {
    let kind = &*test.kind;
    let reference = || leaf.reference.to_string();
    let none_satisfy = test.none_satisfy;
    let none_exist = test.none_exist;
    let object = || -> Result<&'t Item, DefinitionError> {
        let id = test
            .object
            .ok_or_else(|| DefinitionError::NoObject(reference()))?;
        Ok(tables.entry(&tables.objects, id, "object")?)
    };
    match kind {
        "rpminfo_test" | "dpkginfo_test" => {
            let obj = object()?;
            let name_field = obj
                .field("name")
                .ok_or_else(|| DefinitionError::NoName(reference()))?;
            let fields = state_fields(test, tables)?;
            if none_satisfy {
                // Guards such as "Red Hat Enterprise Linux must be installed".
                return Ok(Fact::True);
            }
            if find(&fields, "evr").is_none()
                && find(&fields, "version").is_none()
                && find(&fields, "signature_keyid").is_some()
            {
                // "X is signed with the vendor key": origin, not identity.
                return Ok(Fact::True);
            }
            let names = field_values(name_field, tables)?;
            let arch = find(&fields, "arch").map(|f| &*f.value);
            if let Some(evr) = find(&fields, "evr") {
                let first = names.first().copied().unwrap_or("");
                let value = evr.value.trim();
                if op(evr) != "less than" && !is_zero_version(value) {
                    if first.ends_with("-release") {
                        // "openSUSE-release is >=20210101": a platform check.
                        let raw = RawPlatform {
                            package: first,
                            version: value,
                            comment: leaf.comment,
                        };
                        return platform(dialect, &raw)
                            .map(Fact::Platform)
                            .ok_or_else(|| DefinitionError::Platform(reference()));
                    }
                    if op(evr) == "equals" {
                        // "kernel version equals V" guards live patches
                        // (kpatch-patch-*), which carry the range themselves.
                        return Ok(Fact::True);
                    }
                }
                return Ok(Fact::Pkg(PkgFact {
                    names,
                    source: quoted(obj_comment(obj)),
                    cond: version_cond(evr)?,
                    arch,
                }));
            }
            if let Some(version) = find(&fields, "version") {
                if op(version) == "equals" && is_zero_version(&version.value) {
                    // SUSE "X is not affected": trust the state, whatever the comment says.
                    return Ok(Fact::Pkg(PkgFact {
                        names,
                        source: None,
                        cond: Cond::Absent,
                        arch,
                    }));
                }
                let raw = RawPlatform {
                    package: names.first().copied().unwrap_or(""),
                    version: &version.value,
                    comment: leaf.comment,
                };
                return platform(dialect, &raw).map(Fact::Platform).ok_or_else(|| {
                    DefinitionError::VersionTest {
                        test: reference(),
                        comment: leaf.comment.to_string(),
                    }
                });
            }
            if find(&fields, "signature_keyid").is_some() {
                return Ok(Fact::True);
            }
            if let Some(release) = find(&fields, "release") {
                if release.value.contains("ksplice") {
                    return Ok(Fact::Ksplice(true));
                }
                return Err(DefinitionError::ReleaseState(release.value.to_string()));
            }
            if let Some(arch) = arch {
                return Ok(Fact::Arch(arch));
            }
            if !fields.is_empty() {
                return Err(DefinitionError::StateFields {
                    test: reference(),
                    fields: fields
                        .iter()
                        .map(|f| f.name.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                });
            }
            Ok(Fact::Pkg(PkgFact {
                names,
                source: None,
                cond: if none_exist {
                    Cond::Absent
                } else {
                    Cond::Installed
                },
                arch: None,
            }))
        }
        "rpmverifyfile_test" => {
            if none_satisfy {
                return Ok(Fact::True);
            }
            let fields = state_fields(test, tables)?;
            let package = find(&fields, "name").map(|f| f.value.to_string());
            match find(&fields, "version") {
                Some(v) => {
                    let package = package.unwrap_or_default();
                    let raw = RawPlatform {
                        package: package.trim_start_matches('^'),
                        version: &v.value,
                        comment: leaf.comment,
                    };
                    platform(dialect, &raw).map(Fact::Platform).ok_or_else(|| {
                        DefinitionError::PlatformComment {
                            test: reference(),
                            comment: leaf.comment.to_string(),
                        }
                    })
                }
                None => Ok(Fact::True),
            }
        }
        "textfilecontent54_test" | "textfilecontent_test" => {
            let obj = object()?;
            let path = match (
                obj.field("filepath"),
                obj.field("path"),
                obj.field("filename"),
            ) {
                (Some(fp), _, _) => fp.value.to_string(),
                (None, Some(p), Some(f)) => format!("{}/{}", p.value, f.value),
                (None, None, Some(f)) => f.value.to_string(),
                _ => String::new(),
            };
            let fields = state_fields(test, tables)?;
            if let Some(module) = path
                .strip_prefix("/etc/dnf/modules.d/")
                .and_then(|m| m.strip_suffix(".module"))
            {
                let text = find(&fields, "text")
                    .ok_or_else(|| DefinitionError::ModuleText(reference()))?;
                let stream =
                    module_stream(&text.value).ok_or_else(|| DefinitionError::ModuleStream {
                        test: reference(),
                        text: text.value.to_string(),
                    })?;
                return Ok(Fact::Module(format!("{module}:{stream}")));
            }
            if path == "/etc/debian_version" {
                let v = find(&fields, "subexpression")
                    .ok_or_else(|| DefinitionError::ReleaseNoState(reference()))?;
                let raw = RawPlatform {
                    package: "/etc/debian_version",
                    version: &v.value,
                    comment: leaf.comment,
                };
                return platform(dialect, &raw)
                    .map(Fact::Platform)
                    .ok_or_else(|| DefinitionError::Release(reference()));
            }
            if path.ends_with("manifest") {
                // Ubuntu OCI: binaries listed as manifest line patterns.
                let pattern = obj
                    .field("pattern")
                    .ok_or_else(|| DefinitionError::ManifestPattern(reference()))?;
                let names: Vec<&str> = field_values(pattern, tables)?
                    .into_iter()
                    .filter_map(manifest_name)
                    .collect();
                if names.is_empty() {
                    return Err(DefinitionError::ManifestNames(reference()));
                }
                let cond = match find(&fields, "subexpression") {
                    Some(v) => version_cond(v)?,
                    None if none_exist => Cond::Absent,
                    None => Cond::Installed,
                };
                return Ok(Fact::Pkg(PkgFact {
                    names,
                    source: quoted(obj_comment(obj)),
                    cond,
                    arch: None,
                }));
            }
            if path.contains("grub") || path.starts_with("/boot") || path.starts_with("/proc") {
                // Red Hat kernel "set to boot up on next boot" checks.
                return Ok(Fact::True);
            }
            Err(DefinitionError::FileContent {
                test: reference(),
                path,
            })
        }
        "uname_test" | "family_test" => Ok(Fact::True),
        other => Err(DefinitionError::TestType {
            kind: other.to_string(),
            test: reference(),
        }),
    }
}

/// Object comments are not kept in the tables; the source name of Ubuntu
/// objects lives in a `comment` we keep as a pseudo-field when present.
fn obj_comment(obj: &Item) -> &str {
    obj.field("comment").map_or("", |f| &f.value)
}

/// One affected package being accumulated across branches, borrowing its
/// text from the tables and the resolved facts.
#[derive(Debug, Default)]
struct Acc<'t> {
    /// fixed version (None = no fix) -> architectures seen.
    ranges: BTreeMap<Option<&'t str>, BTreeSet<&'t str>>,
    binaries: BTreeSet<&'t str>,
    module: Option<&'t str>,
}

fn identity(dialect: Dialect, def: &Definition) -> Result<Identity, IdentityError> {
    match dialect {
        Dialect::Suse => suse::identity(def),
        Dialect::RedHat => redhat::identity(def),
        Dialect::Ubuntu => ubuntu::identity(def),
        Dialect::Debian => debian::identity(def),
        Dialect::Oracle => oracle::identity(def),
        Dialect::Alma => alma::identity(def),
        Dialect::Photon => photon::identity(def),
        Dialect::Azure => standard_identity(def, None),
    }
}

/// Normalizes one definition into zero or more records (unstamped, with the
/// definition id) or per-definition errors.
pub fn definition(
    dialect: Dialect,
    def: &Definition,
    tables: &Tables,
    ctx: &SourceContext,
) -> Vec<Result<(Advisory, String), RecordError>> {
    let label = if def.id.is_empty() {
        "definition without id".to_string()
    } else {
        def.id.clone()
    };
    if def.class == "inventory" || def.class == "compliance" || def.class == "miscellaneous" {
        return Vec::new();
    }
    if dialect == Dialect::Ubuntu {
        if let Some(split) = ubuntu::split_package_definition(def) {
            return split
                .into_iter()
                .flat_map(|d| definition(dialect, &d, tables, ctx))
                .collect();
        }
    }
    let built = match dialect {
        // Azure Linux reads its own criteria shape (range bounds on one package).
        Dialect::Azure => azure::build(def, tables, &ctx.source),
        _ => build(dialect, def, tables),
    };
    match built {
        Ok(Some(adv)) => vec![Ok((adv, def.id.clone()))],
        Ok(None) => Vec::new(),
        Err(reason) => vec![Err(ctx.error(label, reason.to_string()))],
    }
}

fn build(
    dialect: Dialect,
    def: &Definition,
    tables: &Tables,
) -> Result<Option<Advisory>, DefinitionError> {
    let mut leaves = Vec::new();
    let alternatives = definition_branches(def, &mut leaves)?;
    let facts: Vec<Fact> = leaves
        .iter()
        .map(|leaf| resolve(dialect, leaf, tables))
        .collect::<Result<_, _>>()?;
    let defaults = match dialect {
        Dialect::Ubuntu => ubuntu::default_platforms(def),
        Dialect::RedHat => redhat::default_platforms(def),
        Dialect::Suse => suse::default_platforms(def),
        Dialect::Debian => debian::default_platforms(def),
        Dialect::Oracle => oracle::default_platforms(def),
        Dialect::Alma => alma::default_platforms(def),
        Dialect::Photon => photon::default_platforms(def),
        Dialect::Azure => Vec::new(),
    };

    let mut acc: BTreeMap<(&str, Cow<'_, str>), Acc<'_>> = BTreeMap::new();
    // Per-branch lists, cleared rather than allocated for each branch.
    let mut platforms: Vec<&str> = Vec::new();
    let mut pkgs: Vec<&PkgFact> = Vec::new();
    let mut named: Vec<(&str, &[&str])> = Vec::new();
    for branch in alternatives.iter() {
        platforms.clear();
        pkgs.clear();
        let mut module: Option<&str> = None;
        let mut ksplice = false;
        let mut arch: Option<&str> = None;
        let mut dead = false;
        for &i in branch {
            match &facts[i] {
                Fact::True => {}
                Fact::False => dead = true,
                Fact::Platform(p) => platforms.extend(p.iter().map(String::as_str)),
                Fact::Pkg(p) => pkgs.push(p),
                Fact::Module(m) => module = Some(m),
                Fact::Ksplice(k) => ksplice |= *k,
                Fact::Arch(a) => arch = Some(*a),
            }
        }
        // A branch that requires a package to be absent (not installed, or
        // stated not affected) describes an unaffected system.
        if dead || pkgs.iter().any(|p| p.cond == Cond::Absent) {
            continue;
        }
        if pkgs.is_empty() {
            continue;
        }
        if platforms.is_empty() {
            platforms.extend(defaults.iter().map(String::as_str));
        }
        if platforms.is_empty() {
            return Err(DefinitionError::NoPlatform);
        }
        for p in &pkgs {
            let fixed = match p.cond {
                Cond::Below(v) => Some(v),
                Cond::Installed => None,
                Cond::Absent => continue,
            };
            let arch_label = arch.or(p.arch);
            // (package name, its binaries): Ubuntu names the source package.
            named.clear();
            match p.source {
                Some(source) if dialect == Dialect::Ubuntu => named.push((source, &p.names[..])),
                _ => named.extend(p.names.iter().map(|n| (*n, &[][..]))),
            }
            for &(name, binaries) in &named {
                let qualified: Cow<'_, str> = match (module, ksplice) {
                    (Some(m), _) => Cow::Owned(format!("{m}/{name}")),
                    (None, true) => Cow::Owned(format!("ksplice/{name}")),
                    (None, false) => Cow::Borrowed(name),
                };
                for eco in &platforms {
                    let entry = acc.entry((*eco, qualified.clone())).or_default();
                    let arches = entry.ranges.entry(fixed).or_default();
                    if let Some(a) = arch_label {
                        arches.insert(a);
                    }
                    entry.binaries.extend(binaries.iter().copied());
                    entry.module = module;
                }
            }
        }
    }
    if acc.is_empty() {
        return Ok(None);
    }

    let ident = identity(dialect, def)?;
    let mut affected = Vec::new();
    // Entries come sorted by ecosystem: check each name once.
    let mut checked: Option<(&str, Ecosystem)> = None;
    for ((eco, name), entry) in acc {
        let ecosystem = match &checked {
            Some((seen, ecosystem)) if *seen == eco => ecosystem.clone(),
            _ => {
                let ecosystem = Ecosystem::new(eco)?;
                checked = Some((eco, ecosystem.clone()));
                ecosystem
            }
        };
        let several = entry.ranges.len() > 1;
        for (fixed, arches) in &entry.ranges {
            let mut events = Vec::with_capacity(2);
            events.push(Event::Introduced("0".into()));
            if let Some(f) = fixed {
                events.push(Event::Fixed(f.to_string()));
            }
            let mut specific = serde_json::Map::new();
            if !entry.binaries.is_empty() {
                specific.insert("binaries".into(), json!(entry.binaries));
            }
            if let Some(m) = entry.module {
                specific.insert("module".into(), json!(m));
            }
            if name.starts_with("ksplice/") {
                specific.insert("ksplice".into(), json!(true));
            }
            if several && !arches.is_empty() {
                specific.insert("arches".into(), json!(arches));
            }
            let mut resolution = None;
            if fixed.is_none() {
                let bare = name.rsplit('/').next().unwrap_or(&*name);
                if let Some((state, _)) = def
                    .resolutions
                    .iter()
                    .find(|(_, comps)| comps.iter().any(|c| c == bare || c == &*name))
                {
                    specific.insert("resolution".into(), json!(state));
                    resolution = Some(state.as_str());
                }
            }
            let status = oval_status(fixed.is_some(), resolution);
            let mut item = Affected {
                ranges: vec![Range {
                    kind: RangeKind::Ecosystem,
                    repo: None,
                    events,
                    database_specific: None,
                }],
                ecosystem_specific: (!specific.is_empty()).then_some(Value::Object(specific)),
                ..Affected::new(Package {
                    ecosystem: ecosystem.clone(),
                    name: name.to_string(),
                    purl: None,
                })
            };
            item.set_status(status);
            affected.push(item);
        }
    }
    Ok(Some(record(dialect, def, ident, affected)))
}

/// The common status of an OVAL entry: a fixed version means fixed; an
/// unfixed one takes Red Hat's `resolution state` (`Will not fix`, `Fix
/// deferred`, `Out of support scope`, `Under investigation`, `Affected`);
/// without one it is affected.
fn oval_status(fixed: bool, resolution: Option<&str>) -> StatusStatement {
    if fixed {
        return StatusStatement::new(FixStatus::Fixed, "fixed version");
    }
    let Some(state) = resolution else {
        return StatusStatement::new(FixStatus::Affected, "no fixed version");
    };
    let status = match state.trim().to_ascii_lowercase().as_str() {
        "will not fix" => FixStatus::WillNotFix,
        "fix deferred" => FixStatus::FixDeferred,
        "out of support scope" => FixStatus::EndOfLife,
        "under investigation" => FixStatus::UnderInvestigation,
        "not affected" => FixStatus::NotAffected,
        _ => FixStatus::Affected,
    };
    StatusStatement::new(status, format!("resolution {state}"))
}

/// Merges consecutive records with the same id (Debian writes one definition
/// per CVE and source package) and stamps provenance on the way out.
pub struct Coalescer<'c> {
    ctx: &'c SourceContext,
    pending: Option<(Advisory, Vec<String>)>,
}

impl<'c> Coalescer<'c> {
    /// An empty coalescer for `ctx`.
    pub fn new(ctx: &'c SourceContext) -> Self {
        Coalescer { ctx, pending: None }
    }

    /// Takes one normalized item; emits whatever is complete.
    pub fn push(
        &mut self,
        item: Result<(Advisory, String), RecordError>,
        emit: &mut dyn FnMut(ParseItem),
    ) {
        let (adv, def_id) = match item {
            Ok(x) => x,
            Err(e) => {
                emit(Err(e));
                return;
            }
        };
        if let Some((cur, ids)) = self.pending.as_mut() {
            if cur.id == adv.id {
                merge_into(cur, adv);
                ids.push(def_id);
                return;
            }
        }
        self.flush(emit);
        self.pending = Some((adv, vec![def_id]));
    }

    fn flush(&mut self, emit: &mut dyn FnMut(ParseItem)) {
        if let Some((mut adv, ids)) = self.pending.take() {
            self.ctx.stamp(&mut adv, &ids.join(" "));
            emit(Ok(adv));
        }
    }

    /// Emits the last pending record.
    pub fn finish(mut self, emit: &mut dyn FnMut(ParseItem)) {
        self.flush(emit);
    }
}

/// Merges `other` (same id, same feed) into `cur`, provenance included.
pub fn merge_records(cur: &mut Advisory, other: Advisory) {
    let other_ids: Vec<String> = other
        .sources()
        .iter()
        .map(|p| p.upstream_id.clone())
        .collect();
    merge_into(cur, other);
    if let Some(first) = cur.meta_mut().sources.first_mut() {
        for id in other_ids {
            if !first.upstream_id.split(' ').any(|x| x == id) {
                first.upstream_id.push(' ');
                first.upstream_id.push_str(&id);
            }
        }
    }
}

fn merge_into(cur: &mut Advisory, other: Advisory) {
    extend_unique(&mut cur.aliases, other.aliases);
    for r in other.references {
        if !cur.references.iter().any(|x| x.url == r.url) {
            cur.references.push(r);
        }
    }
    extend_unique(&mut cur.severity, other.severity);
    extend_unique(&mut cur.affected, other.affected);
    if other.modified > cur.modified {
        cur.modified = other.modified;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_stream_from_state_regex() {
        assert_eq!(
            module_stream(r"\nstream\s*=\s*3\.5\b[\w\W]*\nstate\s*=\s*(enabled|1|true)"),
            Some("3.5".into())
        );
        assert_eq!(
            module_stream(r"\nstream\s*=\s*rhel8\b[\w\W]*"),
            Some("rhel8".into())
        );
    }

    #[test]
    fn manifest_patterns() {
        assert_eq!(
            manifest_name(r"^openssh-client(?::\w+|)\s+(.*)$"),
            Some("openssh-client")
        );
        assert_eq!(quoted("The 'openssh' package binaries"), Some("openssh"));
    }
}
