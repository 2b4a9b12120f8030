//! The C headers in `include/` against libevent 2.1.12's own.
//!
//! evbase's headers must be libevent's event core, declaration for
//! declaration, so that a program written for libevent compiles unchanged
//! and a binary built against libevent runs on evbase. These tests prove it
//! with gcc, comparing evbase's headers (`include/`) with the ones Debian's
//! libevent-dev installs in `/usr/include`:
//!
//! - `layout_and_values`: probe programs built against each side print the
//!   size, alignment and offset of every field of the public structures,
//!   the enumeration constants, and the value (or size and signedness) of
//!   every object-like macro both sides define; the outputs must be equal.
//! - `macros_and_declarations`: for each public header alone, the macros
//!   it leaves defined and the structures, enumerations, typedefs and
//!   function attributes it declares, compared token by token after
//!   preprocessing, file by file.
//! - `prototypes`: every function prototype, as gcc's `-aux-info` prints it.
//! - `libevent_test_programs_compile`: libevent's own core test programs
//!   and the core regression files compile, warning-free, against
//!   `include/` and no other libevent header.
//! - `compat_program`: a 1.x-style program that includes only `<event.h>`.
//! - `a_mismatch_is_caught`: a copy of `include/` with one constant, one
//!   field and one parameter changed must fail the comparisons above.
//!
//! Where gcc is missing, every test says so and passes; where libevent-dev
//! is missing (no `/usr/include/event2/event.h`), the ones that compare
//! with it say so and pass. What evbase leaves out of libevent's headers on
//! purpose is listed in [`LEFT_OUT`], each with its reason; anything else
//! missing, extra or different fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The public headers of libevent's event core, relative to an include
/// directory. Anything else under `event2/` (buffer, bufferevent, dns,
/// http, rpc, tag, listener, keyvalq_struct) is outside evbase.
const CORE_HEADERS: &[&str] = &[
    "event2/event.h",
    "event2/event_struct.h",
    "event2/event_compat.h",
    "event2/thread.h",
    "event2/util.h",
    "event2/visibility.h",
    "event2/event-config.h",
    "event.h",
    "evutil.h",
];

/// What evbase's headers leave out of libevent's on purpose: header, name
/// (a trailing `*` matches a prefix) and why. Everything not listed here
/// must be present and identical.
const LEFT_OUT: &[(&str, &str, &str)] = &[
    ("event2/util.h", "evutil_getaddrinfo", "resolver (libevent's DNS layer)"),
    (
        "event2/util.h",
        "evutil_freeaddrinfo",
        "resolver (libevent's DNS layer)",
    ),
    (
        "event2/util.h",
        "evutil_gai_strerror",
        "resolver (libevent's DNS layer)",
    ),
    (
        "event2/util.h",
        "EVUTIL_EAI_*",
        "resolver error codes (libevent's DNS layer)",
    ),
    ("event2/util.h", "EVUTIL_AI_*", "resolver flags (libevent's DNS layer)"),
    (
        "event2/util.h",
        "evutil_inet_ntop",
        "address printing (DNS, HTTP, listener)",
    ),
    (
        "event2/util.h",
        "evutil_inet_pton",
        "address parsing (DNS, HTTP, listener)",
    ),
    (
        "event2/util.h",
        "evutil_inet_pton_scope",
        "address parsing (DNS, HTTP, listener)",
    ),
    (
        "event2/util.h",
        "evutil_parse_sockaddr_port",
        "address parsing (DNS, HTTP, listener)",
    ),
    ("event2/util.h", "evutil_sockaddr_cmp", "address comparison (DNS)"),
    (
        "event2/event-config.h",
        "EVENT__HAVE_OPENSSL",
        "says libevent_openssl was built; evbase has no OpenSSL bufferevents",
    ),
];

/// libevent's core test programs (`test/`), which must compile against
/// evbase's headers alone (plus libevent's internal headers).
const TEST_PROGRAMS: &[&str] = &[
    "test-init.c",
    "test-eof.c",
    "test-weof.c",
    "test-closed.c",
    "test-time.c",
    "test-changelist.c",
    "test-dumpevents.c",
    "bench.c",
    "bench_cascade.c",
];

/// libevent's regression-suite files for the event core. They also include
/// libevent's evbuffer and tagging headers, which come from libevent's
/// source tree; every core header must still be evbase's.
const REGRESS_FILES: &[&str] = &[
    "regress.c",
    "regress_et.c",
    "regress_thread.c",
    "regress_finalize.c",
    "regress_main.c",
    "tinytest.c",
];

/// Where libevent-dev installs its headers.
const SYSTEM_INCLUDE: &str = "/usr/include";

fn left_out(header: &str, name: &str) -> bool {
    LEFT_OUT.iter().any(|(h, n, _)| {
        *h == header
            && match n.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => *n == name,
            }
    })
}

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

struct Env {
    /// evbase's include directory (or a mutated copy of it).
    ours: PathBuf,
    /// The small C files of this check.
    probes: PathBuf,
    /// A scratch directory of this test.
    tmp: PathBuf,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn peers_dir() -> PathBuf {
    manifest_dir().join("../../shared/peers/libevent-2.1.12")
}

/// The set-up of one test, or `None` (after saying why) when gcc is missing.
fn env(test: &str) -> Option<Env> {
    match Command::new("gcc").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            println!("skipped {test}: gcc was not found, so the C headers cannot be checked");
            return None;
        }
    }
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("headers").join(test);
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).expect("create the scratch directory");
    Some(Env {
        ours: manifest_dir().join("include"),
        probes: manifest_dir().join("tests/headers"),
        tmp,
    })
}

/// True when libevent-dev's headers are there to compare with; otherwise
/// says that `test` is skipped.
fn have_real_headers(test: &str) -> bool {
    if Path::new(SYSTEM_INCLUDE).join("event2/event.h").is_file() {
        true
    } else {
        println!(
            "skipped {test}: libevent's headers are not installed ({SYSTEM_INCLUDE}/event2/event.h is missing; \
             `apt-get install libevent-dev` provides them)"
        );
        false
    }
}

/// Which headers a compilation reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    Real,
}

impl Env {
    /// The include root of a side, for naming the files gcc reports.
    fn root(&self, side: Side) -> PathBuf {
        match side {
            Side::Ours => self.ours.clone(),
            Side::Real => PathBuf::from(SYSTEM_INCLUDE),
        }
    }

    /// The `-I` flags of a side. libevent's headers are in the compiler's
    /// default search path, so the real side needs none.
    fn include_args(&self, side: Side) -> Vec<String> {
        match side {
            Side::Ours => vec!["-I".into(), path_str(&self.ours)],
            Side::Real => vec![],
        }
    }

    /// Writes a scratch file and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.tmp.join(name);
        fs::write(&path, text).expect("write a scratch file");
        path
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("paths are UTF-8").to_owned()
}

/// Runs gcc; panics with its diagnostics when it fails. Returns stdout.
fn gcc(args: &[String]) -> String {
    let out = Command::new("gcc").args(args).output().expect("run gcc");
    if !out.status.success() {
        panic!(
            "gcc {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).expect("gcc prints UTF-8")
}

/// Runs gcc and reports, instead of panicking, when it fails or warns.
fn gcc_clean(args: &[String]) -> Result<(), String> {
    let out = Command::new("gcc").args(args).output().expect("run gcc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("gcc {}:\n{stderr}", args.join(" ")))
    }
}

/// Builds and runs a probe program, returning its output.
fn run_probe(env: &Env, side: Side, source: &Path, name: &str) -> String {
    let exe = env.tmp.join(format!("{name}-{side:?}"));
    let deps = env.tmp.join(format!("{name}-{side:?}.d"));
    let mut args = env.include_args(side);
    args.extend(["-w".into(), "-MD".into(), "-MF".into(), path_str(&deps)]);
    args.extend(["-o".into(), path_str(&exe), path_str(source)]);
    gcc(&args);
    if side == Side::Ours {
        only_our_headers(&deps, source).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = Command::new(&exe).output().expect("run a probe");
    assert!(out.status.success(), "{} failed", exe.display());
    String::from_utf8(out.stdout).expect("probes print UTF-8")
}

/// A translation unit that includes every core header.
fn all_headers_tu() -> String {
    CORE_HEADERS.iter().map(|h| format!("#include <{h}>\n")).collect()
}

// ---------------------------------------------------------------------------
// C tokens
// ---------------------------------------------------------------------------

/// Splits C source into tokens: identifiers and numbers, string and
/// character literals, and single punctuation characters. Whitespace and
/// layout vanish, so two texts compare equal when their tokens do.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == '"' || c == '\'' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.push(chars[start..i].iter().collect());
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn normalise(text: &str) -> String {
    tokens(text).join(" ")
}

fn is_ident(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

fn is_number(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_digit())
}

// ---------------------------------------------------------------------------
// What a header leaves behind, from `gcc -E -dD`
// ---------------------------------------------------------------------------

/// A key in a header's inventory: a macro or a declaration, and the core
/// header (relative path) it is written in.
type Key = (String, String);

#[derive(Default)]
struct Inventory {
    /// Every macro definition written in a core header, normalised:
    /// (header, name) -> the definitions seen (most have one).
    macro_defs: BTreeMap<Key, BTreeSet<String>>,
    /// Macros still defined at the end, by name -> header.
    visible: BTreeMap<String, String>,
    /// Declarations written in a core header: (header, "struct event" /
    /// "typedef event_log_cb" / "enum ..." / "fn event_add") -> normalised
    /// text (for functions, only their attributes: their types are the
    /// business of `-aux-info`).
    decls: BTreeMap<Key, String>,
    /// Every file the preprocessor read.
    files: BTreeSet<String>,
}

/// Preprocesses `source` for a side and inventories what the core headers
/// define and declare.
fn inventory(env: &Env, side: Side, source: &Path) -> Inventory {
    let mut args = env.include_args(side);
    args.extend(["-E".into(), "-dD".into(), path_str(source)]);
    let text = gcc(&args);
    let root = path_str(&env.root(side));
    let core = |file: &str| -> Option<String> {
        let rel = file.strip_prefix(&root)?.strip_prefix('/')?;
        CORE_HEADERS.contains(&rel).then(|| rel.to_owned())
    };

    let mut inv = Inventory::default();
    let mut current: Option<String> = None;
    let mut pending: Vec<String> = Vec::new();
    let mut depth = 0i32;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            // A line marker: `# 12 "/usr/include/event2/util.h" 1`.
            if let Some(file) = rest.split('"').nth(1) {
                inv.files.insert(file.to_owned());
                current = core(file);
            }
            continue;
        }
        if let Some(def) = line.strip_prefix("#define ") {
            let name: String = def
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `#define F(x)` and `#define F (x)` differ only in that space.
            let function_like = def[name.len()..].starts_with('(');
            if let Some(h) = &current {
                let shape = if function_like { "function-like" } else { "object-like" };
                inv.macro_defs
                    .entry((h.clone(), name.clone()))
                    .or_default()
                    .insert(format!("{shape}: {}", normalise(def)));
                inv.visible.insert(name, h.clone());
            } else {
                inv.visible.remove(&name);
            }
            continue;
        }
        if let Some(name) = line.strip_prefix("#undef ") {
            inv.visible.remove(name.trim());
            continue;
        }
        let Some(header) = &current else { continue };
        for t in tokens(line) {
            match t.as_str() {
                "{" | "(" => depth += 1,
                "}" | ")" => depth -= 1,
                _ => {}
            }
            let end = depth == 0 && t == ";";
            pending.push(t);
            if end {
                if let Some((key, text)) = declaration(&pending) {
                    inv.decls.insert((header.clone(), key), text);
                }
                pending.clear();
            }
        }
    }
    inv
}

/// Names a top-level declaration, or `None` for a bare forward declaration
/// (`struct event_base;`), which carries nothing to compare.
fn declaration(toks: &[String]) -> Option<(String, String)> {
    let first = toks.first()?.as_str();
    let text = toks.join(" ");
    if first == "typedef" {
        // `typedef void ( * event_log_cb ) (...)` or `typedef T name ;`
        let name = toks
            .windows(3)
            .find(|w| w[0] == "(" && w[1] == "*" && is_ident(&w[2]))
            .map(|w| w[2].clone())
            .or_else(|| toks.iter().rev().find(|t| is_ident(t)).cloned())?;
        return Some((format!("typedef {name}"), text));
    }
    if matches!(first, "struct" | "union" | "enum") {
        if !toks.iter().any(|t| t == "{") {
            return if toks.len() == 3 { None } else { function(toks) };
        }
        return Some((format!("{first} {}", toks.get(1)?), text));
    }
    function(toks)
}

/// A function declaration: its name and its attributes. (Anything else, a
/// variable, is kept whole.)
fn function(toks: &[String]) -> Option<(String, String)> {
    let Some(open) = toks.iter().position(|t| t == "(") else {
        let name = toks.iter().rev().find(|t| is_ident(t))?;
        return Some((format!("object {name}"), toks.join(" ")));
    };
    let name = toks[..open].last().filter(|t| is_ident(t))?;
    let mut attrs = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == "__attribute__" {
            let mut depth = 0;
            let start = i;
            i += 1;
            while i < toks.len() {
                match toks[i].as_str() {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            attrs.push(toks[start..i].join(" "));
        } else {
            i += 1;
        }
    }
    Some((format!("fn {name}"), format!("attributes: [{}]", attrs.join(", "))))
}

/// Problems found comparing two inventories, and how much was compared.
#[derive(Default)]
struct Report {
    problems: Vec<String>,
    /// What was found identical, by category (a set: the same macro seen
    /// through several headers counts once).
    compared: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Report {
    fn count(&mut self, what: &'static str, item: impl Into<String>) {
        self.compared.entry(what).or_default().insert(item.into());
    }

    fn summary(&self) -> String {
        self.compared
            .iter()
            .map(|(k, v)| format!("{} {k}", v.len()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn assert_clean(&self, test: &str) {
        assert!(
            self.problems.is_empty(),
            "{test}: evbase's headers differ from libevent's:\n  {}",
            self.problems.join("\n  ")
        );
        println!("{test}: compared {}", self.summary());
    }
}

/// A libevent header file (other than a core one) that must not be read
/// when compiling against evbase's headers: reading one means a header
/// evbase should provide was missing and the compiler fell back on it.
fn foreign_libevent_header(file: &str) -> bool {
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let file = canonical(Path::new(file));
    let system = Path::new(SYSTEM_INCLUDE);
    let peers = peers_dir().join("include");
    file.starts_with(system.join("event2"))
        || CORE_HEADERS
            .iter()
            .any(|h| file == canonical(&system.join(h)) || file == canonical(&peers.join(h)))
}

fn compare_inventories(ours: &Inventory, real: &Inventory, report: &mut Report, context: &str) {
    for f in ours.files.iter().filter(|f| foreign_libevent_header(f)) {
        report
            .problems
            .push(format!("{context}: evbase's side read libevent's {f}"));
    }

    // Macros: the same definitions, in the same header.
    for ((header, name), defs) in &real.macro_defs {
        match ours.macro_defs.get(&(header.clone(), name.clone())) {
            Some(ours_defs) if ours_defs == defs => report.count("macro definitions", name.clone()),
            Some(ours_defs) => report.problems.push(format!(
                "{context}: {header}: macro {name}: libevent has {defs:?}, evbase {ours_defs:?}"
            )),
            None if left_out(header, name) => {}
            None => match ours.macro_defs.keys().find(|(_, n)| n == name) {
                Some((h, _)) => report.problems.push(format!(
                    "{context}: macro {name} is in {h}, libevent has it in {header}"
                )),
                None => report
                    .problems
                    .push(format!("{context}: {header}: macro {name} is missing")),
            },
        }
    }
    for (header, name) in ours.macro_defs.keys() {
        if !real.macro_defs.keys().any(|(_, n)| n == name) {
            report.problems.push(format!(
                "{context}: {header}: macro {name} is not in libevent's headers"
            ));
        }
    }

    // What is still defined once the headers are read.
    for (name, header) in &real.visible {
        if !ours.visible.contains_key(name) && !left_out(header, name) {
            report.problems.push(format!(
                "{context}: macro {name} ({header}) is not defined after the include"
            ));
        }
    }
    for name in ours.visible.keys() {
        if !real.visible.contains_key(name) {
            report
                .problems
                .push(format!("{context}: macro {name} stays defined, libevent's does not"));
        }
    }

    // Structures, unions, enumerations, typedefs, function attributes.
    for ((header, key), text) in &real.decls {
        let name = key.split(' ').nth(1).unwrap_or_default();
        match ours.decls.get(&(header.clone(), key.clone())) {
            Some(t) if t == text => report.count("declarations", key.clone()),
            Some(t) => report.problems.push(format!(
                "{context}: {header}: {key}:\n    libevent: {text}\n    evbase:   {t}"
            )),
            None if left_out(header, name) => {}
            None => match ours.decls.keys().find(|(_, k)| k == key) {
                Some((h, _)) => report
                    .problems
                    .push(format!("{context}: {key} is in {h}, libevent has it in {header}")),
                None => report.problems.push(format!("{context}: {header}: {key} is missing")),
            },
        }
    }
    for (header, key) in ours.decls.keys() {
        if !real.decls.keys().any(|(_, k)| k == key) {
            report
                .problems
                .push(format!("{context}: {header}: {key} is not in libevent's headers"));
        }
    }
}

/// Each core header on its own, and all of them together.
fn macros_and_declarations_report(env: &Env) -> Report {
    let mut report = Report::default();
    let mut units: Vec<(String, String)> = CORE_HEADERS
        .iter()
        .map(|h| (format!("<{h}> alone"), format!("#include <{h}>\n")))
        .collect();
    units.push(("all core headers".into(), all_headers_tu()));
    for (i, (context, text)) in units.iter().enumerate() {
        let source = env.write(&format!("unit{i}.c"), text);
        // Each header must compile on its own as cleanly as libevent's
        // (libevent's event_compat.h alone draws a warning; so may ours).
        // gcc hides warnings in /usr/include, so libevent's side here is
        // the same headers from its source tree.
        let clean = |include: &Path| {
            let args = [
                "-I",
                &path_str(include),
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                &path_str(&source),
            ];
            gcc_clean(&args.map(String::from))
        };
        let libevent_tree = peers_dir().join("include");
        if libevent_tree.is_dir()
            && let (Err(e), Ok(())) = (clean(&env.ours), clean(&libevent_tree))
        {
            report.problems.push(format!(
                "{context} compiles cleanly with libevent's headers, not with ours: {e}"
            ));
        }
        let ours = inventory(env, Side::Ours, &source);
        let real = inventory(env, Side::Real, &source);
        compare_inventories(&ours, &real, &mut report, context);
    }
    report
}

// ---------------------------------------------------------------------------
// Prototypes, from `gcc -aux-info`
// ---------------------------------------------------------------------------

/// (header, function) -> the prototype gcc wrote, normalised.
fn prototypes(env: &Env, side: Side, source: &Path) -> BTreeMap<Key, String> {
    let aux = env.tmp.join(format!("aux-{side:?}"));
    let mut args = env.include_args(side);
    args.extend([
        "-fsyntax-only".into(),
        "-aux-info".into(),
        path_str(&aux),
        path_str(source),
    ]);
    gcc(&args);
    let text = fs::read_to_string(&aux).expect("read -aux-info output");
    let root = format!("{}/", path_str(&env.root(side)));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        // `/* /usr/include/event2/event.h:1017:NC */ extern int event_add (...);`
        let Some(rest) = line.strip_prefix("/* ") else { continue };
        let Some((location, decl)) = rest.split_once(" */ ") else {
            continue;
        };
        let mut parts = location.rsplitn(3, ':');
        let (_, _, file) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
        let Some(rel) = file.strip_prefix(&root) else { continue };
        if !CORE_HEADERS.contains(&rel) {
            continue;
        }
        let toks = tokens(decl);
        let Some(open) = toks.iter().position(|t| t == "(").filter(|&o| o > 0) else {
            continue;
        };
        let name = toks[open - 1].clone();
        out.insert((rel.to_owned(), name), toks.join(" "));
    }
    out
}

fn prototypes_report(env: &Env) -> Report {
    let mut report = Report::default();
    let source = env.write("prototypes.c", &all_headers_tu());
    let ours = prototypes(env, Side::Ours, &source);
    let real = prototypes(env, Side::Real, &source);
    for ((header, name), proto) in &real {
        match ours.get(&(header.clone(), name.clone())) {
            Some(p) if p == proto => report.count("prototypes", name.clone()),
            Some(p) => report
                .problems
                .push(format!("{header}: {name}:\n    libevent: {proto}\n    evbase:   {p}")),
            None if left_out(header, name) => {}
            None => match ours.keys().find(|(_, n)| n == name) {
                Some((h, _)) => report
                    .problems
                    .push(format!("{name} is declared in {h}, libevent declares it in {header}")),
                None => report.problems.push(format!("{header}: {name} is not declared")),
            },
        }
    }
    for (header, name) in ours.keys() {
        if !real.keys().any(|(_, n)| n == name) {
            report
                .problems
                .push(format!("{header}: {name} is not declared by libevent"));
        }
    }
    report
}

// ---------------------------------------------------------------------------
// Layout and values, from probe programs
// ---------------------------------------------------------------------------

/// How a macro's value can be printed.
enum Kind {
    Number,
    Text,
    Type,
    Empty,
}

const TYPE_WORDS: &[&str] = &[
    "unsigned",
    "signed",
    "char",
    "short",
    "int",
    "long",
    "int8_t",
    "int16_t",
    "int32_t",
    "int64_t",
    "uint8_t",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "intptr_t",
    "uintptr_t",
    "size_t",
    "ssize_t",
    "off_t",
    "socklen_t",
];

fn kind(expansion: &[String]) -> Option<Kind> {
    let is_type_word = |t: &String| TYPE_WORDS.contains(&t.as_str());
    if expansion.is_empty() {
        Some(Kind::Empty)
    } else if expansion.len() == 1 && expansion[0].starts_with('"') {
        Some(Kind::Text)
    } else if expansion.iter().all(is_type_word) {
        Some(Kind::Type)
    } else if expansion.iter().any(|t| is_number(t))
        && expansion
            .iter()
            .all(|t| is_number(t) || is_type_word(t) || "()+-*/%<>|&^~!".contains(t.as_str()))
    {
        Some(Kind::Number)
    } else {
        None
    }
}

/// Object-like macro name -> its full expansion, as tokens, for the names
/// given, after including every core header.
fn expansions(env: &Env, side: Side, names: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut text = all_headers_tu();
    for name in names {
        // The name in quotes is left alone; the bare one is expanded.
        writeln!(text, "@@EXPANSION@@ \"{name}\" @@ {name}").unwrap();
    }
    let source = env.write(&format!("expand-{side:?}.c"), &text);
    let mut args = env.include_args(side);
    args.extend(["-E".into(), "-P".into(), path_str(&source)]);
    gcc(&args)
        .lines()
        .filter_map(|l| l.strip_prefix("@@EXPANSION@@ "))
        .filter_map(|l| l.split_once(" @@"))
        .map(|(name, exp)| (name.trim().trim_matches('"').to_owned(), tokens(exp)))
        .collect()
}

/// "name value" lines -> map. The layout probe's names have spaces and
/// its values none; the macro probe's names have none.
fn lines_map(text: &str, name_has_spaces: bool) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            if name_has_spaces {
                l.rsplit_once(' ')
            } else {
                l.split_once(' ')
            }
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn compare_maps(
    report: &mut Report,
    what: &'static str,
    ours: &BTreeMap<String, String>,
    real: &BTreeMap<String, String>,
) {
    for (k, v) in real {
        match ours.get(k) {
            Some(o) if o == v => report.count(what, k.clone()),
            Some(o) => report.problems.push(format!("{k}: libevent {v}, evbase {o}")),
            None => report.problems.push(format!("{k}: missing from evbase's probe output")),
        }
    }
    for k in ours.keys().filter(|k| !real.contains_key(*k)) {
        report.problems.push(format!("{k}: only in evbase's probe output"));
    }
}

fn layout_and_values_report(env: &Env) -> Report {
    let mut report = Report::default();

    // Structure layout, types and enumeration constants (tests/headers/layout.c).
    let layout = env.probes.join("layout.c");
    let ours = lines_map(&run_probe(env, Side::Ours, &layout, "layout"), true);
    let real = lines_map(&run_probe(env, Side::Real, &layout, "layout"), true);
    compare_maps(&mut report, "sizes, offsets and constants", &ours, &real);

    // Every object-like macro that both sides leave defined.
    let source = env.write("macros.c", &all_headers_tu());
    let ours_inv = inventory(env, Side::Ours, &source);
    let real_inv = inventory(env, Side::Real, &source);
    let object_like = |inv: &Inventory, name: &String| {
        inv.macro_defs
            .iter()
            .filter(|((_, n), _)| n == name)
            .all(|(_, defs)| defs.iter().all(|d| d.starts_with("object-like: ")))
    };
    let names: Vec<String> = ours_inv
        .visible
        .keys()
        .filter(|n| real_inv.visible.contains_key(*n))
        .filter(|n| object_like(&ours_inv, n) && object_like(&real_inv, n))
        .cloned()
        .collect();
    let ours_exp = expansions(env, Side::Ours, &names);
    let real_exp = expansions(env, Side::Real, &names);

    let mut probe = all_headers_tu();
    probe.push_str("#include <stdio.h>\n#include <string.h>\nint main(void)\n{\n");
    for name in &names {
        let (Some(o), Some(r)) = (ours_exp.get(name), real_exp.get(name)) else {
            report.problems.push(format!("macro {name}: no expansion found"));
            continue;
        };
        if o == r {
            report.count("macro expansions", name.clone());
        } else {
            report.problems.push(format!(
                "macro {name} expands to `{}` in evbase, `{}` in libevent",
                o.join(" "),
                r.join(" ")
            ));
        }
        match kind(r) {
            Some(Kind::Number) => writeln!(
                probe,
                "\tprintf(\"{name} value=%llu,signed=%d,size=%zu\\n\", (unsigned long long)({name}), (int)((({name}) * 0) - 1 < 0), sizeof({name}));"
            ),
            Some(Kind::Text) => writeln!(probe, "\tprintf(\"{name} \\\"%s\\\"\\n\", {name});"),
            Some(Kind::Type) => writeln!(
                probe,
                "\tprintf(\"{name} type,size=%zu,signed=%d\\n\", sizeof({name}), (int)(({name})-1 < ({name})0));"
            ),
            Some(Kind::Empty) => writeln!(probe, "\tputs(\"{name} (empty)\");"),
            None => Ok(()),
        }
        .unwrap();
    }
    probe.push_str("\treturn 0;\n}\n");
    let probe = env.write("values.c", &probe);
    let ours = lines_map(&run_probe(env, Side::Ours, &probe, "values"), false);
    let real = lines_map(&run_probe(env, Side::Real, &probe, "values"), false);
    compare_maps(&mut report, "macro values", &ours, &real);
    report
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn layout_and_values() {
    let Some(env) = env("layout_and_values") else { return };
    if !have_real_headers("layout_and_values") {
        return;
    }
    layout_and_values_report(&env).assert_clean("layout_and_values");
}

#[test]
fn macros_and_declarations() {
    let Some(env) = env("macros_and_declarations") else {
        return;
    };
    if !have_real_headers("macros_and_declarations") {
        return;
    }
    macros_and_declarations_report(&env).assert_clean("macros_and_declarations");
    for (header, name, why) in LEFT_OUT {
        println!("  left out of {header}: {name} ({why})");
    }
}

#[test]
fn prototypes_match() {
    let Some(env) = env("prototypes") else { return };
    if !have_real_headers("prototypes") {
        return;
    }
    prototypes_report(&env).assert_clean("prototypes");
}

/// Compiles one C file against evbase's headers, warnings as errors, and
/// checks from the dependency list that no libevent core header was read.
fn compile_against_ours(env: &Env, source: &Path, extra: &[String], mode: &str) -> Result<(), String> {
    let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
    let deps = env.tmp.join(format!("{stem}.d"));
    let mut args = env.include_args(Side::Ours);
    args.extend(extra.iter().cloned());
    args.extend([
        mode.into(),
        "-Werror".into(),
        "-MD".into(),
        "-MF".into(),
        path_str(&deps),
        "-o".into(),
        path_str(&env.tmp.join(format!("{stem}.o"))),
        path_str(source),
    ]);
    gcc_clean(&args)?;
    only_our_headers(&deps, source)
}

/// Checks a dependency list (gcc -MD) for libevent headers read in place of
/// evbase's.
fn only_our_headers(deps: &Path, source: &Path) -> Result<(), String> {
    let deps = fs::read_to_string(deps).expect("read the dependency list");
    let foreign: Vec<&str> = deps
        .split_whitespace()
        .filter(|f| *f != "\\")
        .filter(|f| foreign_libevent_header(f))
        .collect();
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: read libevent's own {foreign:?} instead of evbase's",
            source.display()
        ))
    }
}

#[test]
fn libevent_test_programs_compile() {
    let Some(env) = env("libevent_test_programs_compile") else {
        return;
    };
    let peers = peers_dir();
    let test_dir = peers.join("test");
    assert!(
        test_dir.is_dir(),
        "libevent's sources are expected at {} (shared/peers/ beside the repository)",
        peers.display()
    );
    // evbase's headers first; then this check's stand-ins for the two files
    // libevent's build generates (evconfig-private.h, regress.gen.h); then
    // libevent's source root for its internal headers.
    let base = vec!["-I".into(), path_str(&env.probes)];
    let mut failures = Vec::new();
    for file in TEST_PROGRAMS {
        let mut extra = base.clone();
        extra.extend(["-I".into(), path_str(&peers)]);
        if let Err(e) = compile_against_ours(&env, &test_dir.join(file), &extra, "-fsyntax-only") {
            failures.push(e);
        }
    }
    // The regression files also use libevent's evbuffer and tagging
    // headers, from libevent's include/ (after evbase's).
    for file in REGRESS_FILES {
        let mut extra = base.clone();
        extra.extend([
            "-I".into(),
            path_str(&peers.join("include")),
            "-I".into(),
            path_str(&peers),
        ]);
        if let Err(e) = compile_against_ours(&env, &test_dir.join(file), &extra, "-fsyntax-only") {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "libevent's programs do not compile against evbase's headers:\n{}",
        failures.join("\n")
    );
    println!(
        "libevent_test_programs_compile: {} test programs and {} regression files compiled warning-free",
        TEST_PROGRAMS.len(),
        REGRESS_FILES.len()
    );
}

#[test]
fn compat_program() {
    let Some(env) = env("compat_program") else { return };
    let source = env.probes.join("compat_core.c");
    let flags: Vec<String> = vec!["-Wall".into(), "-Wextra".into()];
    compile_against_ours(&env, &source, &flags, "-c").unwrap_or_else(|e| panic!("{e}"));
    if have_real_headers("compat_program (against libevent's headers)") {
        let mut args = flags;
        args.extend([
            "-Werror".into(),
            "-c".into(),
            "-o".into(),
            path_str(&env.tmp.join("real.o")),
            path_str(&source),
        ]);
        gcc_clean(&args).unwrap_or_else(|e| panic!("the probe itself is wrong: {e}"));
    }
    println!("compat_program: a program that includes only <event.h> compiles");
}

/// The comparisons above must notice a difference: a copy of `include/`
/// with a constant, a field type and a parameter type changed fails each.
#[test]
fn a_mismatch_is_caught() {
    let Some(mut env) = env("a_mismatch_is_caught") else {
        return;
    };
    if !have_real_headers("a_mismatch_is_caught") {
        return;
    }
    let mutant = env.tmp.join("include");
    for h in CORE_HEADERS {
        let to = mutant.join(h);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(env.ours.join(h), &to).unwrap();
    }
    let edit = |file: &str, from: &str, to: &str| {
        let path = mutant.join(file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(from),
            "{file} no longer contains `{from}`; update this test"
        );
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit("event2/event.h", "#define EV_PERSIST\t0x10", "#define EV_PERSIST\t0x11");
    edit("event2/event_struct.h", "short ev_res;", "int ev_res;");
    edit(
        "event2/util.h",
        "evutil_strtoll(const char *s, char **endptr, int base)",
        "evutil_strtoll(const char *s, char **endptr, long base)",
    );
    env.ours = mutant;

    let values = layout_and_values_report(&env);
    let decls = macros_and_declarations_report(&env);
    let protos = prototypes_report(&env);
    let expected = [
        (&values, "EV_PERSIST", "a changed constant's value"),
        (&values, "ev_res", "a changed field's size"),
        (&decls, "EV_PERSIST", "a changed macro"),
        (&decls, "struct event", "a changed structure"),
        (&protos, "evutil_strtoll", "a changed prototype"),
    ];
    for (report, needle, what) in expected {
        let found = report.problems.iter().any(|p| p.contains(needle));
        assert!(found, "{what} went unnoticed: {:?}", report.problems);
    }
    println!("a_mismatch_is_caught: all three comparisons failed on the altered copy, as they must");
}
