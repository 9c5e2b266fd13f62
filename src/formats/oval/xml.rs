//! The streaming OVAL reader: pass 1 builds compact tables of tests, objects,
//! states and variables; pass 2 yields definitions one at a time.
//!
//! Neither pass keeps more than one element's text in memory besides the
//! tables, which hold only the fields a normalizer reads (ids, names,
//! operations, values). Entities other than the five predefined ones and
//! character references are never expanded.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use super::OvalError;

/// One `*_test` element, reduced to what normalizers read.
#[derive(Debug, Clone, Default)]
pub struct Test {
    /// The element's local name (`rpminfo_test`, `dpkginfo_test`, ...).
    pub kind: Box<str>,
    /// The `check` attribute (`at least one`, `none satisfy`, ...).
    pub check: Option<Box<str>>,
    /// The `check_existence` attribute (`none_exist`, ...).
    pub check_existence: Option<Box<str>>,
    /// The `comment` attribute.
    pub comment: Box<str>,
    /// The referenced object.
    pub object: Option<Box<str>>,
    /// The referenced states.
    pub states: Vec<Box<str>>,
}

/// A child element of an object or state (`name`, `evr`, `filepath`, ...).
#[derive(Debug, Clone, Default)]
pub struct Field {
    /// The element's local name.
    pub name: Box<str>,
    /// The `operation` attribute, if any.
    pub operation: Option<Box<str>>,
    /// The `datatype` attribute, if any.
    pub datatype: Option<Box<str>>,
    /// The `var_ref` attribute, if any.
    pub var_ref: Option<Box<str>>,
    /// The element's text.
    pub value: Box<str>,
}

/// An object or a state: its kind and its fields.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// The element's local name (`rpminfo_object`, `dpkginfo_state`, ...).
    pub kind: Box<str>,
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
#[derive(Debug, Clone, Default)]
pub struct Variable {
    /// The element's local name.
    pub kind: Box<str>,
    /// The `value` children of a constant variable.
    pub values: Vec<Box<str>>,
}

/// Everything pass 1 collects.
#[derive(Debug, Default)]
pub struct Tables {
    /// Tests by id.
    pub tests: HashMap<Box<str>, Test>,
    /// Objects by id.
    pub objects: HashMap<Box<str>, Item>,
    /// States by id.
    pub states: HashMap<Box<str>, Item>,
    /// Variables by id.
    pub variables: HashMap<Box<str>, Variable>,
    /// `generator/product_name`.
    pub generator: String,
    /// The id of the first definition (dialect detection).
    pub first_definition: Option<String>,
    /// The number of definitions.
    pub definitions: usize,
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
    /// The criteria tree.
    pub criteria: Option<Node>,
}

/// A quick-xml reader over a buffered source, with the options OVAL needs.
pub fn reader<R: BufRead>(source: R) -> Reader<R> {
    let mut reader = Reader::from_reader(source);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    reader
}

fn xml_error<R>(reader: &Reader<R>, e: quick_xml::Error) -> OvalError {
    if let quick_xml::Error::Io(io) = &e {
        if io.kind() == std::io::ErrorKind::Other && io.to_string().contains(super::LIMIT_MARKER) {
            return OvalError::TooLarge(io.to_string());
        }
    }
    OvalError::Xml {
        position: reader.buffer_position(),
        message: e.to_string(),
    }
}

/// The value of attribute `name` (local name), unescaped.
pub fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        if a.key.local_name().as_ref() == name {
            Some(
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| a.value.clone().into_owned()),
            )
        } else {
            None
        }
    })
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
    e.local_name().as_ref().to_string()
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

fn boxed(s: Option<String>) -> Option<Box<str>> {
    s.map(String::into_boxed_str)
}

/// Pass 1: reads the whole input and returns the tables.
pub fn collect_tables<R: BufRead>(source: R) -> Result<Tables, OvalError> {
    let mut reader = reader(source);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut tables = Tables::default();
    let mut depth = 0usize;
    let mut saw_root = false;
    let mut section = Section::None;
    // Depth of the open section element (children are at section_depth + 1).
    let mut section_depth = 0usize;
    let mut text = String::new();
    let mut capture = false;
    // The item being built in tests/objects/states/variables.
    let mut cur_id: Option<Box<str>> = None;
    let mut cur_test = Test::default();
    let mut cur_item = Item::default();
    let mut cur_var = Variable::default();
    let mut cur_field: Option<Field> = None;

    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(&reader, e))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth == 1 {
                    saw_root = true;
                    if e.local_name().as_ref() != "oval_definitions" {
                        return Err(OvalError::NotOval(local(&e)));
                    }
                    buf.clear();
                    continue;
                }
                if depth == 2 {
                    section = section_of(e.local_name().as_ref());
                    section_depth = 2;
                    buf.clear();
                    continue;
                }
                let rel = depth - section_depth;
                match section {
                    Section::Generator => {
                        capture = e.local_name().as_ref() == "product_name";
                        text.clear();
                    }
                    Section::Definitions => {
                        if rel == 1 && e.local_name().as_ref() == "definition" {
                            tables.definitions += 1;
                            if tables.first_definition.is_none() {
                                tables.first_definition = attr(&e, "id");
                            }
                        }
                    }
                    Section::Tests => {
                        if rel == 1 {
                            cur_id = boxed(attr(&e, "id"));
                            cur_test = Test {
                                kind: local(&e).into_boxed_str(),
                                check: boxed(attr(&e, "check")),
                                check_existence: boxed(attr(&e, "check_existence")),
                                comment: attr(&e, "comment").unwrap_or_default().into_boxed_str(),
                                object: None,
                                states: Vec::new(),
                            };
                        } else if rel == 2 {
                            match e.local_name().as_ref() {
                                "object" => cur_test.object = boxed(attr(&e, "object_ref")),
                                "state" => {
                                    if let Some(s) = attr(&e, "state_ref") {
                                        cur_test.states.push(s.into_boxed_str());
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    Section::Objects | Section::States => {
                        if rel == 1 {
                            cur_id = boxed(attr(&e, "id"));
                            cur_item = Item {
                                kind: local(&e).into_boxed_str(),
                                fields: Vec::new(),
                            };
                            // Ubuntu names the source package in the object comment.
                            if section == Section::Objects {
                                if let Some(c) = attr(&e, "comment") {
                                    cur_item.fields.push(Field {
                                        name: Box::from("comment"),
                                        value: c.into_boxed_str(),
                                        ..Field::default()
                                    });
                                }
                            }
                        } else if rel == 2 {
                            cur_field = Some(Field {
                                name: local(&e).into_boxed_str(),
                                operation: boxed(attr(&e, "operation")),
                                datatype: boxed(attr(&e, "datatype")),
                                var_ref: boxed(attr(&e, "var_ref")),
                                value: Box::from(""),
                            });
                            capture = true;
                            text.clear();
                        }
                    }
                    Section::Variables => {
                        if rel == 1 {
                            cur_id = boxed(attr(&e, "id"));
                            cur_var = Variable {
                                kind: local(&e).into_boxed_str(),
                                values: Vec::new(),
                            };
                        } else if rel == 2 && e.local_name().as_ref() == "value" {
                            capture = true;
                            text.clear();
                        }
                    }
                    Section::None => {}
                }
            }
            Event::End(_) => {
                if depth == 0 {
                    // check_end_names rejects this already; keep the guard anyway.
                    return Err(OvalError::Xml {
                        position: reader.buffer_position(),
                        message: "unbalanced end tag".into(),
                    });
                }
                let rel = depth.saturating_sub(section_depth);
                match section {
                    Section::Generator if capture => {
                        tables.generator = text.trim().to_string();
                        capture = false;
                    }
                    Section::Tests if rel == 1 => {
                        if let Some(id) = cur_id.take() {
                            tables.tests.insert(id, std::mem::take(&mut cur_test));
                        }
                    }
                    Section::Objects | Section::States if rel == 2 => {
                        if let Some(mut field) = cur_field.take() {
                            field.value = text.trim().into();
                            cur_item.fields.push(field);
                        }
                        capture = false;
                    }
                    Section::Objects if rel == 1 => {
                        if let Some(id) = cur_id.take() {
                            tables.objects.insert(id, std::mem::take(&mut cur_item));
                        }
                    }
                    Section::States if rel == 1 => {
                        if let Some(id) = cur_id.take() {
                            tables.states.insert(id, std::mem::take(&mut cur_item));
                        }
                    }
                    Section::Variables if rel == 2 && capture => {
                        cur_var.values.push(text.trim().into());
                        capture = false;
                    }
                    Section::Variables if rel == 1 => {
                        if let Some(id) = cur_id.take() {
                            tables.variables.insert(id, std::mem::take(&mut cur_var));
                        }
                    }
                    _ => {}
                }
                if depth == 2 {
                    section = Section::None;
                }
                depth -= 1;
            }
            Event::Text(t) if capture => text.push_str(&t.xml10_content()),
            Event::CData(t) if capture => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if capture => push_ref(&mut text, &r),
            Event::Eof => {
                if depth != 0 {
                    return Err(OvalError::Truncated {
                        position: reader.buffer_position(),
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
    Ok(tables)
}

/// Pass 2: calls `each` for every definition, in document order, and stops
/// reading at `</definitions>`. `each` returns false to stop early.
pub fn for_each_definition<R: BufRead>(
    source: R,
    each: &mut dyn FnMut(Definition),
) -> Result<(), OvalError> {
    let mut reader = reader(source);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut depth = 0usize;
    let mut in_definitions = false;
    let mut def: Option<Definition> = None;
    let mut text = String::new();
    // Open criteria frames: (operator, negate, children).
    let mut frames: Vec<(String, bool, Vec<Node>)> = Vec::new();
    // The element names open inside the current definition.
    let mut path: Vec<String> = Vec::new();

    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(&reader, e))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.local_name();
                let name = name.as_ref();
                if depth == 2 && name == "definitions" {
                    in_definitions = true;
                } else if in_definitions && depth == 3 && name == "definition" {
                    def = Some(Definition {
                        id: attr(&e, "id").unwrap_or_default(),
                        class: attr(&e, "class").unwrap_or_default(),
                        ..Definition::default()
                    });
                    frames.clear();
                    path.clear();
                } else if let Some(d) = def.as_mut() {
                    text.clear();
                    start_in_definition(d, &e, name, &mut frames);
                    path.push(name.to_string());
                }
            }
            Event::End(e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if in_definitions && depth == 2 {
                    // </definitions>: the rest of the file is tables, read in pass 1.
                    return Ok(());
                }
                if in_definitions && depth == 3 {
                    if let Some(d) = def.take() {
                        each(d);
                    }
                } else if let Some(d) = def.as_mut() {
                    path.pop();
                    end_in_definition(d, name, &text, &mut frames, &path);
                    text.clear();
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if def.is_some() => text.push_str(&t.xml10_content()),
            Event::CData(t) if def.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if def.is_some() => push_ref(&mut text, &r),
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
    let negate = attr(e, "negate").is_some_and(|v| v == "true" || v == "1");
    match name {
        "criteria" => frames.push((
            attr(e, "operator").unwrap_or_else(|| "AND".into()),
            negate,
            Vec::new(),
        )),
        "criterion" => {
            if let Some(top) = frames.last_mut() {
                top.2.push(Node::Criterion {
                    test: attr(e, "test_ref").unwrap_or_default(),
                    negate,
                    comment: attr(e, "comment").unwrap_or_default(),
                });
            }
        }
        "extend_definition" => {
            if let Some(top) = frames.last_mut() {
                top.2.push(Node::Extend {
                    definition: attr(e, "definition_ref").unwrap_or_default(),
                    negate,
                    comment: attr(e, "comment").unwrap_or_default(),
                });
            }
        }
        "reference" => d.references.push(RefEntry {
            source: attr(e, "source").unwrap_or_default(),
            ref_id: attr(e, "ref_id").unwrap_or_default(),
            ref_url: attr(e, "ref_url").unwrap_or_default(),
        }),
        "cve" => d.cves.push(CveEntry {
            href: attr(e, "href").unwrap_or_default(),
            cvss2: attr(e, "cvss2").unwrap_or_default(),
            cvss3: attr(e, "cvss3").unwrap_or_default(),
            cvss4: attr(e, "cvss4").unwrap_or_default(),
            cvss_vector: attr(e, "cvss_vector").unwrap_or_default(),
            impact: attr(e, "impact")
                .or_else(|| attr(e, "priority"))
                .unwrap_or_default(),
            public: attr(e, "public").unwrap_or_default(),
            text: String::new(),
        }),
        "issued" => d.issued = attr(e, "date").or(d.issued.take()),
        "updated" => d.updated = attr(e, "date"),
        "resolution" => d
            .resolutions
            .push((attr(e, "state").unwrap_or_default(), Vec::new())),
        "bugzilla" => {
            if let Some(href) = attr(e, "href") {
                d.links.push(("REPORT".into(), href));
            }
        }
        _ => {}
    }
}

fn end_in_definition(
    d: &mut Definition,
    name: &str,
    text: &str,
    frames: &mut Vec<(String, bool, Vec<Node>)>,
    path: &[String],
) {
    let text = text.trim();
    let parent = path.last().map(String::as_str).unwrap_or("");
    match name {
        "criteria" => {
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
        }
        "title" if parent == "metadata" => d.title = text.to_string(),
        "description" if parent == "metadata" => d.description = text.to_string(),
        "platform" => d.platforms.push(text.to_string()),
        "product" => d.products.push(text.to_string()),
        "severity" => d.severity = Some(text.to_string()),
        "cve" => {
            if let Some(c) = d.cves.last_mut() {
                c.text = text.to_string();
            }
        }
        "component" => {
            if let Some(r) = d.resolutions.last_mut() {
                r.1.push(text.to_string());
            }
        }
        "cpe" => d.cpes.push(text.to_string()),
        "public_date" => d.public_date = Some(text.to_string()),
        "ref" | "bug" if parent == "advisory" => {
            let kind = if name == "bug" { "REPORT" } else { "WEB" };
            d.links.push((kind.into(), text.to_string()));
        }
        "dsa" => d.dsa = Some(text.to_string()),
        "date" if parent == "debian" => d.issued = Some(text.to_string()),
        _ => {}
    }
}
