//! Bounds for text a module shows a person. Messages name what is wrong,
//! and what is wrong can be large: a thousand unknown users, a megabyte
//! pasted into `userid`. Lists are cut with "and N more", values in the
//! middle, and a whole message or warning at [`MAX_MESSAGE`] characters as a
//! last resort, so that a task's output stays readable in a terminal, in
//! AWX and in a log.
//!
//! ```
//! use ansible_module::text;
//! let users: Vec<String> = (0..1000).map(|i| format!("user{i}")).collect();
//! assert_eq!(text::list(&users, 3), "user0, user1, user2 and 997 more");
//! assert_eq!(text::value(&"x".repeat(10)), "xxxxxxxxxx");
//! assert!(text::value(&"x".repeat(1 << 20)).ends_with("(1048576 characters)"));
//! ```

/// How many items of a list a message names.
pub const MAX_ITEMS: usize = 10;
/// How many characters of one value a message shows.
pub const MAX_VALUE: usize = 100;
/// The most characters of a whole `msg` or warning.
pub const MAX_MESSAGE: usize = 4000;

/// `a, b, c` for at most `max` items, then `and N more`.
pub fn list<T: AsRef<str>>(items: &[T], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut text = shown.join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

/// `value` itself when short, else its start and end around the number of
/// characters it has: `aaaa…zzzz (1048576 characters)`.
pub fn value(value: &str) -> String {
    cut(value, MAX_VALUE)
}

/// `text` cut to about `max` characters, keeping both ends.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let half = max / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(count - half).collect();
    format!("{head}…{tail} ({count} characters)")
}
