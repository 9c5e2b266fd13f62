//! Why one OVAL definition is rejected: the reasons every dialect's
//! normalizer can give, typed, with the texts users see in ingest reports.

use super::criteria::CriteriaError;
use super::identity::IdentityError;
use super::xml::Dangling;
use crate::model::InvalidEcosystem;

/// Why one definition cannot be normalized; the definition is rejected
/// with this reason and the rest of the file goes on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DefinitionError {
    /// The criteria tree cannot be expanded.
    #[error(transparent)]
    Criteria(#[from] CriteriaError),
    /// A test, object, state or variable the file does not have.
    #[error(transparent)]
    Dangling(#[from] Dangling),
    /// No usable record id.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A platform names an invalid ecosystem.
    #[error(transparent)]
    Ecosystem(#[from] InvalidEcosystem),
    /// A field refers to a variable other than a constant one.
    #[error("variable {variable} is a {kind}, not a constant")]
    NotConstant {
        /// The variable id.
        variable: String,
        /// Its element name.
        kind: String,
    },
    /// A version field with an operation other than `less than`, or
    /// `equals` a zero version.
    #[error("unsupported {field} operation {operation:?} on {value:?}")]
    Operation {
        /// The field name (`evr`, `subexpression`).
        field: String,
        /// The operation.
        operation: String,
        /// The value.
        value: String,
    },
    /// An `extend_definition` that is not "X is installed".
    #[error("extend_definition {0} is not an applicability check")]
    Extend(String),
    /// A negated "below version" test.
    #[error("negated version test ({0}) is not supported")]
    NegatedVersion(String),
    /// A test without an object.
    #[error("test {0} has no object")]
    NoObject(String),
    /// A package test whose object names no package.
    #[error("object of test {0} has no name")]
    NoName(String),
    /// A release package test no dialect platform reads.
    #[error("unrecognized platform test {0}")]
    Platform(String),
    /// A file-based platform test no dialect platform reads.
    #[error("unrecognized platform test {test} ({comment})")]
    PlatformComment {
        /// The test id.
        test: String,
        /// The criterion comment.
        comment: String,
    },
    /// A version test that is neither a platform nor a package range.
    #[error("version test {test} ({comment}) is neither a platform nor a package range")]
    VersionTest {
        /// The test id.
        test: String,
        /// The criterion comment.
        comment: String,
    },
    /// A release state other than ksplice.
    #[error("unsupported release state {0:?}")]
    ReleaseState(String),
    /// State fields no rule reads.
    #[error("unsupported state fields in test {test}: {fields}")]
    StateFields {
        /// The test id.
        test: String,
        /// The field names, comma-separated.
        fields: String,
    },
    /// A module test without a text state.
    #[error("module test {0} has no text state")]
    ModuleText(String),
    /// A module test whose regex names no stream.
    #[error("module test {test}: no stream in {text:?}")]
    ModuleStream {
        /// The test id.
        test: String,
        /// The state regex.
        text: String,
    },
    /// A `/etc/debian_version` test without a subexpression state.
    #[error("release test {0} has no state")]
    ReleaseNoState(String),
    /// A `/etc/debian_version` test no dialect platform reads.
    #[error("unrecognized release test {0}")]
    Release(String),
    /// A manifest object without a pattern.
    #[error("manifest object of {0} has no pattern")]
    ManifestPattern(String),
    /// A manifest test whose patterns name no binary.
    #[error("no binary names in manifest test {0}")]
    ManifestNames(String),
    /// A file content test on a path no rule reads.
    #[error("unsupported file content test {test} on {path:?}")]
    FileContent {
        /// The test id.
        test: String,
        /// The file path.
        path: String,
    },
    /// A test type no rule reads.
    #[error("unsupported test type {kind} ({test})")]
    TestType {
        /// The test element name.
        kind: String,
        /// The test id.
        test: String,
    },
    /// An affected package in a branch without a platform, and no default.
    #[error("no platform found for an affected package")]
    NoPlatform,
    /// Azure Linux: any `extend_definition`.
    #[error("extend_definition {0} is not supported in Azure Linux OVAL")]
    AzureExtend(String),
    /// Azure Linux: a negated criterion.
    #[error("negated criterion {0} is not supported")]
    Negated(String),
    /// Azure Linux: an object without a literal package name.
    #[error("object of test {0} names no package")]
    NoPackage(String),
    /// Azure Linux: a state field other than `evr`.
    #[error("unsupported state field {field} in test {test}")]
    StateField {
        /// The field name.
        field: String,
        /// The test id.
        test: String,
    },
    /// Azure Linux: an `evr` comparison no range event expresses.
    #[error("unsupported evr operation {operation:?} in test {test}")]
    EvrOperation {
        /// The operation.
        operation: String,
        /// The test id.
        test: String,
    },
    /// Azure Linux: more than one `evr` state on one test.
    #[error("test {0} has several evr states")]
    SeveralStates(String),
    /// Azure Linux: a `none satisfy` / `none_exist` check.
    #[error("negative check in test {0} is not supported")]
    NegativeCheck(String),
    /// Azure Linux: two lower or two upper bounds on one package in one branch.
    #[error("several bounds of one kind on {0}")]
    SeveralBounds(String),
    /// Azure Linux: neither the versions nor the file name tell the release.
    #[error(
        "cannot tell the Azure Linux release: no dist tag (.azl3, .cm2) in the \
         definition's versions and none in the file name"
    )]
    NoRelease,
    /// Azure Linux: the versions of one definition name several releases.
    #[error("versions name several releases: {0:?}")]
    SeveralReleases(Vec<u32>),
}
