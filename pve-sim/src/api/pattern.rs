//! The `pattern` of a property in PVE's API schema, checked as PVE's
//! `JSONSchema.pm` does: `$value =~ m/^$pattern$/`.
//!
//! Matching is the `regex` crate's; it has every feature PVE's patterns use
//! (classes, `\s \S \w \d`, `\xNN`, `\@`-style escapes, groups,
//! alternation, counted repetition) with Perl's Unicode meaning of the
//! classes, and it matches on characters, which is what the API hands over
//! (a path byte is one character, as in Perl). Two Perl spellings it does
//! not know are translated here:
//! * `(?^:...)`, how Perl prints a `qr//` (PVE builds patterns such as the
//!   user id's from smaller ones): "default flags", and as no PVE pattern
//!   sets a flag, the same as `(?:...)`.
//! * `$` without `/m` also matches before a final newline (`"ci\n"` is a
//!   valid token name to PVE). The `regex` crate has no look-ahead to write
//!   that, so the value is tried as it is and, when it ends in a newline,
//!   without it, against `\A(?:pattern)\z`. That is Perl's result as long as
//!   a pattern has nothing after an inner `$`, which holds for every pattern
//!   in `data/` (only the user id's has one, at its end).

use std::sync::OnceLock;

/// A schema pattern, checked when the schema is loaded and compiled on its
/// first use: compiling all of them (the `{0,4096}` of `keys`, Unicode
/// `\s` classes) added about 15 ms to every start of the debug build, and
/// most runs never validate most of them.
#[derive(Debug, Clone)]
pub struct Pattern {
    anchored: String,
    compiled: OnceLock<Option<regex::Regex>>,
}

impl Pattern {
    /// Checks the syntax of a pattern of the API schema; the error names what
    /// the `regex` crate refused.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        let translated = pattern.replace("(?^:", "(?:");
        let anchored = format!(r"\A(?:{translated})\z");
        regex_syntax::Parser::new()
            .parse(&anchored)
            .map_err(|e| format!("unsupported pattern '{pattern}': {e}"))?;
        Ok(Pattern {
            anchored,
            compiled: OnceLock::new(),
        })
    }

    /// Whether `text` matches as `m/^pattern$/` in Perl.
    pub fn full_match(&self, text: &str) -> bool {
        let Some(re) = self.regex() else {
            return false;
        };
        re.is_match(text) || text.strip_suffix('\n').is_some_and(|t| re.is_match(t))
    }

    /// A pattern that parsed can only fail to compile by outgrowing the
    /// crate's size limit; a test compiles every pattern of the schemas.
    fn regex(&self) -> Option<&regex::Regex> {
        self.compiled
            .get_or_init(|| regex::Regex::new(&self.anchored).ok())
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p).unwrap().full_match(t)
    }

    #[test]
    fn pve_patterns() {
        let tok = r"(?^:[A-Za-z][A-Za-z0-9\.\-_]+)";
        assert!(m(tok, "ci"));
        assert!(m(tok, "a.b-c_d"));
        assert!(!m(tok, "c"));
        assert!(!m(tok, "1ci"));
        assert!(!m(tok, "a b"));
        assert!(m(tok, "ci\n"), "Perl's $ matches before a final newline");
        assert!(!m(tok, "ci\n\n"), "but only one");
        assert!(!m(tok, "c\ni"));
        let keys = "[0-9a-zA-Z!=]{0,4096}";
        assert!(m(keys, ""));
        assert!(m(keys, "x!y="));
        assert!(!m(keys, "x y"));
        assert!(!m(keys, &"a".repeat(4097)));
        assert!(m(keys, &"a".repeat(4096)));
        assert!(m(keys, &format!("{}\n", "a".repeat(4096))));
        let uid = r"(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)";
        assert!(m(uid, "joe@pve"));
        assert!(m(uid, "joe@pve!ci"));
        assert!(m(uid, "joe@pve!ci\n"));
        assert!(m(uid, "a@b@pve"));
        assert!(m(uid, "j\u{f6}e@pve"));
        assert!(!m(uid, "joe"));
        assert!(!m(uid, "joe@pve!"));
        assert!(!m(uid, "jo e@pve"));
        assert!(!m(uid, "jo\u{a0}e@pve"), "\\s is Unicode white space");
        let sync = "(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none";
        assert!(m(sync, "acl;entry"));
        assert!(m(sync, "none"));
        assert!(!m(sync, "acl;"));
        assert!(!m(sync, "aclnone"), "the alternation is inside the anchors");
        assert!(m(r#"^[^\x00-\x1F\x7F <>#"]*$"#, "abc"));
        assert!(!m(r#"^[^\x00-\x1F\x7F <>#"]*$"#, "a c"));
        assert!(m(r"\w+=[^,]+(,\s*\w+=[^,]+)*", "a=b, c=d"));
        assert!(m(r"\w+=[^,]+", "\u{e9}t\u{e9}=x"), "\\w is Unicode");
        assert!(m(r"\S{2,}", "ab"));
        assert!(!m(r"\S{2,}", "a"));
        assert!(m("[0-9a-fA-F]{8,64}", "deadbeef"));
    }

    #[test]
    fn every_pattern_of_every_version_compiles() {
        use crate::api::schema::ApiSchema;
        use crate::model::PveVersion;
        for v in [PveVersion::V8_4, PveVersion::V9_0, PveVersion::V9_1] {
            let schema = ApiSchema::parse(crate::versions::schema_json(v)).unwrap();
            let patterns: Vec<&Pattern> = schema.patterns().collect();
            assert!(patterns.len() > 10, "{v}");
            for p in patterns {
                assert!(p.regex().is_some(), "{v}: {}", p.anchored);
            }
        }
    }
}
