//! Argument validation with AnsibleModule's order of checks, coercions and
//! message texts (ansible-core 2.19 `ArgumentSpecValidator`).

use crate::{Kind, Opt, Spec};
use serde_json::{Map, Value};

/// Environment lookup, injected so that tests need not touch the process env.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What validation found: the canonical parameters or the message to fail with.
pub(crate) struct Checked {
    pub result: Result<Map<String, Value>, String>,
    pub warnings: Vec<String>,
    pub secrets: Vec<String>,
}

/// Validates `args` (task options, `_ansible_*` keys already removed);
/// unknown options are dropped silently with `ignore_unknown`
/// (`_ansible_ignore_unknown_opts`, set by some action plugins).
pub(crate) fn check(
    module: &str,
    spec: &Spec,
    args: Map<String, Value>,
    env: Env,
    ignore_unknown: bool,
) -> Checked {
    let mut c = Checker {
        env,
        errors: vec![],
        unsupported: vec![],
        warnings: vec![],
        secrets: vec![],
    };
    let params = c.level(spec, args, &mut vec![], "");
    // AnsibleModule reports the first error; unsupported names come last and
    // are all reported in one message.
    c.unsupported.sort();
    c.unsupported.dedup();
    let result = match (c.errors.into_iter().next(), c.unsupported.last()) {
        (Some(first), _) => Err(first),
        (None, Some((_, supported))) if !ignore_unknown => {
            let names: Vec<&str> = c.unsupported.iter().map(|(n, _)| n.as_str()).collect();
            Err(format!(
                "Unsupported parameters for ({module}) module: {}. Supported parameters include: {supported}.",
                crate::text::list(&names, crate::text::MAX_ITEMS)
            ))
        }
        (None, _) => Ok(params),
    };
    Checked {
        result,
        warnings: c.warnings,
        secrets: c.secrets,
    }
}

struct Checker<'a> {
    env: Env<'a>,
    errors: Vec<String>,
    /// (dotted name, "supported parameters" text of its level)
    unsupported: Vec<(String, String)>,
    warnings: Vec<String>,
    secrets: Vec<String>,
}

fn found_in(msg: String, ctx: &[&str]) -> String {
    if ctx.is_empty() {
        msg
    } else {
        format!("{msg} found in {}", ctx.join(" -> "))
    }
}

impl Checker<'_> {
    /// One level of options (the top level or one dict of suboptions).
    fn level(
        &mut self,
        spec: &Spec,
        given: Map<String, Value>,
        ctx: &mut Vec<&'static str>,
        prefix: &str,
    ) -> Map<String, Value> {
        // AnsibleModule's order: names and aliases, unsupported names,
        // mutually exclusive, defaults, required, types, choices, required
        // together / one of, then the suboptions.
        let mut p = self.take_given(spec, given, ctx, prefix);
        self.check_exclusive(spec, &p, ctx);
        self.apply_defaults(spec, &mut p);
        self.check_required(spec, &p, ctx);
        self.coerce_all(spec, &mut p, ctx, prefix);
        for o in spec.opts.iter().filter(|o| !o.choices.is_empty()) {
            if let Some(e) = p.get_mut(o.name).and_then(|v| check_choices(o, v)) {
                self.errors.push(found_in(e, ctx));
            }
        }
        self.check_groups(spec, &p, ctx);
        for o in &spec.opts {
            p.entry(o.name).or_insert(Value::Null);
        }
        self.check_suboptions(spec, &mut p, ctx, prefix);
        p
    }

    /// The options given by name, alias or env fallback; what is left of
    /// `given` is unsupported. Null means "not given": Ansible sends null for
    /// `opt:` and for variables that are unset, and the task should not
    /// change anything then.
    fn take_given(
        &mut self,
        spec: &Spec,
        mut given: Map<String, Value>,
        ctx: &[&str],
        prefix: &str,
    ) -> Map<String, Value> {
        let mut p = Map::new();
        for o in &spec.opts {
            if let Some(v) = given.remove(o.name).filter(|v| !v.is_null()) {
                p.insert(o.name.into(), v);
            }
            for a in &o.aliases {
                if let Some(v) = given.remove(*a).filter(|v| !v.is_null()) {
                    if p.contains_key(o.name) {
                        self.warnings.push(format!(
                            "Both option {prefix}{} and its alias {prefix}{a} are set.",
                            o.name
                        ));
                    }
                    p.insert(o.name.into(), v);
                }
            }
            if let (false, Some(var)) = (p.contains_key(o.name), o.env) {
                if let Some(v) = (self.env)(var).filter(|v| !v.is_empty()) {
                    p.insert(o.name.into(), Value::String(v));
                }
            }
        }
        if !given.is_empty() {
            let mut names: Vec<&str> = spec.opts.iter().map(|o| o.name).collect();
            let mut aliases: Vec<&str> = spec
                .opts
                .iter()
                .flat_map(|o| o.aliases.iter().copied())
                .collect();
            names.sort_unstable();
            aliases.sort_unstable();
            let mut supported = names.join(", ");
            if !aliases.is_empty() {
                supported = format!("{supported} ({})", aliases.join(", "));
            }
            for k in given.keys() {
                let path: Vec<&str> = ctx.iter().copied().chain([k.as_str()]).collect();
                self.unsupported.push((path.join("."), supported.clone()));
            }
        }
        p
    }

    fn check_exclusive(&mut self, spec: &Spec, p: &Map<String, Value>, ctx: &[&str]) {
        let bad: Vec<String> = spec
            .exclusive
            .iter()
            .filter(|g| g.iter().filter(|n| p.contains_key(**n)).count() > 1)
            .map(|g| g.join("|"))
            .collect();
        if !bad.is_empty() {
            self.errors.push(found_in(
                format!("parameters are mutually exclusive: {}", bad.join(", ")),
                ctx,
            ));
        }
    }

    /// Defaults for what was not given; every no_log value (given or
    /// default) is a secret from here on.
    fn apply_defaults(&mut self, spec: &Spec, p: &mut Map<String, Value>) {
        for o in &spec.opts {
            if let (false, Some(d)) = (p.contains_key(o.name), &o.default) {
                p.insert(o.name.into(), d.clone());
            }
            if o.secret() {
                if let Some(v) = p.get(o.name) {
                    collect_secrets(v, &mut self.secrets);
                }
            }
        }
    }

    fn check_required(&mut self, spec: &Spec, p: &Map<String, Value>, ctx: &[&str]) {
        let mut missing: Vec<&str> = spec
            .opts
            .iter()
            .filter(|o| o.required && !p.contains_key(o.name))
            .map(|o| o.name)
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            self.errors.push(found_in(
                format!("missing required arguments: {}", missing.join(", ")),
                ctx,
            ));
        }
    }

    /// Every option to its type; a coerced no_log value is a secret in its
    /// new form too (`"12345"` and `12345`).
    fn coerce_all(&mut self, spec: &Spec, p: &mut Map<String, Value>, ctx: &[&str], prefix: &str) {
        for o in &spec.opts {
            if let Some(v) = p.remove(o.name) {
                if let Some(w) = string_conversion_warning(o, &v, prefix) {
                    self.warnings.push(w);
                }
                match self.coerce_opt(o, v, ctx) {
                    Ok(v) => {
                        if o.secret() {
                            collect_secrets(&v, &mut self.secrets);
                        }
                        p.insert(o.name.into(), v);
                    }
                    Err(mut e) => self.errors.append(&mut e),
                }
            }
        }
    }

    /// `required_together` and `required_one_of`.
    fn check_groups(&mut self, spec: &Spec, p: &Map<String, Value>, ctx: &[&str]) {
        let count = |g: &[&str]| g.iter().filter(|n| p.contains_key(**n)).count();
        if let Some(g) = spec
            .together
            .iter()
            .find(|g| (1..g.len()).contains(&count(g)))
        {
            self.errors.push(found_in(
                format!("parameters are required together: {}", g.join(", ")),
                ctx,
            ));
        }
        if let Some(g) = spec.one_of.iter().find(|g| count(g) == 0) {
            self.errors.push(found_in(
                format!("one of the following is required: {}", g.join(", ")),
                ctx,
            ));
        }
    }

    /// Each dict (or each dict of a list) of an option with suboptions, as
    /// a level of its own.
    fn check_suboptions(
        &mut self,
        spec: &Spec,
        p: &mut Map<String, Value>,
        ctx: &mut Vec<&'static str>,
        prefix: &str,
    ) {
        for o in &spec.opts {
            let Some(sub) = &o.sub else { continue };
            let Some(v) = p.get_mut(o.name).filter(|v| !v.is_null()) else {
                continue;
            };
            ctx.push(o.name);
            let items: Vec<&mut Value> = match v {
                Value::Array(a) => a.iter_mut().collect(),
                other => vec![other],
            };
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(m) = item else {
                    self.errors.push(format!(
                        "value of '{}' must be of type dict or list of dicts",
                        o.name
                    ));
                    continue;
                };
                let index = if o.kind == Kind::List {
                    format!("[{i}]")
                } else {
                    String::new()
                };
                let sub_prefix = format!("{prefix}{}{index}.", o.name);
                let given = std::mem::take(m);
                *m = self.level(sub, given, ctx, &sub_prefix);
            }
            ctx.pop();
        }
    }

    /// Coerces one option (and the elements of a list), or returns its error messages.
    fn coerce_opt(&self, o: &Opt, v: Value, ctx: &[&str]) -> Result<Value, Vec<String>> {
        let ctx_text = |sep: &str| {
            if ctx.is_empty() {
                String::new()
            } else {
                format!(" found in '{}'{sep}", ctx.join(" -> "))
            }
        };
        let v = coerce(o.kind, v, o.secret(), self.env).map_err(|(ty, e)| {
            vec![format!(
                "argument '{}' is of type {ty}{} and we were unable to convert to {}: {e}",
                o.name,
                ctx_text("."),
                o.kind.name()
            )]
        })?;
        let (Kind::List, Some(k)) = (o.kind, o.elements) else {
            return Ok(v);
        };
        let Value::Array(items) = v else { return Ok(v) };
        let mut errors = vec![];
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match coerce(k, item, o.secret(), self.env) {
                Ok(x) => out.push(x),
                Err((ty, e)) => errors.push(format!(
                    "Elements value for option '{}'{} is of type {ty} and we were unable to convert to {}: {e}",
                    o.name,
                    ctx_text(""),
                    k.name()
                )),
            }
        }
        if errors.is_empty() {
            Ok(Value::Array(out))
        } else {
            Err(errors)
        }
    }
}

/// The warning AnsibleModule gave (ansible-core up to 2.18) when a value
/// that is not a string reached a string option: `comment: [a, b]` is
/// stored as `"['a', 'b']"` and `comment: yes` as `"True"`, which is rarely
/// what was meant. Numbers are converted silently: options such as `expire`
/// document epoch seconds, which YAML hands over as integers. A secret's
/// value is never shown.
fn string_conversion_warning(o: &Opt, v: &Value, prefix: &str) -> Option<String> {
    let converted = |v: &Value| matches!(v, Value::Array(_) | Value::Object(_) | Value::Bool(_));
    let what = match (o.kind, o.elements, v) {
        (Kind::Str, _, v) if converted(v) => v,
        (Kind::List, Some(Kind::Str), Value::Array(items)) => {
            items.iter().find(|i| converted(i))?
        }
        _ => return None,
    };
    let (value, as_text) = if o.secret() {
        ("'********'".to_string(), "'********'".to_string())
    } else {
        (py_repr(what), py_repr(&Value::String(py_str(what))))
    };
    Some(format!(
        "The value {value} (type {}) in a string field ({prefix}{}) was converted to {as_text} (type string). \
         If this does not look like what you expect, quote the entire value to ensure it does not change.",
        py_type(what),
        o.name
    ))
}

fn check_choices(o: &Opt, v: &mut Value) -> Option<String> {
    let shown = |s: String| {
        if o.secret() {
            "********".to_string()
        } else {
            crate::text::value(&s)
        }
    };
    let choices = o.choices.join(", ");
    if let Value::Array(items) = v {
        let bad: Vec<String> = items
            .iter()
            .map(py_str)
            .filter(|s| !o.choices.contains(&s.as_str()))
            .map(shown)
            .collect();
        return (!bad.is_empty()).then(|| {
            format!(
                "value of {} must be one or more of: {choices}. Got no match for: {}",
                o.name,
                bad.join(", ")
            )
        });
    }
    let s = py_str(v);
    if v.is_null() || o.choices.contains(&s.as_str()) {
        return None;
    }
    // A YAML boolean that reached a str option as "True"/"False" is mapped
    // back when exactly one boolean spelling is among the choices.
    let spellings: &[&str] = match v.as_str() {
        Some("True") => &TRUE,
        Some("False") => &FALSE,
        _ => &[],
    };
    let mut overlap = o.choices.iter().filter(|c| spellings.contains(c));
    if let (Some(c), None) = (overlap.next(), overlap.next()) {
        *v = Value::String((*c).to_string());
        return None;
    }
    Some(format!(
        "value of {} must be one of: {choices}, got: {}",
        o.name,
        shown(s)
    ))
}

const TRUE: [&str; 6] = ["y", "yes", "on", "1", "true", "t"];
const FALSE: [&str; 6] = ["n", "no", "off", "0", "false", "f"];

/// Converts `v` to `kind` as AnsibleModule's `check_type_*` do; the error is
/// (Python type name of `v`, reason). With `hide`, the reason never shows `v`.
fn coerce(kind: Kind, v: Value, hide: bool, env: Env) -> Result<Value, (&'static str, String)> {
    let show = |v: &Value| {
        if hide {
            "'********'".to_string()
        } else {
            crate::text::value(&py_repr(v))
        }
    };
    let fail = |v: &Value, e: String| Err((py_type(v), e));
    let cannot = |v: &Value, what: &str| {
        fail(
            v,
            format!("<class '{}'> cannot be converted to {what}", py_type(v)),
        )
    };
    match (kind, v) {
        (Kind::Raw, v) | (Kind::Str, v @ Value::String(_)) => Ok(v),
        // As ansible-core 2.19 does for a null list element.
        (Kind::Str | Kind::Path, Value::Null) => Ok(Value::from("")),
        (Kind::Str, v) => Ok(Value::String(py_str(&v))),
        (Kind::Path, v) => Ok(Value::String(expand_path(&py_str(&v), env))),
        (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (Kind::Bool, v @ (Value::String(_) | Value::Number(_))) => {
            let t = match &v {
                Value::String(s) => s.trim().to_lowercase(),
                Value::Number(n) if n.as_f64() == Some(1.0) => "1".into(),
                Value::Number(n) if n.as_f64() == Some(0.0) => "0".into(),
                _ => String::new(),
            };
            if TRUE.contains(&t.as_str()) {
                Ok(Value::Bool(true))
            } else if FALSE.contains(&t.as_str()) {
                Ok(Value::Bool(false))
            } else {
                let text = if hide {
                    "********".to_string()
                } else {
                    py_str(&v)
                };
                fail(&v, format!("The value '{text}' is not a valid boolean. Valid booleans include: {BOOLEANS}"))
            }
        }
        (Kind::Bool, v) => cannot(&v, "a bool"),
        (Kind::Int, v) => {
            let int = match &v {
                Value::Number(n) if n.is_i64() || n.is_u64() => return Ok(v),
                Value::Number(n) => n.as_f64().and_then(integral),
                Value::String(s) => s
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .or_else(|| s.trim().parse().ok().and_then(integral)),
                _ => None,
            };
            match int {
                Some(i) => Ok(Value::from(i)),
                None => fail(
                    &v,
                    format!("\"{}\" cannot be converted to an int", show(&v)),
                ),
            }
        }
        (Kind::Float, v) => {
            let f = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match f.and_then(serde_json::Number::from_f64) {
                Some(n) => Ok(Value::Number(n)),
                None => cannot(&v, "a float"),
            }
        }
        (Kind::List, v @ Value::Array(_)) => Ok(v),
        (Kind::List, Value::String(s)) if s.is_empty() => Ok(Value::Array(vec![])),
        (Kind::List, Value::String(s)) => Ok(s.split(',').map(Value::from).collect()),
        (Kind::List, v @ (Value::Number(_) | Value::Bool(_))) => {
            Ok(Value::Array(vec![Value::String(py_str(&v))]))
        }
        (Kind::List, v) => cannot(&v, "a list"),
        (Kind::Dict, v @ Value::Object(_)) => Ok(v),
        (Kind::Dict, Value::String(s)) => parse_dict(&s).map_err(|e| ("str", e.into())),
        (Kind::Dict, v) => cannot(&v, "a dict"),
    }
}

/// An internal `_ansible_*` flag, converted as a bool option.
pub(crate) fn to_bool(v: &Value) -> Result<bool, String> {
    match coerce(Kind::Bool, v.clone(), false, &|_| None) {
        Ok(b) => Ok(b.as_bool().unwrap_or(false)),
        Err((_, e)) => Err(e),
    }
}

/// A float with an integral value as an int ("1.0" is 1, "1.5" is an error).
fn integral(f: f64) -> Option<i64> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
}

const BOOLEANS: &str =
    "'y', 'yes', 'on', '1', 'true', 't', 1, 'n', 'no', 'off', '0', 'false', 'f', 0";

/// A dict from JSON text or from `k=v, k2=v2` / `k=v k2=v2` (quotes and
/// backslash escapes as in AnsibleModule's `check_type_dict`).
fn parse_dict(s: &str) -> Result<Value, &'static str> {
    if s.starts_with('{') {
        return match serde_json::from_str(s) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err("unable to evaluate string as dictionary"),
        };
    }
    if !s.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value");
    }
    let (mut fields, mut field) = (vec![], String::new());
    let (mut quote, mut escape) = (None, false);
    for c in s.trim().chars() {
        match c {
            _ if escape => {
                field.push(c);
                escape = false;
            }
            '\\' => escape = true,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            _ if quote == Some(c) => quote = None,
            ',' | ' ' if quote.is_none() => {
                fields.extend((!field.is_empty()).then(|| std::mem::take(&mut field)))
            }
            _ => field.push(c),
        }
    }
    fields.extend((!field.is_empty()).then_some(field));
    let mut m = Map::new();
    for f in fields {
        let (k, v) = f
            .split_once('=')
            .ok_or("unable to evaluate string in the \"key=value\" format as dictionary")?;
        m.insert(k.into(), v.into());
    }
    Ok(Value::Object(m))
}

/// `os.path.expanduser(os.path.expandvars(p))`: `$NAME` and `${NAME}` of set
/// variables, then a leading `~` or `~/` (from HOME; `~user` stays as it is).
fn expand_path(p: &str, env: Env) -> String {
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(b) => match b.find('}') {
                Some(j) => (&b[..j], j + 2),
                None => ("", 0),
            },
            None => {
                let j = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..j], j)
            }
        };
        match (len > 0 && !name.is_empty()).then(|| env(name)).flatten() {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[i..i + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    let tail = out
        .strip_prefix('~')
        .filter(|t| t.is_empty() || t.starts_with('/'));
    match (tail, env("HOME")) {
        (Some(t), Some(home)) => {
            let joined = format!("{}{t}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".into()
            } else {
                joined
            }
        }
        _ => out,
    }
}

/// Adds the strings inside a no_log value (and the text of its numbers) to `out`.
pub(crate) fn collect_secrets(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.is_empty() => out.push(s.clone()),
        Value::Number(_) => out.push(py_str(v)),
        Value::Array(a) => a.iter().for_each(|x| collect_secrets(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_secrets(x, out)),
        _ => {}
    }
}

/// The name of Python's `type(v)`.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str(v)`: what a str option receives for a non-string value.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => py_repr(v),
    }
}

/// Python's `repr(v)` of the value json.loads would have produced.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => {
            let q = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(q);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == q => out.extend(['\\', c]),
                    c if (c as u32) < 0x20 || c == '\x7f' => {
                        out.push_str(&format!("\\x{:02x}", c as u32))
                    }
                    c => out.push(c),
                }
            }
            out.push(q);
            out
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::from(k.as_str())), py_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

fn py_float(f: f64) -> String {
    let a = f.abs();
    if f.fract() == 0.0 && a < 1e16 {
        format!("{f:.1}")
    } else if !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
        format!("{m}e{sign}{digits:0>2}")
    } else {
        f.to_string()
    }
}
