//! The binary-module protocol of Ansible, with `AnsibleModule`'s semantics
//! (ansible-core 2.19), for modules written as static Rust binaries.
//!
//! Ansible runs a binary module as `MODULE ARGS_FILE`. The file holds one JSON
//! object: the task's options plus internal `_ansible_*` keys (check mode,
//! diff, no_log, verbosity, ...). Ansible validates nothing for binary
//! modules, so this crate does what `AnsibleModule` does for Python ones:
//!
//! - options are declared in a [`Spec`] of [`Opt`]s: types with the same
//!   coercions (`"yes"` is a bool, `"8006"` an int, `"a,b"` a list, ...),
//!   `required`, `default`, `choices`, `aliases`, `no_log`, env fallbacks,
//!   `mutually_exclusive`, `required_together`, `required_one_of` and nested
//!   suboptions, with `AnsibleModule`'s error texts (such as `Unsupported
//!   parameters for (hello) module: foo. Supported parameters include: ...`);
//! - the body gets a [`Module`]: validated [`Params`] and the check/diff flags;
//! - exactly one JSON object is printed on stdout: the body's result plus
//!   `changed` (and `warnings`), exit code 0; or `{"failed": true, "msg", ...}`,
//!   exit code 1, also for a bad args file or a panic;
//! - every value of a `no_log` option and every value given to
//!   [`Module::hide`] is replaced by `********` in everything printed; a value
//!   the body means to return (a secret it has just created) is given to
//!   [`Module::reveal`], which hides it everywhere but under its one key.
//!
//! Differences from `AnsibleModule`, on purpose: an option given as `null` is
//! treated as not given (defaults and env fallbacks apply, `required` fails);
//! an empty env variable is no fallback; a `list` option given `""` is the
//! empty list; a bool is not accepted as an int or float; a dict string
//! starting with `{` must be JSON (no Python literals); any `_ansible_*` key is
//! accepted; no_log values are masked as `********` also where the whole
//! value matches (Python prints `VALUE_SPECIFIED_IN_NO_LOG_PARAMETER`).
//!
//! A module's `main`:
//!
//! ```no_run
//! use ansible_module::{json, Failure, Map, Module, Opt, Spec, Value};
//!
//! fn body(m: &mut Module) -> Result<Map<String, Value>, Failure> {
//!     let name = m.params.str("name").ok_or("name is required")?.to_string();
//!     let ticket = format!("{name}:secret-ticket"); // say, from a login
//!     m.hide(&ticket);
//!     if m.params.str("state") == Some("absent") {
//!         return Err(Failure::new(format!("cannot remove {name}")).with("status", 403));
//!     }
//!     let mut result = Map::new();
//!     result.insert("changed".into(), json!(!m.check_mode));
//!     result.insert("msg".into(), json!(format!("hello {name}, ticket {ticket}")));
//!     Ok(result) // printed as {"changed":true,"msg":"hello ..., ticket ********"}
//! }
//!
//! fn main() {
//!     let spec = Spec::new([
//!         Opt::str("name").required().aliases(&["user"]),
//!         Opt::str("password").no_log().env("HELLO_PASSWORD"),
//!         Opt::str("state").choices(&["present", "absent"]).default("present"),
//!     ]);
//!     ansible_module::run("hello", spec, body)
//! }
//! ```
//!
//! [`execute`] is the same without process I/O, for unit tests.
//!
//! `MODULE --print-spec` prints the module's [`Spec`] as JSON instead of
//! running it ([`Spec::to_json`]): `AnsibleModule`'s keyword arguments
//! (`argument_spec`, `mutually_exclusive`, `required_together`,
//! `required_one_of`), so that docs and generated Python can be checked
//! against what the binary really accepts.

pub mod text;
mod validate;

pub use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The type of an option, as `type=` of an `AnsibleModule` argument spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    Float,
    List,
    Dict,
    Path,
    Raw,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::List => "list",
            Kind::Dict => "dict",
            Kind::Path => "path",
            Kind::Raw => "raw",
        }
    }
}

/// One option of a module: built with [`Opt::new`] or a shorthand, refined
/// with the builder methods.
#[derive(Clone, Debug)]
pub struct Opt {
    name: &'static str,
    kind: Kind,
    required: bool,
    default: Option<Value>,
    choices: Vec<&'static str>,
    aliases: Vec<&'static str>,
    /// `Some(false)`: said not to be a secret (see [`Opt::not_secret`]).
    no_log: Option<bool>,
    env: Option<&'static str>,
    elements: Option<Kind>,
    sub: Option<Spec>,
}

impl Opt {
    pub fn new(name: &'static str, kind: Kind) -> Opt {
        Opt {
            name,
            kind,
            required: false,
            default: None,
            choices: vec![],
            aliases: vec![],
            no_log: None,
            env: None,
            elements: None,
            sub: None,
        }
    }
    pub fn str(name: &'static str) -> Opt {
        Opt::new(name, Kind::Str)
    }
    pub fn bool(name: &'static str) -> Opt {
        Opt::new(name, Kind::Bool)
    }
    pub fn int(name: &'static str) -> Opt {
        Opt::new(name, Kind::Int)
    }
    /// A list of strings.
    pub fn list(name: &'static str) -> Opt {
        Opt::new(name, Kind::List).elements(Kind::Str)
    }
    pub fn dict(name: &'static str) -> Opt {
        Opt::new(name, Kind::Dict)
    }
    pub fn path(name: &'static str) -> Opt {
        Opt::new(name, Kind::Path)
    }
    pub fn required(mut self) -> Opt {
        self.required = true;
        self
    }
    /// The value used when the option is not given (and has no env value).
    pub fn default(mut self, v: impl Into<Value>) -> Opt {
        self.default = Some(v.into()).filter(|v| !v.is_null());
        self
    }
    /// The allowed values; for a list, of each element.
    pub fn choices(mut self, c: &[&'static str]) -> Opt {
        self.choices = c.to_vec();
        self
    }
    pub fn aliases(mut self, a: &[&'static str]) -> Opt {
        self.aliases = a.to_vec();
        self
    }
    /// The value is a secret: scrubbed from everything the module prints.
    pub fn no_log(mut self) -> Opt {
        self.no_log = Some(true);
        self
    }
    /// The name sounds like a secret's (`token`, `pass`, ...) but the value
    /// is not one: printed as `no_log: false`, the way a Python module tells
    /// ansible-test's validate-modules (its `no-log-needed` check).
    pub fn not_secret(mut self) -> Opt {
        self.no_log = Some(false);
        self
    }
    /// Fallback to this environment variable when the option is absent or null.
    pub fn env(mut self, var: &'static str) -> Opt {
        self.env = Some(var);
        self
    }
    /// A `no_log` option: its value is masked in everything printed.
    pub(crate) fn secret(&self) -> bool {
        self.no_log == Some(true)
    }
    /// The element type of a [`Kind::List`].
    pub fn elements(mut self, k: Kind) -> Opt {
        self.elements = Some(k);
        self
    }
    /// Options of a dict, or of each dict of a list (which makes the elements dicts).
    pub fn suboptions(mut self, spec: Spec) -> Opt {
        if self.kind == Kind::List {
            self.elements = Some(Kind::Dict);
        }
        self.sub = Some(spec);
        self
    }
}

/// The options of a module (or of a dict option) and the checks between them.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    opts: Vec<Opt>,
    exclusive: Vec<Vec<&'static str>>,
    together: Vec<Vec<&'static str>>,
    one_of: Vec<Vec<&'static str>>,
}

impl Spec {
    pub fn new(opts: impl IntoIterator<Item = Opt>) -> Spec {
        Spec::default().with(opts)
    }
    /// Adds options; one with the name of an existing option replaces it.
    pub fn with(mut self, opts: impl IntoIterator<Item = Opt>) -> Spec {
        for o in opts {
            self.opts.retain(|x| x.name != o.name);
            self.opts.push(o);
        }
        self
    }
    pub fn mutually_exclusive(mut self, names: &[&'static str]) -> Spec {
        self.exclusive.push(names.to_vec());
        self
    }
    pub fn required_together(mut self, names: &[&'static str]) -> Spec {
        self.together.push(names.to_vec());
        self
    }
    pub fn required_one_of(mut self, names: &[&'static str]) -> Spec {
        self.one_of.push(names.to_vec());
        self
    }

    /// The spec in `AnsibleModule`'s vocabulary: `{"argument_spec": {...},
    /// "mutually_exclusive": [...], "required_together": [...],
    /// "required_one_of": [...]}` (a relation only when the spec has one),
    /// each option with `type` and only the other keys that differ from
    /// Ansible's defaults. Ansible's env fallback
    /// `(env_fallback, ['VAR'])` is written `["env_fallback", ["VAR"]]`, since
    /// JSON has no functions. A dict option's suboptions are its `options`,
    /// with their own relations beside them, as Ansible nests them.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("argument_spec".into(), self.options_json());
        self.relations_json(&mut out);
        Value::Object(out)
    }

    fn options_json(&self) -> Value {
        let opts = self.opts.iter().map(|o| (o.name.to_string(), o.to_json()));
        Value::Object(opts.collect())
    }

    fn relations_json(&self, out: &mut Map<String, Value>) {
        for (key, groups) in [
            ("mutually_exclusive", &self.exclusive),
            ("required_together", &self.together),
            ("required_one_of", &self.one_of),
        ] {
            if !groups.is_empty() {
                out.insert(key.into(), json!(groups));
            }
        }
    }
}

impl Opt {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), json!(self.kind.name()));
        if self.required {
            o.insert("required".into(), json!(true));
        }
        if let Some(d) = &self.default {
            o.insert("default".into(), d.clone());
        }
        if !self.choices.is_empty() {
            o.insert("choices".into(), json!(self.choices));
        }
        if !self.aliases.is_empty() {
            o.insert("aliases".into(), json!(self.aliases));
        }
        if let Some(k) = self.elements {
            o.insert("elements".into(), json!(k.name()));
        }
        if let Some(no_log) = self.no_log {
            o.insert("no_log".into(), json!(no_log));
        }
        if let Some(var) = self.env {
            o.insert("fallback".into(), json!(["env_fallback", [var]]));
        }
        if let Some(sub) = &self.sub {
            o.insert("options".into(), sub.options_json());
            sub.relations_json(&mut o);
        }
        Value::Object(o)
    }
}

/// Validated parameters: every option of the spec is a key (canonical name);
/// absent without default = Null. Values are coerced: Str -> string, Bool ->
/// bool, Int -> number, List -> array (of coerced elements), Dict -> object
/// (with every suboption as a key when it has suboptions).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(Map<String, Value>);

impl Params {
    /// The value, or None when it is null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool()
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name)?.as_i64()
    }
    /// A list as strings (non-string elements in their JSON text).
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let items = self.get(name)?.as_array()?;
        Some(
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
        )
    }
    /// A list of dicts (or one dict) as Params each.
    pub fn dicts(&self, name: &str) -> Option<Vec<Params>> {
        match self.get(name)? {
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| Some(Params(v.as_object()?.clone())))
                    .collect(),
            ),
            Value::Object(m) => Some(vec![Params(m.clone())]),
            _ => None,
        }
    }
    /// Given (or defaulted), not null.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn from_map(m: Map<String, Value>) -> Params {
        Params(m)
    }
}

/// What a module body works with.
pub struct Module {
    pub name: &'static str,
    pub params: Params,
    /// `_ansible_check_mode`: plan, change nothing.
    pub check_mode: bool,
    /// `_ansible_diff`: return `diff: {before, after}`.
    pub diff: bool,
    /// `_ansible_no_log`: the task has `no_log: true`.
    pub no_log: bool,
    pub verbosity: u32,
    warnings: Vec<String>,
    secrets: Vec<String>,
    revealed: Map<String, Value>,
}

impl Module {
    /// A warning Ansible shows after the task.
    pub fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }
    /// Scrub this value from everything printed (results, messages, warnings, a panic).
    pub fn hide(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.secrets.push(secret.to_string());
            remember(&self.secrets);
        }
    }
    /// Returns `value` under the result key `path` (`["secret"]`, or
    /// `["secrets", id, "secret"]` nested in objects), also when the module
    /// fails, and hides it everywhere else: a secret the module has just
    /// created and must hand over once.
    pub fn reveal(&mut self, path: &[&str], value: &str) {
        self.hide(value);
        insert_at(&mut self.revealed, path, Value::String(value.to_string()));
    }
}

/// Puts `value` at `path` in `map`, making the objects on the way.
fn insert_at(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.to_string(), value);
        }
        [first, rest @ ..] => {
            let slot = map
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                insert_at(inner, rest, value);
            }
        }
    }
}

/// A diff view as the text Ansible shows. Ansible would render a mapping
/// itself with `json.dumps`, which writes non-ASCII text as `\u` escapes
/// (`Gr\u00fc\u00dfe`); given text, it shows it as it is. So the view is
/// rendered here the way Ansible renders it (keys sorted, four-space indent,
/// a final newline), with every character kept.
pub fn diff_text(view: &Value) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    let text = match serde::Serialize::serialize(view, &mut ser) {
        Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| view.to_string()),
        Err(_) => view.to_string(),
    };
    text + "\n"
}

/// A module failure: `msg` plus extra result keys.
#[derive(Debug)]
pub struct Failure {
    pub msg: String,
    pub extra: Map<String, Value>,
}

impl Failure {
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            extra: Map::new(),
        }
    }
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Failure {
        self.extra.insert(key.into(), v.into());
        self
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::new(msg)
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Failure {
        Failure::new(msg)
    }
}

/// The argument that makes [`run`] print the spec instead of running the module.
pub const PRINT_SPEC: &str = "--print-spec";

/// Entry point of every module binary: `fn main() { ansible_module::run("hello", spec(), body) }`.
/// Reads `argv[1]` (an args file, or `-` for standard input), validates, calls body,
/// prints exactly one JSON object, exits 0 / 1. With `argv[1]` [`PRINT_SPEC`]
/// it prints [`Spec::to_json`] and exits 0, touching nothing else (Ansible
/// gives a module the path of its args file, never this).
pub fn run(
    name: &'static str,
    spec: Spec,
    body: impl FnOnce(&mut Module) -> Result<Map<String, Value>, Failure>,
) -> ! {
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let what = p
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(String::as_str));
        let mut v = failure_json(format!(
            "{name}: internal error: {} — please report this",
            what.unwrap_or("panic")
        ));
        match SECRETS.try_lock() {
            Ok(secrets) => scrub_result(&mut v, &secrets),
            // Cannot know what to hide: say nothing of the panic.
            Err(_) => v = failure_json(format!("{name}: internal error — please report this")),
        }
        emit(&v);
        std::process::exit(1)
    }));
    if std::env::args_os().nth(1).is_some_and(|a| a == PRINT_SPEC) {
        emit(&spec.to_json());
        std::process::exit(0)
    }
    let (v, code) = match read_args(name) {
        Ok(text) => execute(name, &spec, &text, &|k| std::env::var(k).ok(), body),
        Err(msg) => (failure_json(msg), 1),
    };
    emit(&v);
    std::process::exit(code)
}

/// The args file's text; `AnsibleModule` also takes the JSON itself as argv[1].
/// `-` reads the arguments from standard input: an action plugin
/// sends them there, so a task needs one remote command and no args file.
fn read_args(name: &str) -> Result<String, String> {
    let Some(arg) = std::env::args_os().nth(1) else {
        return Err(format!(
            "{name}: no arguments file: Ansible runs a binary module as `{name} ARGS_FILE`, with the task's options as a JSON object in ARGS_FILE (or `{name} -` with them on standard input)"
        ));
    };
    if arg == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(|e| format!("{name}: cannot read the arguments from standard input: {e}"))?;
        return String::from_utf8(bytes)
            .map_err(|_| format!("{name}: the arguments on standard input are not UTF-8 text"));
    }
    let path = std::path::Path::new(&arg);
    if !path.is_file() && arg.to_string_lossy().trim_start().starts_with('{') {
        return Ok(arg.to_string_lossy().into_owned());
    }
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "{name}: cannot read the arguments file {}: {e}",
            path.display()
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "{name}: the arguments file {} is not UTF-8 text",
            path.display()
        )
    })
}

/// The same without process I/O, for tests: args-file text in, (result JSON, exit code) out.
pub fn execute(
    name: &'static str,
    spec: &Spec,
    args_text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    body: impl FnOnce(&mut Module) -> Result<Map<String, Value>, Failure>,
) -> (Value, i32) {
    let mut args = match parse_args(name, args_text) {
        Ok(args) => args,
        Err(msg) => return (failure_json(msg), 1),
    };
    let internal: Map<String, Value> = {
        let keys: Vec<String> = args
            .keys()
            .filter(|k| k.starts_with("_ansible_"))
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| args.remove_entry(&k))
            .collect()
    };
    let flag = |key: &str| match internal.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => validate::to_bool(v).map_err(|e| format!("{name}: {key}: {e}")),
    };
    let flags = [
        "_ansible_check_mode",
        "_ansible_diff",
        "_ansible_no_log",
        "_ansible_ignore_unknown_opts",
    ];
    let [check_mode, diff, no_log, ignore_unknown] = match flags.map(flag) {
        [Ok(c), Ok(d), Ok(n), Ok(i)] => [c, d, n, i],
        results => {
            let e = results.into_iter().find_map(Result::err);
            return (failure_json(e.unwrap_or_default()), 1);
        }
    };
    let verbosity = match internal.get("_ansible_verbosity") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let checked = validate::check(name, spec, args, env, ignore_unknown);
    remember(&checked.secrets);
    let mut m = Module {
        name,
        params: Params::default(),
        check_mode,
        diff,
        no_log,
        verbosity: verbosity.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
        warnings: checked.warnings,
        secrets: checked.secrets,
        revealed: Map::new(),
    };
    let outcome = match checked.result {
        Ok(params) => {
            m.params = Params(params);
            body(&mut m)
        }
        Err(msg) => Err(Failure::new(msg)),
    };
    let (mut result, code) = match outcome {
        Ok(mut result) => {
            result.entry("changed").or_insert(Value::Bool(false));
            (result, 0)
        }
        Err(f) => {
            let mut result = failure_map(f.msg);
            result.extend(
                f.extra
                    .into_iter()
                    .filter(|(k, _)| k != "failed" && k != "msg"),
            );
            (result, 1)
        }
    };
    let mut warnings: Vec<Value> = m.warnings.into_iter().map(Value::String).collect();
    match result.remove("warnings") {
        Some(Value::Array(more)) => warnings.extend(more),
        Some(Value::Null) | None => {}
        Some(w) => warnings.push(w),
    }
    if !warnings.is_empty() {
        result.insert("warnings".into(), Value::Array(warnings));
    }
    bound_messages(&mut result);
    let mut v = Value::Object(result);
    scrub_result(&mut v, &m.secrets);
    if let Value::Object(result) = &mut v {
        result.extend(m.revealed);
    }
    (v, code)
}

/// The last resort of [`text`]: `msg` and each warning cut at
/// [`text::MAX_MESSAGE`] characters, whatever built them.
fn bound_messages(result: &mut Map<String, Value>) {
    let cut = |v: &mut Value| {
        if let Value::String(s) = v {
            if s.chars().count() > text::MAX_MESSAGE {
                *s = text::cut(s, text::MAX_MESSAGE);
            }
        }
    };
    if let Some(msg) = result.get_mut("msg") {
        cut(msg);
    }
    if let Some(Value::Array(warnings)) = result.get_mut("warnings") {
        warnings.iter_mut().for_each(cut);
    }
}

fn parse_args(name: &str, text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Err(format!(
            "{name}: the module arguments are empty: expected a JSON object"
        ));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{name}: the module arguments are not valid JSON: {e}"))?;
    match v {
        // The wrapper Python modules read; accepted for hand-written args files.
        Value::Object(mut m)
            if m.len() == 1 && m.get("ANSIBLE_MODULE_ARGS").is_some_and(Value::is_object) =>
        {
            match m.remove("ANSIBLE_MODULE_ARGS") {
                Some(Value::Object(inner)) => Ok(inner),
                _ => Ok(m),
            }
        }
        Value::Object(m) => Ok(m),
        other => {
            let what = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            Err(format!(
                "{name}: the module arguments must be a JSON object, not {what}"
            ))
        }
    }
}

fn failure_map(msg: String) -> Map<String, Value> {
    Map::from_iter([
        ("failed".to_string(), Value::Bool(true)),
        ("msg".to_string(), Value::String(msg)),
        ("changed".to_string(), Value::Bool(false)),
    ])
}

fn failure_json(msg: String) -> Value {
    Value::Object(failure_map(msg))
}

const MASK: &str = "********";

/// Masks every secret in a result object.
fn scrub_result(v: &mut Value, secrets: &[String]) {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    // Longest first, so that a secret containing another is masked whole.
    secrets.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    secrets.dedup();
    if !secrets.is_empty() {
        scrub(v, &secrets);
    }
}

fn scrub(v: &mut Value, secrets: &[&str]) {
    let mask = |s: &str| {
        secrets
            .iter()
            .fold(s.to_string(), |s, x| s.replace(x, MASK))
    };
    match v {
        Value::String(s) => *s = mask(s),
        Value::Number(n) => {
            let text = n.to_string();
            if secrets.iter().any(|x| text.contains(x)) {
                *v = Value::String(MASK.into());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| scrub(x, secrets)),
        Value::Object(m) => {
            *m = std::mem::take(m)
                .into_iter()
                .map(|(k, mut x)| {
                    scrub(&mut x, secrets);
                    (mask(&k), x)
                })
                .collect();
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Set once the one JSON object has been printed.
static PRINTED: AtomicBool = AtomicBool::new(false);
/// Every secret known so far, for the panic hook (which has no Module).
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remember(secrets: &[String]) {
    let mut all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for s in secrets {
        if !all.contains(s) {
            all.push(s.clone());
        }
    }
}

/// Prints `v` unless something was printed already: stdout carries exactly one object.
fn emit(v: &Value) {
    if !PRINTED.swap(true, Ordering::SeqCst) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests;
