//! Perl's strings at the edges: PVE reads files and URL paths as bytes,
//! one character per byte, and prints a string one byte per character
//! unless it holds a character above U+00FF, in which case all of it goes
//! out as UTF-8 (with a "Wide character" warning). Names beyond ASCII take
//! these shapes in user.cfg, token.cfg, shadow.cfg and reason phrases.

/// What Perl reads from bytes it does not decode: each byte a character
/// (Latin-1). A name written as UTF-8 comes back garbled (`jö` as `jÃ¶`).
pub fn chars_of_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// What Perl prints for a string: Latin-1 when every character fits,
/// else UTF-8 throughout.
pub fn bytes_of_text(text: &str) -> Vec<u8> {
    if text.chars().all(|c| u32::from(c) <= 0xFF) {
        text.chars().map(|c| c as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}

/// Perl's `uri_unescape` (what PVE applies to paths, query strings, form
/// bodies and cookies): each `%XX` becomes its byte, anything else, a stray
/// `%` too, stays as it is.
pub fn uri_unescape(bytes: &[u8]) -> Vec<u8> {
    percent_encoding::percent_decode(bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_unless_wide() {
        assert_eq!(bytes_of_text("jöe"), b"j\xf6e");
        assert_eq!(bytes_of_text("jöe 中"), "jöe 中".as_bytes());
        assert_eq!(chars_of_bytes(b"j\xf6e"), "jöe");
        assert_eq!(chars_of_bytes("jö".as_bytes()), "jÃ¶");
    }

    #[test]
    fn uri_unescape_keeps_what_is_no_escape() {
        assert_eq!(uri_unescape(b"j%F6e%40pve+%"), b"j\xf6e@pve+%");
        assert_eq!(uri_unescape(b"%zz%4%C3%B6"), "%zz%4ö".as_bytes());
    }
}
