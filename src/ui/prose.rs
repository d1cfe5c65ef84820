//! Lesson prose on screen: paragraphs and bullets from a lesson file, wrapped by
//! display width (CJK takes two columns and breaks between characters), with
//! `inline code` styled.

use super::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::cell::RefCell;
use std::collections::HashMap;
use unicode_width::UnicodeWidthChar;

/// One block of a lesson text as its file writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Para(String),
    Bullet(String),
    /// The gap between two paragraphs.
    Gap,
}

/// Lesson texts are hard-wrapped in their files: a blank line ends a paragraph,
/// `- ` starts a bullet, and any other line goes on with the one before it.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut open = false;
    for raw in text.trim().lines() {
        let line = raw.trim();
        if line.is_empty() {
            if open {
                out.push(Block::Gap);
            }
            open = false;
            continue;
        }
        if let Some(rest) = line.strip_prefix("- ") {
            out.push(Block::Bullet(rest.trim().to_string()));
            open = true;
            continue;
        }
        match out.last_mut() {
            Some(Block::Para(s) | Block::Bullet(s)) if open => join_line(s, line),
            _ => out.push(Block::Para(line.to_string())),
        }
        open = true;
    }
    out
}

/// Joins a continued line: a space between words, nothing between CJK characters.
fn join_line(s: &mut String, line: &str) {
    let wide = |c: Option<char>| c.is_some_and(|c| c.width().unwrap_or(1) > 1);
    if !(wide(s.chars().last()) && wide(line.chars().next())) {
        s.push(' ');
    }
    s.push_str(line);
}

/// A piece that wrapping keeps whole: a word, a space, or one wide character,
/// with the CJK punctuation that may not be parted from it (as parts, each
/// inline code or not).
struct Piece {
    parts: Vec<(String, bool)>,
    space: bool,
}

impl Piece {
    fn new(text: String, code: bool, space: bool) -> Piece {
        Piece {
            parts: vec![(text, code)],
            space,
        }
    }

    fn first(&self) -> Option<char> {
        self.parts.first().and_then(|(t, _)| t.chars().next())
    }

    fn last(&self) -> Option<char> {
        self.parts.last().and_then(|(t, _)| t.chars().last())
    }

    fn width(&self) -> usize {
        self.parts.iter().map(|(t, _)| width(t)).sum()
    }
}

/// Punctuation that closes: a line may not start with it (CJK line breaking).
fn closing(c: char) -> bool {
    "，。、；：？！）」』】》〉”’…・％,.;:?!)]}".contains(c)
}

/// Punctuation that opens: a line may not end with it.
fn opening(c: char) -> bool {
    "（「『【《〈“‘([{".contains(c)
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut code = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Piece>, code: bool| {
        if !word.is_empty() {
            out.push(Piece::new(std::mem::take(word), code, false));
        }
    };
    for c in text.chars() {
        if c == '`' {
            flush(&mut word, &mut out, code);
            code = !code;
        } else if c == ' ' {
            flush(&mut word, &mut out, code);
            out.push(Piece::new(" ".into(), code, true));
        } else if c.width().unwrap_or(0) > 1 {
            flush(&mut word, &mut out, code);
            out.push(Piece::new(c.to_string(), code, false));
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out, code);
    glue(out)
}

/// Joins closing punctuation to the piece before it and opening punctuation to
/// the piece after it, so that no line starts with `，` or ends with `（`.
fn glue(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for p in pieces {
        let after_opening = out.last().and_then(Piece::last).is_some_and(opening);
        let joins = !p.space
            && out.last().is_some_and(|l| !l.space)
            && (after_opening || p.first().is_some_and(closing));
        match out.last_mut() {
            Some(last) if joins => last.parts.extend(p.parts),
            _ => out.push(p),
        }
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Wraps one paragraph into lines of at most `width` columns; later lines start
/// with `indent` spaces (a bullet's hanging indent).
fn wrap_one(
    text: &str,
    first: Span<'static>,
    indent: usize,
    cols: usize,
    code: Style,
) -> Vec<Line<'static>> {
    let cols = cols.max(indent + 4);
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = vec![first.clone()];
    let mut used = width(&first.content);
    let mut fresh = true;
    // A space is written only when a word follows it on the same line.
    let mut space: Option<Span<'static>> = None;
    for p in pieces(text) {
        if p.space {
            if !fresh && let Some((t, c)) = p.parts.into_iter().next() {
                space = Some(styled(t, c, code));
            }
            continue;
        }
        let w = p.width() + usize::from(space.is_some());
        if used + w > cols && !fresh {
            lines.push(Line::from(std::mem::take(&mut cur)));
            cur.push(Span::raw(" ".repeat(indent)));
            used = indent;
            space = None;
        }
        if let Some(sp) = space.take() {
            cur.push(sp);
            used += 1;
        }
        for (mut text, is_code) in p.parts {
            // A word longer than a whole line is cut where the line ends.
            while used + width(&text) > cols {
                let mut head = String::new();
                let mut hw = 0;
                for c in text.chars() {
                    let cw = c.width().unwrap_or(0);
                    if used + hw + cw > cols {
                        break;
                    }
                    head.push(c);
                    hw += cw;
                }
                // Even a cut word keeps its punctuation on the right side.
                while head.chars().count() > 1
                    && (head.chars().last().is_some_and(opening)
                        || text[head.len()..].chars().next().is_some_and(closing))
                {
                    head.pop();
                }
                if head.is_empty() && used > indent {
                    // Nothing more fits here: the rest goes on the next line.
                    lines.push(Line::from(std::mem::take(&mut cur)));
                    cur.push(Span::raw(" ".repeat(indent)));
                    used = indent;
                    continue;
                }
                if head.is_empty() {
                    break;
                }
                text = text[head.len()..].to_string();
                cur.push(styled(head, is_code, code));
                lines.push(Line::from(std::mem::take(&mut cur)));
                cur.push(Span::raw(" ".repeat(indent)));
                used = indent;
            }
            used += width(&text);
            cur.push(styled(text, is_code, code));
        }
        fresh = false;
    }
    lines.push(Line::from(cur));
    lines
}

fn styled(text: String, is_code: bool, code: Style) -> Span<'static> {
    if is_code {
        Span::styled(text, code)
    } else {
        Span::raw(text)
    }
}

/// How many wrapped texts the memo of [`render`] keeps: a screen shows a handful
/// (explanation, notes, errata, a tour step and its hint), a width or language
/// change makes a few more.
const MEMO_CAP: usize = 64;

thread_local! {
    /// Wrapped texts by (text, width, colour). Wrapping is a frame's largest cost
    /// when nothing else changed, and a text's lines depend on nothing else.
    static MEMO: RefCell<HashMap<(String, usize, bool), Vec<Line<'static>>>> =
        RefCell::new(HashMap::new());
}

/// A lesson text as screen lines `cols` wide.
pub fn render(text: &str, cols: usize, th: &Theme) -> Vec<Line<'static>> {
    let key = (text.to_string(), cols, th.color);
    if let Some(lines) = MEMO.with(|m| m.borrow().get(&key).cloned()) {
        return lines;
    }
    let lines = wrap_text(text, cols, th);
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_CAP {
            m.clear();
        }
        m.insert(key, lines.clone());
    });
    lines
}

fn wrap_text(text: &str, cols: usize, th: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for b in blocks(text) {
        match b {
            Block::Gap => out.push(Line::raw("")),
            Block::Para(s) => out.extend(wrap_one(&s, Span::raw(""), 0, cols, th.code())),
            Block::Bullet(s) => out.extend(wrap_one(
                &s,
                Span::styled("• ", th.key()),
                2,
                cols,
                th.code(),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn hard_wrapped_paragraphs_and_bullets_are_joined_then_wrapped_to_fit() {
        let text = "One two\nthree.\n\n- a bullet that\n  goes on\n- another\n\n中文的\n段落。";
        assert_eq!(
            blocks(text),
            vec![
                Block::Para("One two three.".into()),
                Block::Gap,
                Block::Bullet("a bullet that goes on".into()),
                Block::Bullet("another".into()),
                Block::Gap,
                Block::Para("中文的段落。".into()),
            ]
        );
        let th = Theme::plain();
        let lines = plain(&render(text, 12, &th));
        assert_eq!(
            lines,
            vec![
                "One two",
                "three.",
                "",
                "• a bullet",
                "  that goes",
                "  on",
                "• another",
                "",
                "中文的段落。",
            ]
        );
    }

    #[test]
    fn wide_characters_take_two_columns_and_break_anywhere() {
        let th = Theme::plain();
        let lines = plain(&render("一二三四五六七", 6, &th));
        assert_eq!(lines, vec!["一二三", "四五六", "七"]);
        for l in render("全局变量 `balance` 被两个线程同时修改", 10, &th) {
            assert!(l.width() <= 10, "{l:?} is wider than 10 columns");
        }
    }

    #[test]
    fn no_line_starts_with_closing_or_ends_with_opening_cjk_punctuation() {
        let th = Theme::plain();
        let text = "两个线程（t1 和 t2）同时修改「balance」，结果：丢失了一次更新。\
                    为什么？因为读、算、写是三步！《教程》里的表格【见下】说明了这一点；\
                    打开 `lock` 之后，就不会再这样了。";
        let starts = "，。、；：？！）」』】》";
        let ends = "（「『【《";
        // Even where a piece with its punctuation is wider than the line.
        for cols in 4..14 {
            for l in plain(&render(text, cols, &th)) {
                assert!(width(&l) <= cols, "{l:?} is wider than {cols}");
            }
        }
        // The widest piece that keeps its punctuation, 「balance」，, is 13 columns.
        for cols in 14..40 {
            let lines = plain(&render(text, cols, &th));
            for l in &lines {
                assert!(width(l) <= cols, "{l:?} is wider than {cols}");
                let first = l.chars().next().unwrap_or(' ');
                let last = l.chars().last().unwrap_or(' ');
                assert!(
                    !starts.contains(first),
                    "{cols} columns: {l:?} starts with {first}\n{lines:#?}"
                );
                assert!(
                    !ends.contains(last),
                    "{cols} columns: {l:?} ends with {last}\n{lines:#?}"
                );
            }
            // Nothing is lost or added but the breaks.
            assert_eq!(
                lines.concat().replace(' ', ""),
                text.replace(['`', ' '], "")
            );
        }
        // Punctuation after inline code keeps the code's style apart.
        let lines = render("打开 `lock`，再运行", 12, &th);
        let spans: Vec<&str> = lines
            .iter()
            .flat_map(|l| l.spans.iter().map(|s| s.content.as_ref()))
            .collect();
        assert!(spans.contains(&"lock"), "{spans:?}");
    }

    #[test]
    fn inline_code_is_styled_and_its_backticks_are_gone() {
        let th = Theme::plain();
        let lines = render("call `lock.acquire()` first", 80, &th);
        let spans = &lines[0].spans;
        let code: Vec<&str> = spans
            .iter()
            .filter(|s| s.style == th.code())
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(code, vec!["lock.acquire()"]);
        assert!(!plain(&lines)[0].contains('`'));
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut_not_lost() {
        let th = Theme::plain();
        let lines = plain(&render("sys.setswitchinterval(0.005)", 10, &th));
        assert_eq!(lines.concat(), "sys.setswitchinterval(0.005)");
        assert!(lines.iter().all(|l| width(l) <= 10));
    }
}
