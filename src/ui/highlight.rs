//! A small Python highlighter: enough for the tutorials' programs, no parser.

use super::theme::Theme;
use ratatui::style::Style;
use ratatui::text::Span;

const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "None",
    "True", "False",
];
const BUILTINS: &[&str] = &[
    "print", "range", "len", "int", "str", "list", "dict", "set", "open", "sum", "min", "max",
    "super", "self", "__name__", "__main__",
];

/// Splits one line of Python into styled spans.
pub fn python_line(line: &str, theme: &Theme) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut after_def = false;
    let push = |out: &mut Vec<Span<'static>>, s: String, st: Style| {
        if !s.is_empty() {
            out.push(Span::styled(s, st));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            push(&mut out, chars[i..].iter().collect(), theme.py_comment());
            break;
        }
        if c == '"' || c == '\'' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            push(&mut out, chars[i..end].iter().collect(), theme.py_string());
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '.')
            {
                j += 1;
            }
            push(&mut out, chars[i..j].iter().collect(), theme.py_number());
            i = j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let style = if after_def {
                after_def = false;
                theme.py_def()
            } else if KEYWORDS.contains(&word.as_str()) {
                after_def = word == "def" || word == "class";
                theme.py_keyword()
            } else if BUILTINS.contains(&word.as_str()) {
                theme.py_builtin()
            } else {
                Style::new()
            };
            push(&mut out, word, style);
            i = j;
            continue;
        }
        let mut j = i;
        while j < chars.len() {
            let d = chars[j];
            if d == '#' || d == '"' || d == '\'' || d.is_alphanumeric() || d == '_' {
                break;
            }
            j += 1;
        }
        push(&mut out, chars[i..j].iter().collect(), Style::new());
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_numbers_get_their_own_styles() {
        let t = Theme { color: true };
        let spans = python_line("for i in range(5):  # loop 'x'", &t);
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "for i in range(5):  # loop 'x'");
        let style_of = |w: &str| spans.iter().find(|s| s.content == w).map(|s| s.style);
        assert_eq!(style_of("for"), Some(t.py_keyword()));
        assert_eq!(style_of("range"), Some(t.py_builtin()));
        assert_eq!(style_of("5"), Some(t.py_number()));
        assert_eq!(style_of("# loop 'x'"), Some(t.py_comment()));
        let def = python_line("def change_it(n):", &t);
        assert_eq!(def[2].content, "change_it");
        assert_eq!(def[2].style, t.py_def());
    }
}
