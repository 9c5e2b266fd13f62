//! The streaming OVAL reader: pass 1 builds compact tables of tests, objects,
//! states and variables; pass 2 yields definitions one at a time.
//!
//! Neither pass keeps more than one element's text in memory besides the
//! tables, which hold only the fields a normalizer reads (ids, names,
//! operations, values). Entities other than the five predefined ones and
//! character references are never expanded.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::num::NonZeroU32;
use std::sync::Arc;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use rustc_hash::FxHashMap;

use super::OvalError;

/// A compact OVAL id: an interned `oval:<namespace>:<type>` prefix and the
/// numeric suffix (ids of any other shape are interned whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    prefix: NonZeroU32,
    num: u64,
}

const WHOLE: u64 = u64::MAX;

/// Id prefixes remembered by [`Interner::prefix_index`].
const RECENT: usize = 4;

/// Interned strings: element names, operations, id prefixes.
#[derive(Debug)]
pub struct Interner {
    ids: FxHashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
    /// Indices of recently used id prefixes (`u32::MAX`: none yet).
    recent: [Cell<u32>; RECENT],
    next_recent: Cell<usize>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            ids: FxHashMap::default(),
            strings: Vec::new(),
            recent: std::array::from_fn(|_| Cell::new(u32::MAX)),
            next_recent: Cell::new(0),
        }
    }
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let arc: Arc<str> = Arc::from(s);
        let i = self.strings.len() as u32;
        self.strings.push(arc.clone());
        self.ids.insert(arc, i);
        i
    }

    fn shared(&mut self, s: &str) -> Arc<str> {
        let i = self.intern(s) as usize;
        self.strings[i].clone()
    }

    /// Splits a canonical `prefix:number` id (digits, no leading zero, at
    /// most 19 of them) into its prefix and number; any other id is whole.
    fn split(id: &str) -> (&str, u64) {
        let b = id.as_bytes();
        // One walk back over the trailing digits, no separate parse.
        let mut start = b.len();
        while start > 0 && b[start - 1].is_ascii_digit() {
            start -= 1;
        }
        let digits = &b[start..];
        let canonical = start > 0
            && b[start - 1] == b':'
            && !digits.is_empty()
            && digits.len() <= 19
            && (digits.len() == 1 || digits[0] != b'0');
        if canonical {
            let n = digits
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            return (&id[..start - 1], n);
        }
        (id, WHOLE)
    }

    /// The interned index of an id prefix, looked up among the last few
    /// prefixes first (a file's ids share a handful of prefixes, which
    /// alternate: test, object, state), then in the hash table.
    fn prefix_index(&self, prefix: &str) -> Option<u32> {
        let p = prefix.as_bytes();
        for slot in &self.recent {
            let i = slot.get();
            if let Some(s) = self.strings.get(i as usize) {
                let s = s.as_bytes();
                if s.len() == p.len() && s.last() == p.last() && s == p {
                    return Some(i);
                }
            }
        }
        let i = *self.ids.get(prefix)?;
        let next = self.next_recent.get();
        self.recent[next % RECENT].set(i);
        self.next_recent.set(next.wrapping_add(1));
        Some(i)
    }

    fn key(&mut self, id: &str) -> Key {
        let (prefix, num) = Interner::split(id);
        let index = match self.prefix_index(prefix) {
            Some(i) => i,
            None => self.intern(prefix),
        };
        Key {
            prefix: NonZeroU32::MIN.saturating_add(index),
            num,
        }
    }

    fn find(&self, id: &str) -> Option<Key> {
        let (prefix, num) = Interner::split(id);
        self.prefix_index(prefix).map(|p| Key {
            prefix: NonZeroU32::MIN.saturating_add(p),
            num,
        })
    }

    fn render(&self, key: Key) -> String {
        let prefix = self
            .strings
            .get(key.prefix.get() as usize - 1)
            .map_or("?", |s| &**s);
        if key.num == WHOLE {
            prefix.to_string()
        } else {
            format!("{prefix}:{}", key.num)
        }
    }
}

/// One `*_test` element, reduced to what normalizers read.
#[derive(Debug, Clone)]
pub struct Test {
    /// The element's local name (`rpminfo_test`, `dpkginfo_test`, ...).
    pub kind: Arc<str>,
    /// `check="none satisfy"`.
    pub none_satisfy: bool,
    /// `check_existence="none_exist"`.
    pub none_exist: bool,
    /// The referenced object.
    pub object: Option<Key>,
    states: States,
}

/// Most tests have at most one state: keep it inline.
#[derive(Debug, Clone)]
enum States {
    None,
    One(Key),
    Many(Box<[Key]>),
}

impl States {
    /// Adds a state reference; the first stays inline.
    fn push(&mut self, key: Key) {
        *self = match std::mem::replace(self, States::None) {
            States::None => States::One(key),
            States::One(first) => States::Many(Box::new([first, key])),
            States::Many(keys) => {
                let mut keys = keys.into_vec();
                keys.push(key);
                States::Many(keys.into_boxed_slice())
            }
        };
    }
}

impl Test {
    /// The referenced states.
    pub fn states(&self) -> &[Key] {
        match &self.states {
            States::None => &[],
            States::One(k) => std::slice::from_ref(k),
            States::Many(ks) => ks,
        }
    }
}

/// A child element of an object or state (`name`, `evr`, `filepath`, ...).
#[derive(Debug, Clone)]
pub struct Field {
    /// The element's local name.
    pub name: Arc<str>,
    /// The `operation` attribute, if any.
    pub operation: Option<Arc<str>>,
    /// The `var_ref` attribute, if any.
    pub var_ref: Option<Key>,
    /// The element's text.
    pub value: Box<str>,
}

/// An object or a state: its kind and its fields.
#[derive(Debug, Clone)]
pub struct Item {
    /// The element's local name (`rpminfo_object`, `dpkginfo_state`, ...).
    pub kind: Arc<str>,
    /// Direct children with their text and attributes.
    pub fields: Vec<Field>,
}

impl Item {
    /// The first field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| &*f.name == name)
    }
}

/// A variable: `constant_variable` values; other kinds keep no values.
#[derive(Debug, Clone)]
pub struct Variable {
    /// The element's local name.
    pub kind: Arc<str>,
    /// The `value` children of a constant variable.
    pub values: Vec<Box<str>>,
}

/// A table of entries sorted by key once pass 1 is done: no hash-table
/// slack and no rehash peaks (a rehash briefly holds two tables). While
/// pass 1 runs, entries go into fixed-size chunks, so growing never copies
/// the table or leaves a doubled buffer's slack behind; [`Table::finish`]
/// moves them into one exactly sized vector, freeing chunk by chunk.
#[derive(Debug)]
pub struct Table<T> {
    entries: Vec<(Key, T)>,
    chunks: Vec<Vec<(Key, T)>>,
}

/// Entries per pass-1 chunk.
const CHUNK: usize = 4096;

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            entries: Vec::new(),
            chunks: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    fn push(&mut self, key: Key, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push((key, value)),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push((key, value));
                self.chunks.push(chunk);
            }
        }
    }

    /// Gathers the chunks and sorts by key, in place. Ids are unique in a
    /// valid file; of duplicates one is kept.
    fn finish(&mut self) {
        let total = self.entries.len() + self.chunks.iter().map(Vec::len).sum::<usize>();
        self.entries.reserve_exact(total - self.entries.len());
        for chunk in std::mem::take(&mut self.chunks) {
            self.entries.extend(chunk);
        }
        self.entries.sort_unstable_by_key(|(k, _)| *k);
        self.entries.dedup_by_key(|(k, _)| *k);
        self.entries.shrink_to_fit();
    }

    /// The entry for `key`.
    pub fn get(&self, key: &Key) -> Option<&T> {
        self.entries
            .binary_search_by_key(key, |(k, _)| *k)
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Everything pass 1 collects: compact tables keyed by [`Key`].
#[derive(Debug, Default)]
pub struct Tables {
    /// Tests.
    pub tests: Table<Test>,
    /// Objects.
    pub objects: Table<Item>,
    /// States.
    pub states: Table<Item>,
    /// Variables.
    pub variables: Table<Variable>,
    /// `generator/product_name`.
    pub generator: String,
    /// `generator/timestamp`, as written.
    pub generated: Option<String>,
    strings: Interner,
}

impl Tables {
    /// The key of `id` if any table entry could have it.
    pub fn key(&self, id: &str) -> Option<Key> {
        self.strings.find(id)
    }

    /// The id a key stands for (for messages).
    pub fn id(&self, key: Key) -> String {
        self.strings.render(key)
    }

    /// The entry of `map` under `key`, or the dangling reference named
    /// (`what` is the kind of entry: test, object, state, variable).
    pub fn entry<'t, T>(
        &self,
        map: &'t Table<T>,
        key: Key,
        what: &'static str,
    ) -> Result<&'t T, Dangling> {
        map.get(&key).ok_or_else(|| Dangling {
            what,
            id: self.id(key),
        })
    }

    /// The entry of `map` with the id `id`, as [`Tables::entry`].
    pub fn entry_by_id<'t, T>(
        &self,
        map: &'t Table<T>,
        id: &str,
        what: &'static str,
    ) -> Result<&'t T, Dangling> {
        self.key(id)
            .and_then(|k| map.get(&k))
            .ok_or_else(|| Dangling {
                what,
                id: id.to_string(),
            })
    }
}

/// A definition refers to a test, object, state or variable the file does
/// not have (the definition is rejected with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dangling reference to {what} {id}")]
pub struct Dangling {
    /// The kind of entry (test, object, state, variable).
    pub what: &'static str,
    /// The id referred to.
    pub id: String,
}

/// One criteria tree node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `<criteria operator=...>`.
    Criteria {
        /// `AND` (default), `OR`, `ONE`, `XOR`.
        operator: String,
        /// `negate="true"`.
        negate: bool,
        /// Children in document order.
        children: Vec<Node>,
    },
    /// `<criterion test_ref=...>`.
    Criterion {
        /// The test id.
        test: String,
        /// `negate="true"`.
        negate: bool,
        /// The comment attribute.
        comment: String,
    },
    /// `<extend_definition definition_ref=...>`.
    Extend {
        /// The referenced definition id.
        definition: String,
        /// `negate="true"`.
        negate: bool,
        /// The comment attribute.
        comment: String,
    },
}

/// A `<reference>` of a definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefEntry {
    /// `source` (CVE, RHSA, elsa, ...).
    pub source: String,
    /// `ref_id`.
    pub ref_id: String,
    /// `ref_url`.
    pub ref_url: String,
}

/// An `<advisory><cve>` element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CveEntry {
    /// The element text (a CVE id, or `CVE-x at SUSE`).
    pub text: String,
    /// `href`.
    pub href: String,
    /// `cvss2` (`score/vector`).
    pub cvss2: String,
    /// `cvss3` (`score/CVSS:3.x/...`).
    pub cvss3: String,
    /// `cvss4`.
    pub cvss4: String,
    /// `cvss_vector` (Ubuntu).
    pub cvss_vector: String,
    /// `impact` or `priority`.
    pub impact: String,
    /// `public` (YYYYMMDD).
    pub public: String,
}

/// One definition with its metadata and criteria tree.
#[derive(Debug, Clone, Default)]
pub struct Definition {
    /// `id`.
    pub id: String,
    /// `class` (vulnerability, patch, inventory).
    pub class: String,
    /// `metadata/title`.
    pub title: String,
    /// `metadata/description`.
    pub description: String,
    /// `metadata/affected/platform`.
    pub platforms: Vec<String>,
    /// `metadata/affected/product`.
    pub products: Vec<String>,
    /// `metadata/reference`.
    pub references: Vec<RefEntry>,
    /// `advisory/severity`.
    pub severity: Option<String>,
    /// `advisory/cve`.
    pub cves: Vec<CveEntry>,
    /// `advisory/issued/@date` (or `debian/date`).
    pub issued: Option<String>,
    /// `advisory/updated/@date`.
    pub updated: Option<String>,
    /// `advisory/public_date` (Ubuntu).
    pub public_date: Option<String>,
    /// `advisory/affected/resolution`: state and components.
    pub resolutions: Vec<(String, Vec<String>)>,
    /// `advisory/affected_cpe_list/cpe`.
    pub cpes: Vec<String>,
    /// Advisory links: Ubuntu `ref`/`bug`, SUSE `bugzilla/@href`, Red Hat `bugzilla/@href`.
    pub links: Vec<(String, String)>,
    /// `debian/dsa`.
    pub dsa: Option<String>,
    /// `metadata/patchable` (Azure Linux: `true`, `false`, `Not Applicable`).
    pub patchable: Option<String>,
    /// The criteria tree.
    pub criteria: Option<Node>,
}

/// Deepest element nesting either pass accepts. Real OVAL nests about 15
/// deep; refusing deeper input while reading keeps every tree built from it
/// (criteria) shallow, so walking and dropping it cannot exhaust the stack.
pub const MAX_DEPTH: usize = 128;

fn too_deep(position: u64) -> OvalError {
    OvalError::TooDeep {
        position,
        limit: MAX_DEPTH,
    }
}

/// The start tag of a `Start` or `Empty` event, and whether it is empty.
fn start_tag<'e, 'b>(event: &'e Event<'b>) -> (Option<&'e BytesStart<'b>>, bool) {
    match event {
        Event::Start(e) => (Some(e), false),
        Event::Empty(e) => (Some(e), true),
        _ => (None, false),
    }
}

/// One element deeper; refused past [`MAX_DEPTH`] (`position` for the error).
fn enter(depth: &mut usize, position: u64) -> Result<(), OvalError> {
    *depth += 1;
    if *depth > MAX_DEPTH {
        return Err(too_deep(position));
    }
    Ok(())
}

fn xml_error<R>(reader: &Reader<R>, e: quick_xml::Error) -> OvalError {
    if let quick_xml::Error::Io(io) = &e {
        if let Some(limit) = super::InputLimit::of(io) {
            return OvalError::from(io::Error::other(limit));
        }
    }
    OvalError::Xml {
        position: reader.buffer_position(),
        message: e.to_string(),
    }
}

fn push_ref(text: &mut String, r: &BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        text.push(c);
        return;
    }
    match &**r {
        "lt" => text.push('<'),
        "gt" => text.push('>'),
        "amp" => text.push('&'),
        "quot" => text.push('"'),
        "apos" => text.push('\''),
        // Any other entity is left unexpanded: external entities are never resolved.
        other => {
            text.push('&');
            text.push_str(other);
            text.push(';');
        }
    }
}

fn local(e: &BytesStart<'_>) -> String {
    local_name(e.name().0).to_string()
}

/// The local part of an element name: after its first `:`, as quick-xml's
/// `local_name` has it, found with a plain loop (names are short, where
/// `str::find` costs more to set up than to run).
fn local_name(name: &str) -> &str {
    match name.as_bytes().iter().position(|&c| c == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Generator,
    Definitions,
    Tests,
    Objects,
    States,
    Variables,
}

fn section_of(name: &str) -> Section {
    match name {
        "generator" => Section::Generator,
        "definitions" => Section::Definitions,
        "tests" => Section::Tests,
        "objects" => Section::Objects,
        // Some hand-trimmed files spell the section `<state>`.
        "states" | "state" => Section::States,
        "variables" => Section::Variables,
        _ => Section::None,
    }
}

/// A buffered reader that can also skip raw bytes up to a marker without
/// tokenizing them (pass 1 skips the definitions section this way; pass 2
/// reads it).
pub struct RawBuf<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<R: Read> RawBuf<R> {
    /// Wraps `inner` with a 256 KiB buffer.
    pub fn new(inner: R) -> Self {
        RawBuf {
            inner,
            buf: vec![0; 256 * 1024],
            pos: 0,
            end: 0,
        }
    }

    /// Keeps the unread bytes, moves them to the front and reads more.
    /// Returns false at end of input.
    fn fill_more(&mut self) -> io::Result<bool> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.end == self.buf.len() {
            let grow = self.buf.len();
            self.buf.resize(grow * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Discards bytes up to (not including) the first occurrence of
    /// `marker`; returns the number of bytes skipped, or `None` if the input
    /// ends first.
    pub fn skip_until(&mut self, marker: &[u8]) -> io::Result<Option<u64>> {
        let finder = memchr::memmem::Finder::new(marker);
        let mut skipped = 0u64;
        loop {
            let window = &self.buf[self.pos..self.end];
            if let Some(at) = finder.find(window) {
                self.pos += at;
                return Ok(Some(skipped + at as u64));
            }
            // Keep a possible partial marker at the end of the window.
            let keep = window.len().min(marker.len().saturating_sub(1));
            let drop = window.len() - keep;
            self.pos += drop;
            skipped += drop as u64;
            if !self.fill_more()? {
                return Ok(None);
            }
        }
    }
}

impl<R: Read> Read for RawBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for RawBuf<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.fill_more()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.end);
    }
}

/// The attributes of `e` named in `names` (local names), in that order,
/// borrowed where no unescaping was needed. A later duplicate wins.
fn attrs_cow<'a, const N: usize>(
    e: &'a BytesStart<'_>,
    names: [&str; N],
) -> [Option<Cow<'a, str>>; N] {
    let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut rest = e.attributes_raw();
    while let Some((key, value, tail)) = next_attribute(rest) {
        rest = tail;
        let local = local_part(key).as_bytes();
        // Length and first byte rule out nearly every other name before
        // any byte comparison.
        if let Some(i) = names.iter().position(|n| {
            let n = n.as_bytes();
            n.len() == local.len() && n.first() == local.first() && n == local
        }) {
            out[i] = Some(if rewritten(value.as_bytes()) {
                attr_value(key, value)
            } else {
                Cow::Borrowed(value)
            });
        }
    }
    out
}

/// Splits the first `name="value"` (or `name='value'`) off the attribute
/// text of a start tag; `None` at the end or on anything malformed (the
/// attributes read so far stand).
fn next_attribute(raw: &str) -> Option<(&str, &str, &str)> {
    let b = raw.as_bytes();
    let mut start = 0;
    while b.get(start).is_some_and(u8::is_ascii_whitespace) {
        start += 1;
    }
    // Names are short: a plain loop beats a memchr call here.
    let eq = start + b[start..].iter().position(|&c| c == b'=')?;
    let mut end = eq;
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    if end == start {
        return None;
    }
    let mut open = eq + 1;
    while b.get(open).is_some_and(u8::is_ascii_whitespace) {
        open += 1;
    }
    let quote = *b.get(open)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let close = open + 1 + memchr::memchr(quote, &b[open + 1..])?;
    // Every cut is next to an ASCII byte, so all are char boundaries.
    Some((&raw[start..end], &raw[open + 1..close], &raw[close + 1..]))
}

/// Words of eight bytes with a bit set for every zero byte: a false mark
/// appears only above a true one, so the lowest mark is always true.
fn zero_bytes(v: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    v.wrapping_sub(LO) & !v & HI
}

/// `b` repeated in every byte of a word.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// Whether an attribute value holds a byte the XML rules rewrite (`&`,
/// tab, newline, carriage return). Only values an element's reader keeps
/// are checked; most are ids of about 40 bytes, checked eight bytes at a
/// time (two memchr calls cost more there); longer ones with memchr.
fn rewritten(b: &[u8]) -> bool {
    if b.len() >= 64 {
        return memchr::memchr3(b'&', b'\t', b'\n', b).is_some()
            || memchr::memchr(b'\r', b).is_some();
    }
    let chunks = b.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let hits = zero_bytes(v ^ splat(b'&'))
            | zero_bytes(v ^ splat(b'\t'))
            | zero_bytes(v ^ splat(b'\n'))
            | zero_bytes(v ^ splat(b'\r'));
        if hits != 0 {
            return true;
        }
    }
    tail.iter()
        .any(|c| matches!(c, b'&' | b'\t' | b'\n' | b'\r'))
}

/// The part of a qualified name after its prefix.
fn local_part(name: &str) -> &str {
    match name.as_bytes().iter().rposition(|&c| c == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// An attribute's value with references expanded and whitespace
/// normalized as the XML rules say (called only for a value that holds a
/// reference or a tab, newline or carriage return; others are borrowed).
fn attr_value<'a>(key: &'a str, value: &'a str) -> Cow<'a, str> {
    let attribute = quick_xml::events::attributes::Attribute {
        key: quick_xml::name::QName(key),
        value: Cow::Borrowed(value),
    };
    match attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
        Ok(v) => v,
        Err(_) => Cow::Borrowed(value),
    }
}

/// [`attrs_cow`], owned.
fn attrs<const N: usize>(e: &BytesStart<'_>, names: [&str; N]) -> [Option<String>; N] {
    attrs_cow(e, names).map(|v| v.map(Cow::into_owned))
}

/// A test being read: kind, none-satisfy, none-exist, object, states.
type PendingTest = (Arc<str>, bool, bool, Option<Key>, States);

/// Pass 1 state.
struct Collector {
    tables: Tables,
    section: Section,
    capture: bool,
    /// Capturing `generator/timestamp` (not `product_name`).
    in_timestamp: bool,
    text: String,
    cur_id: Option<Key>,
    cur_test: Option<PendingTest>,
    cur_item: Option<Item>,
    /// The fields of `cur_item` as they are read, moved into an exactly
    /// sized vector when it ends (no growth or shrink per item).
    fields: Vec<Field>,
    cur_var: Option<Variable>,
    cur_field: Option<Field>,
}

impl Collector {
    fn start(&mut self, e: &BytesStart<'_>, rel: usize) {
        let t = &mut self.tables;
        match self.section {
            Section::Generator => {
                let name = e.local_name();
                self.capture = matches!(name.as_ref(), "product_name" | "timestamp");
                self.in_timestamp = name.as_ref() == "timestamp";
                self.text.clear();
            }
            Section::Tests => {
                if rel == 1 {
                    let [id, check, existence] = attrs_cow(e, ["id", "check", "check_existence"]);
                    self.cur_id = id.map(|id| t.strings.key(&id));
                    self.cur_test = Some((
                        t.strings.shared(local_name(e.name().0)),
                        check.as_deref() == Some("none satisfy"),
                        existence.as_deref() == Some("none_exist"),
                        None,
                        States::None,
                    ));
                } else if rel == 2 {
                    if let Some(test) = self.cur_test.as_mut() {
                        match local_name(e.name().0) {
                            "object" => {
                                let [r] = attrs_cow(e, ["object_ref"]);
                                test.3 = r.map(|r| t.strings.key(&r));
                            }
                            "state" => {
                                let [r] = attrs_cow(e, ["state_ref"]);
                                if let Some(r) = r {
                                    test.4.push(t.strings.key(&r));
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            Section::Objects | Section::States => {
                if rel == 1 {
                    let [id, comment] = attrs_cow(e, ["id", "comment"]);
                    self.cur_id = id.map(|id| t.strings.key(&id));
                    let item = Item {
                        kind: t.strings.shared(local_name(e.name().0)),
                        fields: Vec::new(),
                    };
                    self.fields.clear();
                    // Ubuntu names the source package in the object comment.
                    if let (Section::Objects, Some(c)) = (self.section, comment) {
                        self.fields.push(Field {
                            name: t.strings.shared("comment"),
                            operation: None,
                            var_ref: None,
                            value: c.into(),
                        });
                    }
                    self.cur_item = Some(item);
                } else if rel == 2 {
                    let [operation, var_ref] = attrs_cow(e, ["operation", "var_ref"]);
                    self.cur_field = Some(Field {
                        name: t.strings.shared(local_name(e.name().0)),
                        operation: operation.map(|o| t.strings.shared(&o)),
                        var_ref: var_ref.map(|v| t.strings.key(&v)),
                        value: Box::from(""),
                    });
                    self.capture = true;
                    self.text.clear();
                }
            }
            Section::Variables => {
                if rel == 1 {
                    let [id] = attrs_cow(e, ["id"]);
                    self.cur_id = id.map(|id| t.strings.key(&id));
                    self.cur_var = Some(Variable {
                        kind: t.strings.shared(local_name(e.name().0)),
                        values: Vec::new(),
                    });
                } else if rel == 2 && local_name(e.name().0) == "value" {
                    self.capture = true;
                    self.text.clear();
                }
            }
            Section::None | Section::Definitions => {}
        }
    }

    fn end(&mut self, rel: usize) {
        let t = &mut self.tables;
        match self.section {
            Section::Generator if self.capture => {
                let text = self.text.trim().to_string();
                if self.in_timestamp {
                    t.generated = Some(text);
                } else {
                    t.generator = text;
                }
                self.capture = false;
            }
            Section::Tests if rel == 1 => {
                if let (Some(id), Some((kind, none_satisfy, none_exist, object, states))) =
                    (self.cur_id.take(), self.cur_test.take())
                {
                    t.tests.push(
                        id,
                        Test {
                            kind,
                            none_satisfy,
                            none_exist,
                            object,
                            states,
                        },
                    );
                }
            }
            Section::Objects | Section::States if rel == 2 => {
                if let (Some(mut field), Some(_)) = (self.cur_field.take(), self.cur_item.as_ref())
                {
                    field.value = self.text.trim().into();
                    self.fields.push(field);
                }
                self.capture = false;
            }
            Section::Objects | Section::States if rel == 1 => {
                if let (Some(id), Some(mut item)) = (self.cur_id.take(), self.cur_item.take()) {
                    item.fields = self.fields.drain(..).collect();
                    if self.section == Section::Objects {
                        t.objects.push(id, item);
                    } else {
                        t.states.push(id, item);
                    }
                }
            }
            Section::Variables if rel == 2 && self.capture => {
                if let Some(var) = self.cur_var.as_mut() {
                    var.values.push(self.text.trim().into());
                }
                self.capture = false;
            }
            Section::Variables if rel == 1 => {
                if let (Some(id), Some(var)) = (self.cur_id.take(), self.cur_var.take()) {
                    t.variables.push(id, var);
                }
            }
            _ => {}
        }
    }
}

/// Pass 1: reads the whole input and returns the tables. The definitions
/// section is skipped as raw bytes (pass 2 parses it); everything else is
/// checked for well-formedness, so a truncated file fails here, before any
/// record is produced.
pub fn collect_tables<R: Read>(source: R) -> Result<Tables, OvalError> {
    let mut reader = Reader::from_reader(RawBuf::new(source));
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut c = Collector {
        tables: Tables::default(),
        section: Section::None,
        capture: false,
        in_timestamp: false,
        text: String::new(),
        cur_id: None,
        cur_test: None,
        cur_item: None,
        fields: Vec::new(),
        cur_var: None,
        cur_field: None,
    };
    let mut depth = 0usize;
    let mut saw_root = false;
    // Bytes skipped raw, to keep error positions right.
    let mut skipped = 0u64;
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            let mut err = xml_error(&reader, e);
            if let OvalError::Xml { position, .. } = &mut err {
                *position += skipped;
            }
            err
        })?;
        let (start, empty) = start_tag(&event);
        if let Some(e) = start {
            enter(&mut depth, reader.buffer_position() + skipped)?;
            if depth == 1 {
                saw_root = true;
                if local_name(e.name().0) != "oval_definitions" {
                    return Err(OvalError::NotOval(local(e)));
                }
            } else if depth == 2 {
                c.section = section_of(local_name(e.name().0));
                if c.section == Section::Definitions && !empty {
                    let n = reader
                        .get_mut()
                        .skip_until(b"</definitions")
                        .map_err(OvalError::from)?;
                    match n {
                        Some(n) => skipped += n,
                        None => {
                            return Err(OvalError::Truncated {
                                position: reader.buffer_position() + skipped,
                            })
                        }
                    }
                }
            } else {
                c.start(e, depth - 2);
            }
            if empty {
                if depth > 2 {
                    c.end(depth - 2);
                }
                if depth == 2 {
                    c.section = Section::None;
                }
                depth -= 1;
            }
            buf.clear();
            continue;
        }
        match event {
            Event::End(_) => {
                if depth > 2 {
                    c.end(depth - 2);
                }
                if depth == 2 {
                    c.section = Section::None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if c.capture => c.text.push_str(&t.xml10_content()),
            Event::CData(t) if c.capture => c.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if c.capture => push_ref(&mut c.text, &r),
            Event::Eof => {
                if depth != 0 {
                    return Err(OvalError::Truncated {
                        position: reader.buffer_position() + skipped,
                    });
                }
                if !saw_root {
                    return Err(OvalError::NotOval("no root element".into()));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    let mut tables = c.tables;
    tables.tests.finish();
    tables.objects.finish();
    tables.states.finish();
    tables.variables.finish();
    Ok(tables)
}

/// Where a definition's element sits, as far as field mapping cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Metadata,
    Advisory,
    Debian,
    Other,
}

fn tag_of(name: &str) -> Tag {
    match name {
        "metadata" => Tag::Metadata,
        "advisory" => Tag::Advisory,
        "debian" => Tag::Debian,
        _ => Tag::Other,
    }
}

/// A definition element whose text is kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextField {
    Title,
    Description,
    Platform,
    Product,
    Severity,
    Cve,
    Component,
    Cpe,
    PublicDate,
    Ref,
    Bug,
    Dsa,
    Date,
    Patchable,
    AdvisoryDate,
}

/// The field a definition element's text goes to; the text of any other
/// element (mostly indentation between criteria) is skipped without copying.
fn text_field(name: &str) -> Option<TextField> {
    Some(match name {
        "title" => TextField::Title,
        "description" => TextField::Description,
        "platform" => TextField::Platform,
        "product" => TextField::Product,
        "severity" => TextField::Severity,
        "cve" => TextField::Cve,
        "component" => TextField::Component,
        "cpe" => TextField::Cpe,
        "public_date" => TextField::PublicDate,
        "ref" => TextField::Ref,
        "bug" => TextField::Bug,
        "dsa" => TextField::Dsa,
        "date" => TextField::Date,
        "patchable" => TextField::Patchable,
        "advisory_date" => TextField::AdvisoryDate,
        _ => return None,
    })
}

/// Pass 2: calls `each` for every definition, in document order, and stops
/// reading at `</definitions>` (or when `each` returns false).
pub fn for_each_definition<R: BufRead>(
    source: R,
    each: &mut dyn FnMut(Definition) -> bool,
) -> Result<(), OvalError> {
    let mut reader = Reader::from_reader(source);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut depth = 0usize;
    let mut in_definitions = false;
    let mut def: Option<Definition> = None;
    let mut text = String::new();
    // The text element open now, if any (text elements have no children).
    let mut capture: Option<TextField> = None;
    // Open criteria frames: (operator, negate, children).
    let mut frames: Vec<(String, bool, Vec<Node>)> = Vec::new();
    // The elements open inside the current definition.
    let mut path: Vec<Tag> = Vec::new();

    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(&reader, e))?;
        let (start, empty) = start_tag(&event);
        if let Some(e) = start {
            enter(&mut depth, reader.buffer_position())?;
            let name = local_name(e.name().0);
            if depth == 2 && name == "definitions" {
                in_definitions = !empty;
            } else if in_definitions && depth == 3 && name == "definition" {
                let [id, class] = attrs(e, ["id", "class"]);
                def = Some(Definition {
                    id: id.unwrap_or_default(),
                    class: class.unwrap_or_default(),
                    ..Definition::default()
                });
                frames.clear();
                path.clear();
            } else if let Some(d) = def.as_mut() {
                text.clear();
                capture = text_field(name);
                start_in_definition(d, e, name, &mut frames);
                path.push(tag_of(name));
                if empty {
                    path.pop();
                    let parent = path.last().copied().unwrap_or(Tag::Other);
                    end_in_definition(d, name, capture.take(), "", &mut frames, parent);
                }
            }
            if empty {
                if in_definitions && depth == 3 {
                    if let Some(d) = def.take() {
                        if !each(d) {
                            return Ok(());
                        }
                    }
                }
                depth -= 1;
            }
            buf.clear();
            continue;
        }
        match event {
            Event::End(e) => {
                if in_definitions && depth == 2 {
                    // </definitions>: the rest of the file is tables, read in pass 1.
                    return Ok(());
                }
                if in_definitions && depth == 3 {
                    if let Some(d) = def.take() {
                        if !each(d) {
                            return Ok(());
                        }
                    }
                } else if let Some(d) = def.as_mut() {
                    let name = local_name(e.name().0);
                    path.pop();
                    let parent = path.last().copied().unwrap_or(Tag::Other);
                    end_in_definition(d, name, capture.take(), &text, &mut frames, parent);
                    text.clear();
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if capture.is_some() => text.push_str(&t.xml10_content()),
            Event::CData(t) if capture.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if capture.is_some() => push_ref(&mut text, &r),
            Event::Eof => {
                if depth != 0 {
                    return Err(OvalError::Truncated {
                        position: reader.buffer_position(),
                    });
                }
                return Ok(());
            }
            _ => {}
        }
        buf.clear();
    }
}

fn start_in_definition(
    d: &mut Definition,
    e: &BytesStart<'_>,
    name: &str,
    frames: &mut Vec<(String, bool, Vec<Node>)>,
) {
    let is_true = |v: &Option<Cow<'_, str>>| v.as_deref().is_some_and(|v| v == "true" || v == "1");
    let owned = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned).unwrap_or_default();
    match name {
        "criteria" => {
            let [operator, negate] = attrs_cow(e, ["operator", "negate"]);
            frames.push((
                operator.map_or_else(|| "AND".into(), Cow::into_owned),
                is_true(&negate),
                Vec::new(),
            ))
        }
        "criterion" | "extend_definition" => {
            let criterion = name == "criterion";
            let reference = if criterion {
                "test_ref"
            } else {
                "definition_ref"
            };
            let [reference, negate, comment] = attrs_cow(e, [reference, "negate", "comment"]);
            if let Some(top) = frames.last_mut() {
                let (reference, negate) = (owned(reference), is_true(&negate));
                let comment = owned(comment);
                top.2.push(if criterion {
                    Node::Criterion {
                        test: reference,
                        negate,
                        comment,
                    }
                } else {
                    Node::Extend {
                        definition: reference,
                        negate,
                        comment,
                    }
                });
            }
        }
        "reference" => {
            let [source, ref_id, ref_url] = attrs(e, ["source", "ref_id", "ref_url"]);
            d.references.push(RefEntry {
                source: source.unwrap_or_default(),
                ref_id: ref_id.unwrap_or_default(),
                ref_url: ref_url.unwrap_or_default(),
            })
        }
        "cve" => {
            let [href, cvss2, cvss3, cvss4, cvss_vector, impact, priority, public] = attrs(
                e,
                [
                    "href",
                    "cvss2",
                    "cvss3",
                    "cvss4",
                    "cvss_vector",
                    "impact",
                    "priority",
                    "public",
                ],
            );
            d.cves.push(CveEntry {
                href: href.unwrap_or_default(),
                cvss2: cvss2.unwrap_or_default(),
                cvss3: cvss3.unwrap_or_default(),
                cvss4: cvss4.unwrap_or_default(),
                cvss_vector: cvss_vector.unwrap_or_default(),
                impact: impact.or(priority).unwrap_or_default(),
                public: public.unwrap_or_default(),
                text: String::new(),
            })
        }
        "issued" => {
            let [date] = attrs(e, ["date"]);
            if date.is_some() {
                d.issued = date;
            }
        }
        "updated" => {
            let [date] = attrs(e, ["date"]);
            d.updated = date;
        }
        "resolution" => {
            let [state] = attrs(e, ["state"]);
            d.resolutions.push((state.unwrap_or_default(), Vec::new()))
        }
        "bugzilla" => {
            let [href] = attrs(e, ["href"]);
            if let Some(href) = href {
                d.links.push(("REPORT".into(), href));
            }
        }
        _ => {}
    }
}

/// Closes a criteria block, or files the text of a finished text element
/// (`field`, from [`text_field`]).
fn end_in_definition(
    d: &mut Definition,
    name: &str,
    field: Option<TextField>,
    text: &str,
    frames: &mut Vec<(String, bool, Vec<Node>)>,
    parent: Tag,
) {
    if name == "criteria" {
        if let Some((operator, negate, children)) = frames.pop() {
            let node = Node::Criteria {
                operator,
                negate,
                children,
            };
            match frames.last_mut() {
                Some(top) => top.2.push(node),
                None => d.criteria = Some(node),
            }
        }
        return;
    }
    let Some(field) = field else { return };
    let text = text.trim().to_string();
    match field {
        TextField::Title if parent == Tag::Metadata => d.title = text,
        TextField::Description if parent == Tag::Metadata => d.description = text,
        TextField::Platform => d.platforms.push(text),
        TextField::Product => d.products.push(text),
        TextField::Severity => d.severity = Some(text),
        TextField::Cve => {
            if let Some(c) = d.cves.last_mut() {
                c.text = text;
            }
        }
        TextField::Component => {
            if let Some(r) = d.resolutions.last_mut() {
                r.1.push(text);
            }
        }
        TextField::Cpe => d.cpes.push(text),
        TextField::PublicDate => d.public_date = Some(text),
        TextField::Ref if parent == Tag::Advisory => d.links.push(("WEB".into(), text)),
        TextField::Bug if parent == Tag::Advisory => d.links.push(("REPORT".into(), text)),
        TextField::Dsa => d.dsa = Some(text),
        TextField::Patchable if parent == Tag::Metadata => d.patchable = Some(text),
        TextField::AdvisoryDate if parent == Tag::Metadata => d.issued = Some(text),
        TextField::Date if parent == Tag::Debian => d.issued = Some(text),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time check agrees with a byte loop on every placement
    /// of each rewritten byte, across word edges and both code paths.
    #[test]
    fn rewritten_matches_a_byte_loop() {
        for len in 0..80 {
            for odd in [None, Some(b'&'), Some(b'\t'), Some(b'\n'), Some(b'\r')] {
                for at in 0..len.max(1) {
                    let mut b = vec![b'a'; len];
                    if let (Some(c), true) = (odd, at < len) {
                        b[at] = c;
                    }
                    let expected = b.iter().any(|c| matches!(c, b'&' | b'\t' | b'\n' | b'\r'));
                    assert_eq!(rewritten(&b), expected, "{:?}", String::from_utf8_lossy(&b));
                }
            }
        }
        // Bytes next to the rewritten ones never count.
        assert!(!rewritten(
            b"\x25\x27\x08\x0b\x0c\x0e plain text of some length"
        ));
    }

    #[test]
    fn attributes_are_borrowed_or_normalized() {
        let tag = BytesStart::from_content(
            "t a=\"x &amp; y\" b='plain' c=\"tab\there\" d=\"oval:x:tst:1\"",
            1,
        );
        let [a, b, c, d, missing] = attrs_cow(&tag, ["a", "b", "c", "d", "e"]);
        assert_eq!(a.as_deref(), Some("x & y"));
        assert!(matches!(b, Some(Cow::Borrowed("plain"))));
        assert_eq!(c.as_deref(), Some("tab here"));
        assert!(matches!(d, Some(Cow::Borrowed("oval:x:tst:1"))));
        assert!(missing.is_none());
    }

    #[test]
    fn ids_split_into_prefix_and_number() {
        assert_eq!(
            Interner::split("oval:a:tst:20190966001"),
            ("oval:a:tst", 20190966001)
        );
        assert_eq!(Interner::split("oval:a:tst:0"), ("oval:a:tst", 0));
        assert_eq!(Interner::split("oval:a:tst:01"), ("oval:a:tst:01", WHOLE));
        assert_eq!(Interner::split("oval:a:tst:1x"), ("oval:a:tst:1x", WHOLE));
        assert_eq!(Interner::split("oval:a:tst:"), ("oval:a:tst:", WHOLE));
        assert_eq!(Interner::split("12345"), ("12345", WHOLE));
        assert_eq!(Interner::split(":7"), ("", 7));
        let twenty = "p:12345678901234567890";
        assert_eq!(Interner::split(twenty), (twenty, WHOLE));
        let mut strings = Interner::default();
        let (a, b) = (strings.key("p:tst:1"), strings.key("p:obj:1"));
        assert_ne!(a, b);
        assert_eq!(strings.find("p:tst:1"), Some(a));
        assert_eq!(strings.find("p:obj:1"), Some(b));
        assert_eq!(strings.find("q:obj:1"), None);
        assert_eq!(strings.render(a), "p:tst:1");
    }
}
