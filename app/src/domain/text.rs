//! What a person or a host may type into a name, a label or a description: printable text.
//! A control character (NUL above all, which PostgreSQL refuses in a text column) is a
//! refusal of the field, never a database error.

/// `input` trimmed, when it is 1 to `max_chars` characters with no control character.
#[must_use]
pub fn one_line(input: &str, max_chars: usize) -> Option<&str> {
    let text = input.trim();
    let fits = !text.is_empty() && text.chars().count() <= max_chars;
    (fits && !text.contains(char::is_control)).then_some(text)
}

/// Whether a longer, optional text (a description, a metadata value) can be stored as it is:
/// at most `max_chars` characters, and no NUL (line breaks and tabs are kept).
#[must_use]
pub fn storable(input: &str, max_chars: usize) -> bool {
    input.chars().count() <= max_chars && !input.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_trimmed_and_refused_empty_too_long_or_with_a_control_character() {
        assert_eq!(one_line("  Formation  ", 20), Some("Formation"));
        assert_eq!(one_line("Élève café", 10), Some("Élève café"));
        assert_eq!(one_line("   ", 20), None);
        assert_eq!(one_line("abcdef", 5), None);
        assert_eq!(one_line("a\0b", 20), None);
        assert_eq!(one_line("a\nb", 20), None);
        assert_eq!(one_line("a\u{7f}b", 20), None);
    }

    #[test]
    fn a_stored_text_keeps_its_line_breaks_but_not_a_nul() {
        assert!(storable("ligne 1\nligne 2\tfin", 40));
        assert!(storable("", 40));
        assert!(!storable("a\0", 40));
        assert!(!storable("abc", 2));
    }
}
