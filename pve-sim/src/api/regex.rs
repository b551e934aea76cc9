//! A small backtracking matcher for the Perl regular expressions that appear
//! as `pattern` in PVE's API schema (e.g. `(?^:[A-Za-z][A-Za-z0-9\.\-_]+)`).
//!
//! PVE checks a pattern as `m/^$pattern$/`; [`Regex::full_match`] does the
//! same, including Perl's `$` which also matches before a final newline.
//! Supported: literals and escapes (`\.`, `\@`, `\xNN`), classes with ranges
//! and `\s \S \w \W \d \D`, groups (`(...)`, `(?:...)`, `(?^:...)`),
//! alternation, the quantifiers `* + ? {n} {n,} {n,m}` (greedy), `^`, `$` and `.`.

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    alt: Alt,
}

type Alt = Vec<Vec<Piece>>;

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class(Class),
    Group(Alt),
    Start,
    End,
}

#[derive(Debug, Clone)]
struct Class {
    negated: bool,
    items: Vec<ClassItem>,
}

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    Space(bool),
    Word(bool),
    Digit(bool),
}

impl ClassItem {
    fn matches(&self, c: char) -> bool {
        match self {
            ClassItem::Range(a, b) => *a <= c && c <= *b,
            ClassItem::Space(pos) => c.is_whitespace() == *pos,
            ClassItem::Word(pos) => (c.is_alphanumeric() || c == '_') == *pos,
            ClassItem::Digit(pos) => c.is_ascii_digit() == *pos,
        }
    }
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.items.iter().any(|i| i.matches(c)) != self.negated
    }
}

impl Regex {
    /// Compiles `pattern`; an error names what is not supported.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser { s: &chars, i: 0 };
        let alt = p.alt()?;
        if p.i != chars.len() {
            return Err(format!("unbalanced ')' in pattern '{pattern}'"));
        }
        Ok(Regex { alt })
    }

    /// Whether the whole of `text` matches (`m/^pattern$/`).
    pub fn full_match(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        let n = s.len();
        m_alt(&self.alt, &s, 0, &mut |end| at_end(&s, end) || end == n)
    }
}

/// Perl's `$` without `/m`: end of string or before a final newline.
fn at_end(s: &[char], pos: usize) -> bool {
    pos == s.len() || (pos + 1 == s.len() && s[pos] == '\n')
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or("unexpected end of pattern")?;
        self.i += 1;
        Ok(c)
    }

    fn alt(&mut self) -> Result<Alt, String> {
        let mut alt = vec![self.seq()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alt.push(self.seq()?);
        }
        Ok(alt)
    }

    fn seq(&mut self) -> Result<Vec<Piece>, String> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let (min, max) = self.quantifier()?;
            seq.push(Piece { atom, min, max });
        }
        Ok(seq)
    }

    fn atom(&mut self) -> Result<Atom, String> {
        let c = self.next()?;
        Ok(match c {
            '^' => Atom::Start,
            '$' => Atom::End,
            '.' => Atom::Any,
            '[' => Atom::Class(self.class()?),
            '(' => {
                if self.peek() == Some('?') {
                    self.i += 1;
                    // (?:...) and (?^:...) (Perl's stringified qr//)
                    if self.peek() == Some('^') {
                        self.i += 1;
                    }
                    if self.next()? != ':' {
                        return Err("unsupported group syntax".to_string());
                    }
                }
                let alt = self.alt()?;
                if self.next()? != ')' {
                    return Err("missing ')'".to_string());
                }
                Atom::Group(alt)
            }
            '\\' => match self.escape()? {
                Esc::Char(c) => Atom::Char(c),
                Esc::Item(item) => Atom::Class(Class {
                    negated: false,
                    items: vec![item],
                }),
            },
            c => Atom::Char(c),
        })
    }

    fn escape(&mut self) -> Result<Esc, String> {
        let c = self.next()?;
        Ok(match c {
            's' => Esc::Item(ClassItem::Space(true)),
            'S' => Esc::Item(ClassItem::Space(false)),
            'w' => Esc::Item(ClassItem::Word(true)),
            'W' => Esc::Item(ClassItem::Word(false)),
            'd' => Esc::Item(ClassItem::Digit(true)),
            'D' => Esc::Item(ClassItem::Digit(false)),
            'n' => Esc::Char('\n'),
            't' => Esc::Char('\t'),
            'r' => Esc::Char('\r'),
            'x' => {
                let hi = self.next()?;
                let lo = self.next()?;
                let v = u32::from_str_radix(&format!("{hi}{lo}"), 16)
                    .map_err(|_| "bad \\x escape".to_string())?;
                Esc::Char(char::from_u32(v).ok_or("bad \\x escape")?)
            }
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
            c => Esc::Char(c),
        })
    }

    fn class(&mut self) -> Result<Class, String> {
        let mut negated = false;
        if self.peek() == Some('^') {
            negated = true;
            self.i += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.escape()? {
                    Esc::Char(c) => c,
                    Esc::Item(item) => {
                        items.push(item);
                        continue;
                    }
                }
            } else {
                c
            };
            // a range `a-z`, unless the '-' is the last character of the class
            if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|c| *c != ']') {
                self.i += 1;
                let hi = match self.next()? {
                    '\\' => match self.escape()? {
                        Esc::Char(c) => c,
                        Esc::Item(_) => return Err("bad class range".to_string()),
                    },
                    c => c,
                };
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Class { negated, items })
    }

    fn quantifier(&mut self) -> Result<(usize, usize), String> {
        let q = match self.peek() {
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('?') => (0, 1),
            Some('{') => {
                let start = self.i;
                self.i += 1;
                let mut text = String::new();
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == '}' {
                        break;
                    }
                    text.push(c);
                }
                let parse = |t: &str| t.trim().parse::<usize>().map_err(|_| "bad quantifier");
                let q = match text.split_once(',') {
                    None => {
                        let n = parse(&text)?;
                        (n, n)
                    }
                    Some((a, "")) => (parse(a)?, usize::MAX),
                    Some((a, b)) => (parse(a)?, parse(b)?),
                };
                if self.s.get(self.i - 1) != Some(&'}') {
                    self.i = start;
                    return Err("unterminated quantifier".to_string());
                }
                return Ok(q);
            }
            _ => return Ok((1, 1)),
        };
        self.i += 1;
        Ok(q)
    }
}

enum Esc {
    Char(char),
    Item(ClassItem),
}

/// Matches one character at `pos` for single-character atoms.
fn single(atom: &Atom, s: &[char], pos: usize) -> Option<bool> {
    let c = s.get(pos).copied();
    match atom {
        Atom::Char(x) => Some(c == Some(*x)),
        Atom::Any => Some(c.is_some_and(|c| c != '\n')),
        Atom::Class(cl) => Some(c.is_some_and(|c| cl.matches(c))),
        _ => None,
    }
}

fn m_alt(alt: &Alt, s: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    alt.iter().any(|seq| m_seq(seq, s, pos, k))
}

fn m_seq(seq: &[Piece], s: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(pos),
        Some((piece, rest)) => m_piece(piece, s, pos, 0, &mut |np| m_seq(rest, s, np, k)),
    }
}

fn m_piece(
    p: &Piece,
    s: &[char],
    pos: usize,
    count: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Runs of one-character atoms are matched iteratively (no deep recursion
    // for e.g. `[0-9a-zA-Z!=]{0,4096}`).
    if count == 0 && single(&p.atom, s, pos).is_some() {
        let mut n = 0;
        while n < p.max && single(&p.atom, s, pos + n) == Some(true) {
            n += 1;
        }
        if n < p.min {
            return false;
        }
        return (p.min..=n).rev().any(|i| k(pos + i));
    }
    match &p.atom {
        Atom::Start => pos == 0 && k(pos),
        Atom::End => at_end(s, pos) && k(pos),
        Atom::Group(alt) => {
            if count < p.max
                && m_alt(alt, s, pos, &mut |np| {
                    np != pos && m_piece(p, s, np, count + 1, k)
                })
            {
                return true;
            }
            count >= p.min && k(pos)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().full_match(t)
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
        let keys = "[0-9a-zA-Z!=]{0,4096}";
        assert!(m(keys, ""));
        assert!(m(keys, "x!y="));
        assert!(!m(keys, "x y"));
        assert!(!m(keys, &"a".repeat(4097)));
        assert!(m(keys, &"a".repeat(4096)));
        let uid = r"(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)";
        assert!(m(uid, "joe@pve"));
        assert!(m(uid, "joe@pve!ci"));
        assert!(m(uid, "a@b@pve"));
        assert!(!m(uid, "joe"));
        assert!(!m(uid, "joe@pve!"));
        assert!(!m(uid, "jo e@pve"));
        let sync = "(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry))|none";
        assert!(m(sync, "acl;entry"));
        assert!(m(sync, "none"));
        assert!(!m(sync, "acl;"));
        assert!(m(r#"^[^\x00-\x1F\x7F <>#"]*$"#, "abc"));
        assert!(!m(r#"^[^\x00-\x1F\x7F <>#"]*$"#, "a c"));
        assert!(m(r"\w+=[^,]+(,\s*\w+=[^,]+)*", "a=b, c=d"));
        assert!(m(r"\S{2,}", "ab"));
        assert!(!m(r"\S{2,}", "a"));
    }
}
