//! OVAL criteria trees expanded into alternative branches (disjunctive
//! normal form): the shape every dialect's definitions share.

use super::xml::{Definition, Node};

/// Beyond this many alternative branches a criteria tree is refused.
const MAX_BRANCHES: usize = 200_000;

/// A criteria leaf: a test or an extended definition, possibly negated.
#[derive(Debug, Clone)]
pub struct Leaf<'a> {
    /// The test id (criterion) or definition id (extend_definition).
    pub reference: &'a str,
    /// Whether the leaf is an `extend_definition`.
    pub extend: bool,
    /// `negate="true"`.
    pub negate: bool,
    /// The criterion's comment.
    pub comment: &'a str,
}

/// Alternative branches of a criteria tree (disjunctive normal form), each
/// the leaf indices that must all hold, stored flat.
#[derive(Debug, Default)]
pub struct Branches {
    leaves: Vec<usize>,
    ends: Vec<usize>,
}

impl Branches {
    /// The branches in document order.
    pub fn iter(&self) -> impl Iterator<Item = &[usize]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.leaves[start..end])
    }
}

/// Deeper criteria nesting than this is refused (real files nest a few levels).
const MAX_DEPTH: usize = 64;

/// Why a criteria tree cannot be expanded (the definition is rejected with
/// this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaError {
    /// The definition has no `<criteria>` at all.
    #[error("definition has no criteria")]
    Missing,
    /// A `<criteria negate="true">` block.
    #[error("negated criteria block is not supported")]
    NegatedBlock,
    /// Nesting past [`MAX_DEPTH`].
    #[error("criteria nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// An operator other than AND, OR, ONE.
    #[error("criteria operator {0:?} is not supported")]
    Operator(String),
    /// More than [`MAX_BRANCHES`] alternatives.
    #[error("criteria tree expands to too many branches")]
    TooManyBranches,
    /// A leaf met while expanding that numbering missed (a bug, not input).
    #[error("criteria leaf was not numbered")]
    Unnumbered,
}

/// Expands the criteria of `def` as [`branches`] does; a definition
/// without criteria is refused.
pub fn definition_branches<'a>(
    def: &'a Definition,
    leaves: &mut Vec<Leaf<'a>>,
) -> Result<Branches, CriteriaError> {
    let criteria = def.criteria.as_ref().ok_or(CriteriaError::Missing)?;
    branches(criteria, leaves)
}

/// Expands a criteria tree into alternative branches, each the list of leaf
/// indices that must all hold (disjunctive normal form). Leaves are
/// numbered in document order into `leaves`; branches come in the order of
/// the tree (the first child of an AND varies slowest).
pub fn branches<'a>(node: &'a Node, leaves: &mut Vec<Leaf<'a>>) -> Result<Branches, CriteriaError> {
    let mut numbers = Vec::new();
    number_leaves(node, leaves, &mut numbers, 0)?;
    numbers.sort_unstable();
    let mut out = Branches::default();
    let mut todo = vec![node];
    let mut branch = Vec::new();
    expand(&mut todo, &mut branch, &numbers, &mut out)?;
    Ok(out)
}

/// Numbers the leaves of `node` in document order and checks operators,
/// negation and depth once.
fn number_leaves<'a>(
    node: &'a Node,
    leaves: &mut Vec<Leaf<'a>>,
    numbers: &mut Vec<(*const Node, usize)>,
    depth: usize,
) -> Result<(), CriteriaError> {
    let leaf = match node {
        Node::Criterion {
            test,
            negate,
            comment,
        } => Leaf {
            reference: test,
            extend: false,
            negate: *negate,
            comment,
        },
        Node::Extend {
            definition,
            negate,
            comment,
        } => Leaf {
            reference: definition,
            extend: true,
            negate: *negate,
            comment,
        },
        Node::Criteria {
            operator,
            negate,
            children,
        } => {
            if *negate {
                return Err(CriteriaError::NegatedBlock);
            }
            if depth >= MAX_DEPTH {
                return Err(CriteriaError::TooDeep);
            }
            if !["OR", "ONE", "AND"]
                .iter()
                .any(|known| operator.eq_ignore_ascii_case(known))
            {
                return Err(CriteriaError::Operator(operator.clone()));
            }
            for child in children {
                number_leaves(child, leaves, numbers, depth + 1)?;
            }
            return Ok(());
        }
    };
    numbers.push((node as *const Node, leaves.len()));
    leaves.push(leaf);
    Ok(())
}

/// Emits every way to satisfy all nodes of `todo` on top of `branch`.
/// `todo` and `branch` are left as they were found.
fn expand(
    todo: &mut Vec<&Node>,
    branch: &mut Vec<usize>,
    numbers: &[(*const Node, usize)],
    out: &mut Branches,
) -> Result<(), CriteriaError> {
    let Some(node) = todo.pop() else {
        if out.ends.len() >= MAX_BRANCHES {
            return Err(CriteriaError::TooManyBranches);
        }
        out.leaves.extend_from_slice(branch);
        out.ends.push(out.leaves.len());
        return Ok(());
    };
    let result = match node {
        Node::Criteria {
            operator, children, ..
        } if operator.eq_ignore_ascii_case("AND") => {
            let mark = todo.len();
            todo.extend(children.iter().rev());
            let result = expand(todo, branch, numbers, out);
            todo.truncate(mark);
            result
        }
        Node::Criteria { children, .. } => children.iter().try_for_each(|child| {
            todo.push(child);
            let result = expand(todo, branch, numbers, out);
            todo.pop();
            result
        }),
        leaf => {
            let at = numbers
                .binary_search_by_key(&(leaf as *const Node), |(node, _)| *node)
                .map_err(|_| CriteriaError::Unnumbered)?;
            let number = numbers[at].1;
            branch.push(number);
            let result = expand(todo, branch, numbers, out);
            branch.pop();
            result
        }
    };
    todo.push(node);
    result
}
