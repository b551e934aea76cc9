//! The API schema of the simulated PVE version (PVE's `apidata.js`, copied
//! into `data/`): route table, per-method flags and parameter validation
//! with PVE's exact messages (pve-common `JSONSchema.pm`
//! `check_prop`/`check_object`/`check_type`, `RESTHandler.pm` `handle`).
//!
//! Validation works on the raw parameters (JSON values) and yields
//! [`Params`]: every defined value as the string PVE's "untaint" step
//! leaves (`true` becomes `"1"`, `5` becomes `"5"`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::errors::ApiError;
use super::formats;
use super::pattern::Pattern;
use super::request::RawParams;
use crate::model::PveVersion;

/// Validated parameters: name -> string value (undefined values omitted).
pub type Params = BTreeMap<String, String>;

/// One path segment of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Fixed(String),
    /// `{name}`: any segment without whitespace.
    Param(String),
}

/// One property of a method's parameter schema.
#[derive(Debug, Clone, Default)]
pub struct Prop {
    pub ty: Option<String>,
    pub optional: bool,
    pub format: Option<String>,
    pub pattern: Option<Pattern>,
    pub max_length: Option<usize>,
    pub min_length: Option<usize>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub enumeration: Option<Vec<String>>,
    pub requires: Option<String>,
}

/// One API method (`GET /access/users/{userid}`).
#[derive(Debug, Clone)]
pub struct MethodDef {
    pub method: String,
    /// The template, e.g. `/access/users/{userid}`.
    pub path: String,
    segments: Vec<Segment>,
    /// `allowtoken` (default 1).
    pub allowtoken: bool,
    /// The `permissions` object (`{"user":"all"}`, `{"check":[...]}`).
    pub permissions: Value,
    pub props: BTreeMap<String, Prop>,
    /// `additionalProperties` (0 for every PVE access method).
    pub additional: bool,
}

/// The parsed schema of one PVE version.
#[derive(Debug, Clone)]
pub struct ApiSchema {
    methods: Vec<MethodDef>,
}

impl ApiSchema {
    /// Parses PVE's schema file (`{"endpoints": {path: {METHOD: info}}}`).
    pub fn parse(text: &str) -> Result<ApiSchema, String> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| format!("API schema is not JSON: {e}"))?;
        let endpoints = root
            .get("endpoints")
            .and_then(Value::as_object)
            .ok_or("API schema has no 'endpoints'")?;
        let mut methods = Vec::new();
        for (path, by_method) in endpoints {
            let by_method = by_method
                .as_object()
                .ok_or_else(|| format!("API schema: '{path}' is not an object"))?;
            for (method, info) in by_method {
                methods.push(parse_method(path, method, info)?);
            }
        }
        Ok(ApiSchema { methods })
    }

    /// This schema with the methods of another schema file added (pve-sim's
    /// pool and cluster-resource methods beside the `/access` subtree).
    pub fn extended(mut self, text: &str) -> Result<ApiSchema, String> {
        self.methods.extend(ApiSchema::parse(text)?.methods);
        Ok(self)
    }

    /// Every `pattern` of the schema, for the test that compiles them all.
    #[cfg(test)]
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.methods
            .iter()
            .flat_map(|m| m.props.values())
            .filter_map(|p| p.pattern.as_ref())
    }

    /// The method answering `method rel_uri` and the values of its path
    /// parameters (PVE's `find_handler`: empty segments are skipped).
    pub fn find(
        &self,
        method: &str,
        rel_uri: &str,
    ) -> Option<(&MethodDef, BTreeMap<String, String>)> {
        let parts: Vec<&str> = rel_uri.split('/').filter(|s| !s.is_empty()).collect();
        self.methods
            .iter()
            .filter(|m| m.method == method && m.segments.len() == parts.len())
            .find_map(|m| {
                let mut uri = BTreeMap::new();
                for (seg, part) in m.segments.iter().zip(&parts) {
                    match seg {
                        Segment::Fixed(f) if f == part => {}
                        Segment::Param(name) if !part.chars().any(char::is_whitespace) => {
                            uri.insert(name.clone(), part.to_string());
                        }
                        _ => return None,
                    }
                }
                Some((m, uri))
            })
    }
}

fn parse_method(path: &str, method: &str, info: &Value) -> Result<MethodDef, String> {
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Fixed(s.to_string()),
            },
        )
        .collect();
    let params = info.get("parameters").cloned().unwrap_or(Value::Null);
    let mut props = BTreeMap::new();
    if let Some(p) = params.get("properties").and_then(Value::as_object) {
        for (name, schema) in p {
            let prop = parse_prop(schema)
                .map_err(|e| format!("API schema {method} {path} '{name}': {e}"))?;
            props.insert(name.clone(), prop);
        }
    }
    Ok(MethodDef {
        method: method.to_string(),
        path: path.to_string(),
        segments,
        allowtoken: info.get("allowtoken").map(truthy).unwrap_or(true),
        permissions: info.get("permissions").cloned().unwrap_or(Value::Null),
        props,
        additional: params
            .get("additionalProperties")
            .map(truthy)
            .unwrap_or(true),
    })
}

fn parse_prop(s: &Value) -> Result<Prop, String> {
    let num = |k: &str| {
        s.get(k)
            .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
    };
    let pattern = match s.get("pattern").and_then(Value::as_str) {
        Some(p) => Some(Pattern::new(p)?),
        None => None,
    };
    Ok(Prop {
        ty: s.get("type").and_then(Value::as_str).map(str::to_string),
        optional: s.get("optional").map(truthy).unwrap_or(false),
        format: s.get("format").and_then(Value::as_str).map(str::to_string),
        pattern,
        max_length: num("maxLength").map(|n| n as usize),
        min_length: num("minLength").map(|n| n as usize),
        minimum: num("minimum"),
        maximum: num("maximum"),
        enumeration: s
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(perl_string).collect()),
        requires: s
            .get("requires")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Perl truthiness of a JSON value (`undef`, `""`, `"0"`, `0` and false
/// are false; references are true).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(_) | Value::String(_) => {
            let s = perl_string(v);
            !(s.is_empty() || s == "0")
        }
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The string Perl makes of a decoded JSON value.
pub fn perl_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "1".to_string(),
        Value::Bool(false) => "0".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                let f = n.as_f64().unwrap_or_default();
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", f as i64)
                } else {
                    format!("{f}")
                }
            }
        }
        Value::Array(_) => "ARRAY(0x55d5c1a3e2b8)".to_string(),
        Value::Object(_) => "HASH(0x55d5c1a3e2b8)".to_string(),
    }
}

/// The Perl reference type of a JSON value, if it is one.
fn ref_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Bool(_) => Some("JSON::PP::Boolean"),
        Value::Array(_) => Some("ARRAY"),
        Value::Object(_) => Some("HASH"),
        _ => None,
    }
}

fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
}

/// Perl's `is_number` of JSONSchema.pm.
fn is_number(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match d.find(['e', 'E']) {
        Some(i) => (&d[..i], Some(&d[i + 1..])),
        None => (d, None),
    };
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        None => digits(mantissa),
        Some((a, b)) => (digits(a) && (b.is_empty() || digits(b))) || (a.is_empty() && digits(b)),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => digits(e.strip_prefix(['+', '-']).unwrap_or(e)),
    };
    mantissa_ok && exp_ok
}

/// Per-parameter error messages, joined like PVE's `add_error` does.
#[derive(Debug, Default)]
pub struct Errors(BTreeMap<String, String>);

impl Errors {
    pub fn add(&mut self, key: &str, msg: impl Into<String>) {
        // PVE uses '_root' for an empty (Perl-false) path.
        let key = if key.is_empty() || key == "0" {
            "_root"
        } else {
            key
        };
        let msg = msg.into();
        match self.0.get_mut(key) {
            // the two characters '\' 'n' (Perl single-quoted join)
            Some(old) => {
                old.push_str("\\n");
                old.push_str(&msg);
            }
            None => {
                self.0.insert(key.to_string(), msg);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_error(self) -> ApiError {
        ApiError::param(self.0)
    }
}

/// What format verifiers need to know about the simulated version.
pub struct FormatContext<'a> {
    /// Valid privilege names (`pve-priv`).
    pub privileges: &'a BTreeSet<String>,
    /// Formats and messages that changed between releases.
    pub version: PveVersion,
}

impl MethodDef {
    /// PVE's `normalize_legacy_param_formats` + `validate` + untaint.
    pub fn validate(&self, raw: &RawParams, ctx: &FormatContext) -> Result<Params, ApiError> {
        let mut params = raw.clone();
        for (key, value) in params.iter_mut() {
            let Some(prop) = self.props.get(key) else {
                continue;
            };
            let list_format = prop.format.as_deref().is_some_and(|f| f.ends_with("-list"));
            if let Value::Array(items) = value {
                if prop.ty.as_deref() == Some("string") && list_format {
                    let joined: Vec<String> = items.iter().map(perl_string).collect();
                    *value = Value::String(joined.join(","));
                }
            }
        }

        let mut errors = Errors::default();
        for (name, prop) in &self.props {
            check_prop(params.get(name), prop, name, &mut errors, ctx);
        }
        for key in params.keys() {
            match self.props.get(key) {
                Some(prop) => {
                    if let Some(req) = &prop.requires {
                        if params.get(req).is_none_or(Value::is_null) {
                            errors.add(req, requires_message(key, ctx.version));
                        }
                    }
                }
                None if !self.additional => {
                    errors.add(
                        key,
                        "property is not defined in schema and the schema does not allow additional properties",
                    );
                }
                None => {}
            }
        }
        if !errors.is_empty() {
            return Err(errors.into_error());
        }
        Ok(params
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), perl_string(v)))
            .collect())
    }
}

/// pve-common reworded it for PVE 9.
fn requires_message(key: &str, version: PveVersion) -> String {
    if version >= PveVersion::V9_0 {
        format!("missing property required by '{key}'")
    } else {
        format!("missing property - '{key}' requires this property")
    }
}

fn check_prop(
    value: Option<&Value>,
    prop: &Prop,
    path: &str,
    errors: &mut Errors,
    ctx: &FormatContext,
) {
    let value = match value {
        None | Some(Value::Null) => {
            if !prop.optional {
                errors.add(path, "property is missing and it is not optional");
            }
            return;
        }
        Some(v) => v,
    };
    let ty = prop.ty.as_deref().unwrap_or("");
    if let Some(rt) = ref_type(value) {
        let ok = match ty {
            "" | "any" => true,
            "array" => rt == "ARRAY",
            "object" => rt == "HASH",
            "boolean" => rt == "JSON::PP::Boolean",
            _ => false,
        };
        if !ok {
            let msg = match ty {
                "array" | "object" => format!("type check ('{ty}') failed"),
                _ => format!("type check ('{ty}') failed - got {rt}"),
            };
            errors.add(path, msg);
        }
        // references get no string checks
        return;
    }
    let s = perl_string(value);
    let type_ok = match ty {
        "boolean" => s == "0" || s == "1",
        "integer" => is_integer(&s),
        "number" => is_number(&s),
        "array" | "object" => {
            errors.add(path, format!("type check ('{ty}') failed"));
            return;
        }
        _ => true,
    };
    if !type_ok {
        errors.add(path, format!("type check ('{ty}') failed - got '{s}'"));
        return;
    }
    if let Some(format) = &prop.format {
        if let Err(msg) = formats::check_format(format, &s, path, ctx) {
            errors.add(path, format!("invalid format - {msg}"));
            return;
        }
    }
    if let Some(re) = &prop.pattern {
        if !re.full_match(&s) {
            errors.add(path, "value does not match the regex pattern");
            return;
        }
    }
    let len = s.chars().count();
    if let Some(max) = prop.max_length {
        if len > max {
            errors.add(path, format!("value may only be {max} characters long"));
            return;
        }
    }
    if let Some(min) = prop.min_length {
        if len < min {
            errors.add(
                path,
                format!("value must be at least {min} characters long"),
            );
            return;
        }
    }
    if is_number(&s) {
        let n: f64 = s.parse().unwrap_or_default();
        if let Some(max) = prop.maximum {
            if n > max {
                errors.add(
                    path,
                    format!("value must have a maximum value of {}", num_text(max)),
                );
                return;
            }
        }
        if let Some(min) = prop.minimum {
            if n < min {
                errors.add(
                    path,
                    format!("value must have a minimum value of {}", num_text(min)),
                );
                return;
            }
        }
    }
    if let Some(values) = &prop.enumeration {
        if !values.contains(&s) {
            errors.add(
                path,
                format!(
                    "value '{s}' does not have a value in the enumeration '{}'",
                    values.join(", ")
                ),
            );
        }
    }
}

fn num_text(n: f64) -> String {
    perl_string(&serde_json::json!(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ApiSchema {
        ApiSchema::parse(
            &json!({"endpoints": {
                "/access/users/{userid}": {"PUT": {"allowtoken": 1, "parameters": {
                    "additionalProperties": 0,
                    "properties": {
                        "userid": {"type": "string", "format": "pve-userid", "maxLength": 64},
                        "enable": {"type": "boolean", "optional": 1, "default": 1},
                        "expire": {"type": "integer", "optional": 1, "minimum": 0},
                        "email": {"type": "string", "optional": 1, "format": "email-opt", "maxLength": 254},
                        "groups": {"type": "string", "optional": 1, "format": "pve-groupid-list"},
                        "append": {"type": "boolean", "optional": 1, "requires": "groups"},
                        "keys": {"type": "string", "optional": 1, "pattern": "[0-9a-zA-Z!=]{0,4096}"},
                        "kind": {"type": "string", "optional": 1, "enum": ["a", "b"]}
                    }}}}
            }})
            .to_string(),
        )
        .unwrap()
    }

    fn run(p: Value) -> Result<Params, ApiError> {
        let s = schema();
        let (m, uri) = s.find("PUT", "/access//users/joe@pve/").unwrap();
        assert_eq!(uri["userid"], "joe@pve");
        let mut raw: RawParams = p.as_object().unwrap().clone().into_iter().collect();
        raw.entry("userid".into()).or_insert(json!("joe@pve"));
        let privs = BTreeSet::new();
        m.validate(
            &raw,
            &FormatContext {
                privileges: &privs,
                version: PveVersion::V9_1,
            },
        )
    }

    fn errs(p: Value) -> BTreeMap<String, String> {
        run(p).unwrap_err().errors.unwrap()
    }

    #[test]
    fn messages() {
        assert_eq!(
            errs(json!({"enable": "yes"}))["enable"],
            "type check ('boolean') failed - got 'yes'"
        );
        assert_eq!(
            errs(json!({"expire": "1.5"}))["expire"],
            "type check ('integer') failed - got '1.5'"
        );
        assert_eq!(
            errs(json!({"expire": "-1"}))["expire"],
            "value must have a minimum value of 0"
        );
        assert_eq!(
            errs(json!({"expire": true}))["expire"],
            "type check ('integer') failed - got JSON::PP::Boolean"
        );
        assert_eq!(
            errs(json!({"foo": "1"}))["foo"],
            "property is not defined in schema and the schema does not allow additional properties"
        );
        assert_eq!(
            errs(json!({"append": "1"}))["groups"],
            "missing property required by 'append'"
        );
        assert_eq!(
            errs(json!({"keys": "a b"}))["keys"],
            "value does not match the regex pattern"
        );
        assert_eq!(
            errs(json!({"kind": "c"}))["kind"],
            "value 'c' does not have a value in the enumeration 'a, b'"
        );
        assert_eq!(
            errs(json!({"userid": "joe"}))["userid"],
            "invalid format - value 'joe' does not look like a valid user name\n"
        );
        assert_eq!(
            errs(json!({"groups": "a,b!"}))["groups"],
            "invalid format - group name 'b!' contains invalid characters\n"
        );
        assert_eq!(
            errs(json!({"email": "x"}))["email"],
            "invalid format - value does not look like a valid email address\n"
        );
        assert!(errs(json!({"": "1"}))["_root"].starts_with("property is not defined"));
    }

    #[test]
    fn untainted_values() {
        let p = run(
            json!({"enable": true, "expire": 5, "groups": ["a", "b"], "email": "", "kind": null}),
        )
        .unwrap();
        assert_eq!(p["enable"], "1");
        assert_eq!(p["expire"], "5");
        assert_eq!(p["groups"], "a,b");
        assert_eq!(p["email"], "");
        assert!(!p.contains_key("kind"));
    }

    #[test]
    fn route_lookup() {
        let s = schema();
        assert!(s.find("PUT", "/access/users").is_none());
        assert!(s.find("GET", "/access/users/joe@pve").is_none());
        assert!(s.find("PUT", "/access/users/joe@pve/x").is_none());
    }
}
