//! `interleave run LESSON --explain`: the lesson's explanation, its notes and the
//! tutorials' errata, rewrapped to the terminal's width (or 80 columns) with their
//! paragraphs and lists kept.

use crate::i18n::Msg;
use crate::lesson::{Lang, Lesson};
use unicode_width::UnicodeWidthChar;

/// Columns to wrap to: the terminal's, or 80 when stdout is not a terminal.
pub fn width() -> usize {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal()
        && let Ok((w, _)) = crossterm::terminal::size()
        && w >= 20
    {
        return w as usize;
    }
    80
}

/// The explanation and the notes of a lesson, as printed.
pub fn explain_text(lesson: &Lesson, lang: Lang, width: usize) -> String {
    let (notes_heading, rule) = match lang {
        Lang::En => ("Notes", "="),
        Lang::Zh => ("说明", "="),
    };
    let title = format!("{} — {}", lesson.id, lesson.title.get(lang));
    let mut out = String::new();
    out.push_str(&title);
    out.push('\n');
    out.push_str(&rule.repeat(display_width(&title).min(width)));
    out.push_str("\n\n");
    out.push_str(&wrap_paragraphs(lesson.explanation.get(lang), width));
    let notes = lesson.notes.get(lang);
    if !notes.trim().is_empty() {
        out.push('\n');
        out.push_str(notes_heading);
        out.push('\n');
        out.push_str(&"-".repeat(display_width(notes_heading)));
        out.push_str("\n\n");
        out.push_str(&wrap_paragraphs(notes, width));
    }
    errata_into(&mut out, lesson, lang, width);
    out
}

/// "The tutorial says / CPython does", one item per erratum, after the notes.
fn errata_into(out: &mut String, lesson: &Lesson, lang: Lang, width: usize) {
    if lesson.errata.is_empty() {
        return;
    }
    let heading = Msg::ErrataHeading.get(lang);
    out.push('\n');
    out.push_str(heading);
    out.push('\n');
    out.push_str(&"-".repeat(display_width(heading).min(width)));
    out.push('\n');
    let width = width.max(20);
    for e in &lesson.errata {
        out.push('\n');
        let said = format!("{}{}", Msg::ErrataTutorial.get(lang), e.tutorial.get(lang));
        wrap_into(out, &said, "- ", "  ", width);
        let does = format!("{}{}", Msg::ErrataCpython.get(lang), e.cpython.get(lang));
        wrap_into(out, &does, "  ", "  ", width);
    }
}

fn display_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// One block of the text: a paragraph, a list item (with the indent of its
/// continuation lines) or a line kept as it is (code).
enum Block {
    Para(String),
    Item { bullet: String, text: String },
    Verbatim(String),
}

/// Joins two lines of one paragraph: a space between words, nothing between two
/// Chinese characters (Chinese is written without spaces; the lessons put one
/// between Chinese and Latin text).
fn join(into: &mut String, piece: &str) {
    let wide = |c: Option<char>| c.is_some_and(|c| c.width().unwrap_or(0) > 1);
    let last = into.chars().last();
    let after_cjk_mark = last.is_some_and(|c| closing(c) || "：".contains(c));
    if !into.is_empty() && !(wide(last) && (wide(piece.chars().next()) || after_cjk_mark)) {
        into.push(' ');
    }
    into.push_str(piece);
}

fn blocks(text: &str) -> Vec<Option<Block>> {
    // `None` stands for a blank line between paragraphs.
    let mut out: Vec<Option<Block>> = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fence = !fence;
            out.push(Some(Block::Verbatim(line.to_string())));
            continue;
        }
        if fence || line.starts_with("    ") || line.starts_with('\t') {
            out.push(Some(Block::Verbatim(line.to_string())));
            continue;
        }
        if trimmed.is_empty() {
            out.push(None);
            continue;
        }
        let indent = line.len() - trimmed.len();
        let bullet = ["- ", "* ", "• "]
            .into_iter()
            .find(|b| trimmed.starts_with(b))
            .map(|b| format!("{}{b}", &line[..indent]));
        if let Some(bullet) = bullet {
            let text = trimmed[bullet.trim_start().len()..].trim().to_string();
            out.push(Some(Block::Item { bullet, text }));
            continue;
        }
        match out.last_mut() {
            Some(Some(Block::Item { text, .. })) if indent > 0 => join(text, trimmed.trim_end()),
            Some(Some(Block::Para(text))) => join(text, trimmed.trim_end()),
            _ => out.push(Some(Block::Para(trimmed.trim_end().to_string()))),
        }
    }
    out
}

/// Rewraps `text` to `width` columns, keeping blank lines, list items (their
/// continuation lines hang under the text) and indented or fenced code.
pub fn wrap_paragraphs(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out = String::new();
    for b in blocks(text) {
        match b {
            None => out.push('\n'),
            Some(Block::Verbatim(l)) => {
                out.push_str(&l);
                out.push('\n');
            }
            Some(Block::Para(t)) => wrap_into(&mut out, &t, "", "", width),
            Some(Block::Item { bullet, text }) => {
                let hang = " ".repeat(display_width(&bullet));
                wrap_into(&mut out, &text, &bullet, &hang, width);
            }
        }
    }
    out
}

/// Breakable pieces: a word with its following spaces, or one wide character.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let end = i + c.len_utf8();
        let next = it.peek().map(|&(_, n)| n);
        let wide = |c: char| c.width().unwrap_or(0) > 1;
        let breaks = match next {
            None => true,
            // Closing punctuation never starts a line, and opening never ends one.
            Some(n) if closing(n) || opening(c) => false,
            Some(n) => (c == ' ' && n != ' ') || wide(c) || wide(n),
        };
        if breaks {
            out.push(&text[start..end]);
            start = end;
        }
    }
    out
}

fn closing(c: char) -> bool {
    "，。、；：！？）」』】》〉”’…".contains(c)
}

fn opening(c: char) -> bool {
    "（「『【《〈“‘".contains(c)
}

fn wrap_into(out: &mut String, text: &str, first: &str, hang: &str, width: usize) {
    let mut line = first.to_string();
    let mut col = display_width(first);
    let lead = col;
    for p in pieces(text) {
        let w = display_width(p.trim_end());
        if col + w > width && col > lead {
            out.push_str(line.trim_end());
            out.push('\n');
            line = hang.to_string();
            col = display_width(hang);
        }
        line.push_str(p);
        col += display_width(p);
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(s: &str) -> usize {
        s.lines().map(display_width).max().unwrap_or(0)
    }

    #[test]
    fn paragraphs_and_list_items_are_kept_and_rewrapped() {
        let text = "One two three four five six seven eight nine ten eleven twelve.\n\
                    Thirteen fourteen.\n\n- an item that is long enough to wrap at thirty\n  \
                    columns, continued\n- second\n\n    code = kept(as, is)   # long line\n";
        let w = wrap_paragraphs(text, 30);
        assert!(
            widest(&w.replace("    code = kept(as, is)   # long line", "")) <= 30,
            "{w}"
        );
        let paras: Vec<&str> = w.split("\n\n").collect();
        assert_eq!(paras.len(), 3, "{w}");
        assert!(paras[0].contains("twelve. Thirteen"), "{w}");
        assert!(paras[1].starts_with("- an item"), "{w}");
        // Continuation lines hang under the item's text.
        assert!(paras[1].lines().nth(1).unwrap().starts_with("  "), "{w}");
        assert!(paras[1].contains("\n- second"), "{w}");
        assert!(w.contains("    code = kept(as, is)   # long line\n"), "{w}");
    }

    #[test]
    fn the_errata_follow_the_notes_in_both_languages() {
        let cat = crate::catalog::Catalog::embedded().expect("lessons");
        let l = cat.find("balance-race").expect("balance-race");
        let en = explain_text(l, Lang::En, 80);
        let notes = en.find("\nNotes\n").expect("notes");
        let errata = en
            .find("\nThe tutorial says / CPython does\n")
            .expect("the errata heading");
        assert!(notes < errata, "{en}");
        let joined = en[errata..].replace("\n  ", " ");
        assert!(
            joined.contains(
                "- the tutorial says: Python's GIL switches threads every 100 bytecodes."
            ),
            "{en}"
        );
        assert!(joined.contains("CPython does: That was Python 2's"), "{en}");
        assert!(joined.contains("0.005 s on 3.6 to 3.13"), "{en}");
        assert_eq!(en.matches("- the tutorial says: ").count(), l.errata.len());
        assert!(widest(&en) <= 80, "{en}");

        let zh = explain_text(l, Lang::Zh, 80);
        let errata = zh
            .find("\n教程里说 / CPython 实际上\n")
            .expect("zh heading");
        assert!(zh.find("\n说明\n").expect("zh notes") < errata, "{zh}");
        let joined = zh[errata..].replace("\n  ", "");
        assert!(
            joined.contains("- 教程说：Python 的 GIL 每执行 100 条字节码"),
            "{zh}"
        );
        assert!(joined.contains("CPython 实际：那是 Python 2 的"), "{zh}");
        assert!(widest(&zh) <= 80, "{zh}");
        assert!(
            !zh.lines().any(|l| l.trim_start().starts_with(['，', '。'])),
            "{zh}"
        );
    }

    #[test]
    fn chinese_is_joined_without_spaces_and_wrapped_by_display_width() {
        let text = "这是一个很长的中文段落，用来检查按显示宽度换行是否正确，\n每个汉字占两列。";
        let w = wrap_paragraphs(text, 20);
        assert!(widest(&w) <= 20, "{w}");
        assert!(!w.contains(' '), "{w:?}");
        assert_eq!(w.replace('\n', ""), text.replace('\n', ""));
    }
}
