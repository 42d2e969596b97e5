//! Text from tools and from the database, made safe to show an operator.
//!
//! A tool controls its error text, its output, what it prints, and every
//! name, rationale and message it logs; so does any program that writes to
//! the database. Printed raw, that text can move the cursor, retitle the
//! window, hide lines or reverse how a line reads (escape sequences, bidi
//! overrides). Everything vibe-store shows a person passes through here:
//! C0 and C1 controls, DEL and bidi controls are shown as escapes
//! (`\x1b`, `\u{202e}`) and nothing else changes.
//!
//! Not for machine output: `--json` stays exact JSON ([`json_for_terminal`]
//! only re-escapes such characters inside JSON strings, where `\u202e` and
//! the raw character mean the same).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal raw. Tab and newline are left to
/// the caller, which decides how its layout shows them.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // Bidi embeddings, overrides and isolates, and the marks.
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

fn escape(c: char, out: &mut String) {
    let code = u32::from(c);
    if code < 0x80 {
        let _ = write!(out, "\\x{code:02x}");
    } else {
        let _ = write!(out, "\\u{{{code:x}}}");
    }
}

/// `text` with every control, DEL and bidi character shown as an escape,
/// except tab and newline. Borrowed when there is nothing to escape.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape_where(text, is_unsafe)
}

/// `text` on one line: [`visible`], with tab, newline and carriage return
/// escaped too.
pub fn visible_line(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| is_unsafe(c) || matches!(c, '\t' | '\n'))
}

/// `text` with every run of whitespace (newlines included) made one space:
/// a message that must stay one line, whatever its source did.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` bytes of `text` (cut at a character boundary), on one
/// line as [`visible_line`] shows it; when cut, it ends with `...` and the
/// full length, so a log line or an error message bounds what it quotes
/// from its input, however long that was.
pub fn quote(text: &str, max: usize) -> String {
    if text.len() <= max {
        return visible_line(text).into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", visible_line(&text[..end]), text.len())
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text safe for a terminal and still the same JSON: inside strings,
/// DEL, C1 and bidi characters become `\uXXXX` escapes (the only unsafe
/// characters valid JSON can hold raw). Text that is not JSON is shown with
/// [`visible`].
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(json).is_err() {
        return visible(json);
    }
    // Valid JSON holds no raw C0 controls but whitespace between tokens (a
    // carriage return, which could steer the terminal, becomes a space);
    // any unsafe character left is inside a string, where a \u escape means
    // the same character.
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if c == '\r' {
            out.push(' ');
        } else if is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_and_keeps_the_rest() {
        assert_eq!(visible("plain ünïcödé 漢字"), "plain ünïcödé 漢字");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(
            visible("a\x1b]0;pwned\x07b\u{202e}c\u{9b}d\x7f"),
            "a\\x1b]0;pwned\\x07b\\u{202e}c\\u{9b}d\\x7f"
        );
        assert_eq!(visible("two\nlines\tok"), "two\nlines\tok");
        assert_eq!(
            visible_line("two\nlines\tok\r"),
            "two\\x0alines\\x09ok\\x0d"
        );
    }

    #[test]
    fn quotes_are_bounded_and_cut_between_characters() {
        assert_eq!(quote("short\n", 64), "short\\x0a");
        let long = format!("{}é{}", "a".repeat(9), "b".repeat(1 << 20));
        let quoted = quote(&long, 10);
        assert_eq!(quoted, format!("aaaaaaaaa... ({} bytes)", long.len()));
        assert!(quote(&"x".repeat(1 << 20), 300).len() < 330);
    }

    #[test]
    fn json_stays_the_same_json() {
        let raw = "{\"k\":\"a\u{202e}b\u{9b}c\u{7f}\"}";
        let safe = json_for_terminal(raw);
        assert_eq!(safe, "{\"k\":\"a\\u202eb\\u009bc\\u007f\"}");
        let before: serde_json::Value = serde_json::from_str(raw).unwrap();
        let after: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(before, after);
        assert_eq!(json_for_terminal("not json \x1b"), "not json \\x1b");
        // A carriage return between tokens (valid JSON whitespace) becomes
        // a space, not a \u escape, which would be no JSON outside a string.
        let spaced = "{\r\n\"k\":\r\"\u{7f}\"}";
        let safe = json_for_terminal(spaced);
        assert_eq!(safe, "{ \n\"k\": \"\\u007f\"}");
        let after: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(after, serde_json::json!({"k": "\u{7f}"}));
    }
}
