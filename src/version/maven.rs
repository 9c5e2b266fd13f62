//! Maven ordering: `org.apache.maven.artifact.versioning.ComparableVersion` of Maven 3.8.
//!
//! The lower-cased version is split into items at `.` and `-` and at every switch
//! between digits and non-digits; a `-` (and a digit/letter switch) opens a nested
//! list. Numbers compare numerically; qualifiers in the order `alpha < beta <
//! milestone < rc = cr < snapshot < "" = ga = final = release < sp`, unknown
//! qualifiers after them, alphabetically; `a1`, `b1`, `m1` mean alpha, beta,
//! milestone. Trailing "null" items (0, empty qualifier, empty list) are dropped
//! before comparing, so `1.0.0 = 1 = 1-ga`. Missing items compare as null: a
//! number is then greater unless 0, a qualifier greater unless it sorts at or
//! before the release. A number is greater than a qualifier or a nested list; a
//! nested list is greater than a qualifier. Any string is a version.
//!
//! Java details kept: numbers of up to 9, 10 to 18 and more digits are different
//! item kinds (an 18-digit number is always above a 9-digit one, as in Java), and
//! qualifiers compare as Java strings (UTF-16 code units). Digits are ASCII digits
//! only (Java would also take other Unicode decimal digits).

use std::cmp::Ordering;

use super::key::{KeyWriter, OrderKey};
use super::{SchemeVersion, VersionError};

/// One item of a parsed Maven version.
#[derive(Debug, Clone)]
enum Item {
    /// A number: kind 0 (int, up to 9 digits), 1 (long), 2 (BigInteger); digits
    /// without leading zeros ("" = 0).
    Num { kind: u8, digits: Box<str> },
    /// A qualifier after alias resolution.
    Str(Box<str>),
    /// A nested list (opened by `-` or a digit/letter switch).
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// Maven's `comparableQualifier`: the rank of known qualifiers, "7-<q>" for others.
fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

/// Java's `String.compareTo`: UTF-16 code unit order.
fn java_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

fn qualifier_cmp(a: &str, b: &str) -> Ordering {
    java_cmp(&comparable_qualifier(a), &comparable_qualifier(b))
}

impl Item {
    fn number(buf: &str) -> Item {
        // stripLeadingZeroes keeps an all-zero string as it is.
        let stripped = match buf.find(|c| c != '0') {
            Some(i) => &buf[i..],
            None => buf,
        };
        let kind = match stripped.len() {
            0..=9 => 0,
            10..=18 => 1,
            _ => 2,
        };
        Item::Num {
            kind,
            digits: buf.trim_start_matches('0').into(),
        }
    }

    fn string(value: &str, followed_by_digit: bool) -> Item {
        let value = match (followed_by_digit, value) {
            (true, "a") => "alpha",
            (true, "b") => "beta",
            (true, "m") => "milestone",
            (_, "ga" | "final" | "release") => "",
            (_, "cr") => "rc",
            (_, v) => v,
        };
        Item::Str(value.into())
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Num { digits, .. } => digits.is_empty(),
            Item::Str(s) => s.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// `compareTo(null)`.
    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Num { digits, .. } => {
                if digits.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Str(s) => qualifier_cmp(s, ""),
            Item::List(l) => l
                .iter()
                .map(Item::cmp_null)
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        match (self, other) {
            (
                Item::Num {
                    kind: ka,
                    digits: a,
                },
                Item::Num {
                    kind: kb,
                    digits: b,
                },
            ) => ka
                .cmp(kb)
                .then_with(|| a.len().cmp(&b.len()))
                .then_with(|| a.cmp(b)),
            (Item::Num { .. }, _) => Ordering::Greater,
            (Item::Str(_), Item::Num { .. } | Item::List(_)) => Ordering::Less,
            (Item::Str(a), Item::Str(b)) => qualifier_cmp(a, b),
            (Item::List(_), Item::Num { .. }) => Ordering::Less,
            (Item::List(_), Item::Str(_)) => Ordering::Greater,
            (Item::List(a), Item::List(b)) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let r = match (a.get(i), b.get(i)) {
            (Some(l), Some(r)) => l.cmp_item(r),
            (Some(l), None) => l.cmp_null(),
            (None, Some(r)) => r.cmp_null().reverse(),
            (None, None) => Ordering::Equal,
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

/// Maven's `ListItem.normalize`: drop null items from the end, looking past
/// non-null nested lists.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// A Maven version, ordered like `ComparableVersion`.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    items: Vec<Item>,
}

/// Builds the nested item tree; `stack` holds the open lists, innermost last.
fn parse_items(version: &str) -> Vec<Item> {
    let lower = version.to_lowercase();
    let chars: Vec<(usize, char)> = lower.char_indices().collect();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0usize; // byte offset
    let end_of = |k: usize| chars.get(k).map_or(lower.len(), |c| c.0);
    let item = |is_digit: bool, s: &str| {
        if is_digit {
            Item::number(s)
        } else {
            Item::string(s, false)
        }
    };
    for (k, &(pos, c)) in chars.iter().enumerate() {
        let top = stack.len() - 1;
        match c {
            '.' | '-' => {
                if pos == start {
                    stack[top].push(Item::number("0"));
                } else {
                    stack[top].push(item(is_digit, &lower[start..pos]));
                }
                start = end_of(k + 1);
                if c == '-' {
                    stack.push(Vec::new());
                }
            }
            '0'..='9' => {
                if !is_digit && pos > start {
                    // 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any qualifier X
                    if !stack[top].is_empty() {
                        stack.push(Vec::new());
                    }
                    let top = stack.len() - 1;
                    stack[top].push(Item::string(&lower[start..pos], true));
                    start = pos;
                    stack.push(Vec::new());
                }
                is_digit = true;
            }
            _ => {
                if is_digit && pos > start {
                    stack[top].push(Item::number(&lower[start..pos]));
                    start = pos;
                    stack.push(Vec::new());
                }
                is_digit = false;
            }
        }
    }
    if lower.len() > start {
        // A trailing qualifier after other items gets its own list too.
        if !is_digit && stack.last().is_some_and(|l| !l.is_empty()) {
            stack.push(Vec::new());
        }
        let top = stack.len() - 1;
        stack[top].push(item(is_digit, &lower[start..]));
    }
    // Close the lists innermost first: each is normalized, then added to its parent.
    while stack.len() > 1 {
        let mut inner = stack.pop().unwrap_or_default();
        normalize(&mut inner);
        if let Some(parent) = stack.last_mut() {
            parent.push(Item::List(inner));
        }
    }
    let mut items = stack.pop().unwrap_or_default();
    normalize(&mut items);
    items
}

impl SchemeVersion for MavenVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        Ok(MavenVersion {
            items: parse_items(input),
        })
    }

    /// A byte key where one orders like `ComparableVersion`, which is not
    /// transitive everywhere: `1-alpha` > `1.sp.1` (a nested list beats a
    /// qualifier) although `1-alpha` < `1` < `1.sp.1`. No key can order such
    /// versions, so these shapes get none (and are compared parsed):
    /// - a qualifier that sorts after the release (`sp`, unknown words) other
    ///   than first in its list (the first item of a list opened by `-` or a
    ///   letter/digit switch, as in `31.1-jre` or `9.4.11.v2018`, is fine);
    /// - a nested list first in its list;
    /// - a null item (release qualifier, empty list) that normalizing kept,
    ///   or a 0 not followed, past its run of zeros, by a number above 0;
    /// - a non-ASCII qualifier (Java compares UTF-16 code units).
    ///
    /// The key of a list: per item, whether it and what follows it sort
    /// below (`01`) or above (`03`) a missing item, then the item (qualifier
    /// `01` + rank [+ text], nested list `02` + its key, number `03` + its
    /// Java kind + value); the end of the list is `02`, between the two.
    fn order_key(&self) -> Option<OrderKey> {
        let mut key = KeyWriter::new();
        list_key(&self.items, &mut key)?;
        Some(key.finish())
    }
}

/// Writes one list's key (see [`MavenVersion::order_key`]); `None` for the
/// shapes no key can order.
fn list_key(items: &[Item], key: &mut KeyWriter) -> Option<()> {
    const BELOW_NULL: u8 = 1;
    const END: u8 = 2;
    const ABOVE_NULL: u8 = 3;
    for (i, item) in items.iter().enumerate() {
        let against_null = match item {
            Item::Num { digits, .. } if digits.is_empty() => {
                let next = items[i..]
                    .iter()
                    .find(|x| !matches!(x, Item::Num { digits, .. } if digits.is_empty()));
                match next {
                    Some(Item::Num { .. }) => Ordering::Greater,
                    _ => return None,
                }
            }
            Item::Str(_) | Item::List(_) if item.is_null() => return None,
            Item::List(_) if i == 0 => return None,
            _ => item.cmp_null(),
        };
        key.byte(match against_null {
            Ordering::Less => BELOW_NULL,
            Ordering::Greater => ABOVE_NULL,
            Ordering::Equal => return None,
        });
        match item {
            Item::Str(q) => {
                if !q.is_ascii() || (i > 0 && against_null == Ordering::Greater) {
                    return None;
                }
                key.byte(1);
                match QUALIFIERS.iter().position(|k| *k == &**q) {
                    Some(rank) => key.byte(rank as u8),
                    None => {
                        key.byte(QUALIFIERS.len() as u8);
                        key.text(q.as_bytes());
                    }
                }
            }
            Item::List(inner) => {
                key.byte(2);
                list_key(inner, key)?;
            }
            Item::Num { kind, digits } => {
                // Java's int, long and BigInteger items order by kind first.
                key.byte(3);
                key.byte(*kind);
                key.digits(digits.as_bytes());
            }
        }
    }
    key.byte(END);
    Some(())
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

order_by_cmp!(MavenVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        MavenVersion::parse(a)
            .unwrap()
            .cmp(&MavenVersion::parse(b).unwrap())
    }

    #[test]
    fn comparable_version_order() {
        let ordered = [
            "1-alpha1",
            "1-alpha2",
            "1-beta1",
            "1-m1",
            "1-rc1",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
            "1-1",
            "1.0.1",
            "1.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1-ga", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1-cr1", "1-rc1"), Ordering::Equal);
        // As Maven does: "-beta10" is [beta, [10]] and "-beta.9" is [beta, 9]; a
        // nested list sorts below a number, so beta10 comes first.
        assert_eq!(cmp("1.0.0-beta10", "1.0.0-beta.9"), Ordering::Less);
        assert_eq!(cmp("1.0-SNAPSHOT", "1.0-snapshot"), Ordering::Equal);
    }

    fn key(v: &str) -> Option<OrderKey> {
        MavenVersion::parse(v).unwrap().order_key()
    }

    #[test]
    fn keys_follow_the_order_where_it_is_transitive() {
        let ordered = [
            "1-alpha1",
            "1-beta1",
            "1-rc1",
            "1-snapshot",
            "1",
            "1-sp",
            "1-jre",
            "1-1",
            "1.0.1",
            "1.1",
            "1.1.v20180605",
            "1.1.1",
            "1.999999999",
            // A 10-digit item is a Java long: above every int, even as 0.
            "1.0000000000.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
            let (a, b) = (key(w[0]).unwrap(), key(w[1]).unwrap());
            assert!(a < b, "key {} < key {}", w[0], w[1]);
        }
        assert_eq!(key("1.0.0"), key("1-ga"));
        assert_eq!(key("1-cr1"), key("1-rc1"));
        // Not transitive: 1.sp.1 < 1-alpha < 1 < 1.sp.1. No key can say
        // that, so the version whose qualifier stands bare after a dot has none.
        assert_eq!(cmp("1.sp.1", "1-alpha"), Ordering::Less);
        assert_eq!(cmp("1-alpha", "1"), Ordering::Less);
        assert_eq!(cmp("1", "1.sp.1"), Ordering::Less);
        assert!(key("1-alpha").is_some());
        assert_eq!(key("1.sp.1"), None);
    }
}
