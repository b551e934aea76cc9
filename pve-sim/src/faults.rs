//! Injected failures (`--fault JSON`), so that tests can exercise a client's
//! retries, timeouts and lost answers against an otherwise correct server.
//!
//! A fault is a JSON object:
//!
//! ```json
//! {"method": "PUT", "path": "/access/acl", "status": 500,
//!  "reason": "cfs-lock 'file-user_cfg' error: got lock request timeout", "times": 2}
//! ```
//!
//! * `method` (optional, any method when absent) and `path` (optional, any API
//!   path when absent): which requests it applies to. `path` is relative to
//!   `/api2/json`; `*` matches exactly one segment; empty segments are ignored
//!   on both sides, as PVE ignores consecutive slashes.
//! * exactly one action: `status` (+ `reason`, + `body` = the full message of
//!   the JSON body, default `reason` + newline) answers without calling the
//!   API; `delay_ms` waits and then handles the request normally; `drop`:
//!   `"before"` closes the connection without handling the request, `"after"`
//!   handles it and closes without answering.
//! * a limit: `times` N (the first N matching requests), `rate` 0..1 (that
//!   fraction of the matching requests, drawn from a PRNG seeded by `seed`,
//!   default the rule's position, so that a test run repeats exactly), both
//!   (a fraction, at most N times), or neither (every matching request).
//!
//! The first rule (in command-line order) that fires wins; rules after it are
//! not consulted and do not count the request.

use std::sync::Mutex;

use serde_json::{Map, Value};

/// What a fired fault does to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer with this status line and a PVE-shaped error body; the API is not called.
    Status {
        status: u16,
        reason: String,
        message: String,
    },
    /// Wait this long, then handle the request normally.
    Delay(u64),
    /// Close the connection without handling the request.
    DropBefore,
    /// Handle the request, then close the connection without answering.
    DropAfter,
}

impl Action {
    /// Short description for the request log (`"fault"` field).
    pub fn label(&self) -> String {
        match self {
            Action::Status { status, .. } => format!("status {status}"),
            Action::Delay(ms) => format!("delay {ms}ms"),
            Action::DropBefore => "drop before".to_string(),
            Action::DropAfter => "drop after".to_string(),
        }
    }
}

/// One parsed `--fault` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Upper-cased; `None` matches any method.
    method: Option<String>,
    /// Non-empty segments of the pattern; `None` matches any API path.
    path: Option<Vec<String>>,
    action: Action,
    times: Option<u64>,
    rate: Option<f64>,
    seed: Option<u64>,
}

const KEYS: &[&str] = &[
    "method", "path", "status", "reason", "body", "delay_ms", "drop", "times", "rate", "seed",
];

impl Rule {
    /// Parse one `--fault` argument. The error says what is wrong in words a
    /// user of the command line understands.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(obj) = value else {
            return Err("must be a JSON object".to_string());
        };
        Rule::from_object(&obj)
    }

    fn from_object(obj: &Map<String, Value>) -> Result<Rule, String> {
        if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown key '{k}' (known keys: {})",
                KEYS.join(", ")
            ));
        }
        let method = match obj.get("method") {
            None | Some(Value::Null) => None,
            Some(Value::String(m)) if valid_method(m) => Some(m.to_ascii_uppercase()),
            Some(other) => return Err(format!("'method' must be a method name, got {other}")),
        };
        let path = match obj.get("path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.starts_with('/') => {
                let rel = p.strip_prefix("/api2/json").unwrap_or(p);
                Some(segments(rel).map(str::to_string).collect())
            }
            Some(other) => {
                return Err(format!(
                "'path' must be a string starting with '/' (relative to /api2/json), got {other}"
            ))
            }
        };
        let action = parse_action(obj)?;
        let times = match obj.get("times") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Some(n),
                _ => return Err(format!("'times' must be a positive integer, got {v}")),
            },
        };
        let rate = match obj.get("rate") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(r) if (0.0..=1.0).contains(&r) => Some(r),
                _ => return Err(format!("'rate' must be a number from 0 to 1, got {v}")),
            },
        };
        let seed = match obj.get("seed") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) => Some(n),
                None => return Err(format!("'seed' must be a non-negative integer, got {v}")),
            },
        };
        Ok(Rule {
            method,
            path,
            action,
            times,
            rate,
            seed,
        })
    }

    fn matches(&self, method: &str, rel_path: &str) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        match &self.path {
            None => true,
            Some(pattern) => {
                let mut got = segments(rel_path);
                pattern.iter().all(|p| match got.next() {
                    Some(seg) => p == "*" || p == seg,
                    None => false,
                }) && got.next().is_none()
            }
        }
    }
}

fn parse_action(obj: &Map<String, Value>) -> Result<Action, String> {
    let given: Vec<&str> = ["status", "delay_ms", "drop"]
        .into_iter()
        .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() != 1 {
        return Err(format!(
            "needs exactly one action of 'status', 'delay_ms', 'drop' (got {})",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        ));
    }
    for k in ["reason", "body"] {
        if obj.contains_key(k) && given[0] != "status" {
            return Err(format!("'{k}' only goes with 'status'"));
        }
    }
    match given[0] {
        "status" => {
            let status = obj
                .get("status")
                .and_then(Value::as_u64)
                .filter(|s| (100..=599).contains(s))
                .and_then(|s| u16::try_from(s).ok())
                .ok_or("'status' must be an HTTP status code from 100 to 599")?;
            let reason = match obj.get("reason") {
                None | Some(Value::Null) => standard_reason(status).to_string(),
                Some(Value::String(r)) if !r.is_empty() && !r.contains(['\r', '\n']) => r.clone(),
                Some(other) => {
                    return Err(format!(
                        "'reason' must be a non-empty one-line string, got {other}"
                    ))
                }
            };
            let message = match obj.get("body") {
                None | Some(Value::Null) => format!("{reason}\n"),
                Some(Value::String(b)) => b.clone(),
                Some(other) => {
                    return Err(format!(
                        "'body' must be a string (the message), got {other}"
                    ))
                }
            };
            Ok(Action::Status {
                status,
                reason,
                message,
            })
        }
        "delay_ms" => obj
            .get("delay_ms")
            .and_then(Value::as_u64)
            .map(Action::Delay)
            .ok_or_else(|| "'delay_ms' must be a non-negative integer".to_string()),
        _ => match obj.get("drop").and_then(Value::as_str) {
            Some("before") => Ok(Action::DropBefore),
            Some("after") => Ok(Action::DropAfter),
            _ => Err("'drop' must be \"before\" or \"after\"".to_string()),
        },
    }
}

fn valid_method(m: &str) -> bool {
    !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic())
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The reason phrase of a status code, for faults that give only `status`.
pub fn standard_reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        595 => "Connection refused",
        596 => "Broken pipe",
        _ => "Error",
    }
}

/// Per-rule counters, kept apart from the immutable rules.
#[derive(Debug, Clone)]
struct Counter {
    fired: u64,
    rng: u64,
}

/// The rules of the command line with their counters. Shared by all
/// connections; `check` is serialised so that `times` is exact under
/// concurrent requests.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    counters: Mutex<Vec<Counter>>,
}

impl Faults {
    pub fn new(rules: Vec<Rule>) -> Faults {
        let counters = rules
            .iter()
            .enumerate()
            .map(|(i, r)| Counter {
                fired: 0,
                rng: r.seed.unwrap_or(i as u64 + 1),
            })
            .collect();
        Faults {
            rules,
            counters: Mutex::new(counters),
        }
    }

    /// Parse every `--fault` argument; the error names the failing one by position.
    pub fn parse_all<S: AsRef<str>>(specs: &[S]) -> Result<Faults, String> {
        let rules = specs
            .iter()
            .enumerate()
            .map(|(i, s)| Rule::parse(s.as_ref()).map_err(|e| format!("--fault #{}: {e}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Faults::new(rules))
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The action to apply to this request, if a rule fires. `rel_path` is the
    /// decoded path relative to `/api2/json`.
    pub fn check(&self, method: &str, rel_path: &str) -> Option<Action> {
        if self.rules.is_empty() {
            return None;
        }
        // A panic elsewhere while holding the lock leaves plain counters behind,
        // which are still usable.
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (rule, counter) in self.rules.iter().zip(counters.iter_mut()) {
            if !rule.matches(method, rel_path) {
                continue;
            }
            if rule.times.is_some_and(|n| counter.fired >= n) {
                continue;
            }
            if let Some(rate) = rule.rate {
                if next_unit(&mut counter.rng) >= rate {
                    continue;
                }
            }
            counter.fired += 1;
            return Some(rule.action.clone());
        }
        None
    }
}

/// splitmix64, mapped to [0, 1): small, seedable and good enough to pick a
/// fraction of requests reproducibly.
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(specs: &[&str]) -> Faults {
        Faults::parse_all(specs).unwrap()
    }

    #[test]
    fn status_fault_fires_times_then_stops() {
        let f = faults(&[
            r#"{"method":"PUT","path":"/access/acl","status":500,"reason":"cfs-lock 'file-user_cfg' error: got lock request timeout","times":2}"#,
        ]);
        let expected = Action::Status {
            status: 500,
            reason: "cfs-lock 'file-user_cfg' error: got lock request timeout".into(),
            message: "cfs-lock 'file-user_cfg' error: got lock request timeout\n".into(),
        };
        assert_eq!(f.check("GET", "/access/acl"), None, "other method");
        assert_eq!(f.check("PUT", "/access/users"), None, "other path");
        assert_eq!(f.check("PUT", "/access/acl"), Some(expected.clone()));
        assert_eq!(f.check("put", "/access/acl/"), Some(expected));
        assert_eq!(f.check("PUT", "/access/acl"), None, "times exhausted");
    }

    #[test]
    fn star_matches_exactly_one_segment() {
        let f = faults(&[r#"{"path":"/access/users/*/token/*","drop":"after"}"#]);
        assert_eq!(
            f.check("POST", "/access/users/joe@pve/token/ci"),
            Some(Action::DropAfter)
        );
        assert_eq!(
            f.check("GET", "//access/users/joe@pve//token/ci"),
            Some(Action::DropAfter),
            "empty segments are ignored"
        );
        assert_eq!(f.check("GET", "/access/users/joe@pve/token"), None);
        assert_eq!(f.check("GET", "/access/users/joe@pve/token/ci/x"), None);
        assert_eq!(f.check("GET", "/access/users/token/ci"), None);
    }

    #[test]
    fn absent_path_and_method_match_everything() {
        let f = faults(&[r#"{"delay_ms":10}"#]);
        assert_eq!(
            f.check("DELETE", "/access/roles/x"),
            Some(Action::Delay(10))
        );
        assert_eq!(f.check("GET", ""), Some(Action::Delay(10)));
    }

    #[test]
    fn api2_prefix_in_pattern_is_accepted() {
        let f = faults(&[r#"{"path":"/api2/json/access/acl","drop":"before"}"#]);
        assert_eq!(f.check("GET", "/access/acl"), Some(Action::DropBefore));
    }

    #[test]
    fn first_firing_rule_wins_and_later_rules_do_not_count() {
        let f = faults(&[
            r#"{"path":"/access/acl","status":503,"times":1}"#,
            r#"{"path":"/access/acl","status":502,"times":1}"#,
        ]);
        let got: Vec<Option<u16>> = (0..3)
            .map(|_| match f.check("GET", "/access/acl") {
                Some(Action::Status { status, .. }) => Some(status),
                _ => None,
            })
            .collect();
        assert_eq!(got, vec![Some(503), Some(502), None]);
    }

    #[test]
    fn rate_is_a_reproducible_fraction() {
        let spec = [r#"{"path":"/access/users","status":500,"rate":0.3}"#];
        let run = || -> Vec<bool> {
            let f = faults(&spec);
            (0..1000)
                .map(|_| f.check("GET", "/access/users").is_some())
                .collect()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same choices");
        let hits = a.iter().filter(|h| **h).count();
        assert!((240..=360).contains(&hits), "about 30% fired: {hits}");

        let seeded = faults(&[r#"{"status":500,"rate":0.3,"seed":99}"#]);
        let b: Vec<bool> = (0..1000)
            .map(|_| seeded.check("GET", "/access/users").is_some())
            .collect();
        assert_ne!(a, b, "another seed, other choices");
    }

    #[test]
    fn rate_bounds_and_rate_with_times() {
        let never = faults(&[r#"{"status":500,"rate":0}"#]);
        assert!((0..200).all(|_| never.check("GET", "/x").is_none()));
        let always = faults(&[r#"{"status":500,"rate":1,"times":3}"#]);
        let hits = (0..10)
            .filter(|_| always.check("GET", "/x").is_some())
            .count();
        assert_eq!(hits, 3);
    }

    #[test]
    fn status_defaults_and_body() {
        let f = faults(&[r#"{"status":503}"#]);
        assert_eq!(
            f.check("GET", "/"),
            Some(Action::Status {
                status: 503,
                reason: "Service Unavailable".into(),
                message: "Service Unavailable\n".into()
            })
        );
        let g = faults(&[r#"{"status":500,"reason":"a","body":"a\nb\n"}"#]);
        assert_eq!(
            g.check("GET", "/"),
            Some(Action::Status {
                status: 500,
                reason: "a".into(),
                message: "a\nb\n".into()
            })
        );
    }

    #[test]
    fn invalid_faults_are_explained() {
        let cases: &[(&str, &str)] = &[
            ("{", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            (r#"{"path":"/x"}"#, "exactly one action"),
            (r#"{"status":500,"drop":"after"}"#, "exactly one action"),
            (r#"{"status":99}"#, "'status'"),
            (r#"{"status":"500"}"#, "'status'"),
            (r#"{"status":500,"reason":"a\nb"}"#, "'reason'"),
            (r#"{"drop":"sometimes"}"#, "'drop'"),
            (r#"{"delay_ms":-1}"#, "'delay_ms'"),
            (r#"{"delay_ms":5,"reason":"x"}"#, "only goes with 'status'"),
            (r#"{"status":500,"times":0}"#, "'times'"),
            (r#"{"status":500,"rate":1.5}"#, "'rate'"),
            (r#"{"status":500,"path":"access/acl"}"#, "'path'"),
            (r#"{"status":500,"method":"P T"}"#, "'method'"),
            (r#"{"status":500,"tiems":2}"#, "unknown key 'tiems'"),
        ];
        for (spec, want) in cases {
            let err = Faults::parse_all(&[*spec]).unwrap_err();
            assert!(err.starts_with("--fault #1: "), "{spec}: {err}");
            assert!(err.contains(want), "{spec}: {err} (wanted {want})");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(Action::Delay(5).label(), "delay 5ms");
        assert_eq!(Action::DropBefore.label(), "drop before");
        assert_eq!(Action::DropAfter.label(), "drop after");
        assert_eq!(
            Action::Status {
                status: 500,
                reason: "x".into(),
                message: "x\n".into()
            }
            .label(),
            "status 500"
        );
    }
}
