//! Wrapping styled lines to a width at word boundaries.
//!
//! `textwrap` wraps plain strings; the feedback pane's lines are styled
//! spans (time, contact, kind), so the same first-fit rule is applied here
//! to the characters with their styles: a row breaks after the last space
//! that fits (the space itself is dropped), and inside a word only when the
//! word alone is wider than the row.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Splits a line into rows of at most `width` cells. Every character but
/// the spaces a row breaks at is kept, so the row count is exact and the
/// newest line is never cut off.
pub fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let chars: Vec<(char, Style, usize)> = line
        .spans
        .iter()
        .flat_map(|span| {
            span.content
                .chars()
                .map(move |c| (c, span.style, UnicodeWidthChar::width(c).unwrap_or(0)))
        })
        .collect();
    let mut rows: Vec<&[(char, Style, usize)]> = Vec::new();
    let mut start = 0;
    let mut used = 0;
    // The last space of the current row: a row may end before it.
    let mut space: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let (c, _, w) = chars[i];
        if c == ' ' && used + w > width {
            // The space that overflows is the break itself.
            rows.push(&chars[start..i]);
            start = i + 1;
            used = 0;
            space = None;
            i += 1;
            continue;
        }
        if used + w > width && i > start {
            match space {
                Some(at) if at > start => {
                    rows.push(&chars[start..at]);
                    start = at + 1;
                }
                _ => {
                    rows.push(&chars[start..i]);
                    start = i;
                }
            }
            used = chars[start..i].iter().map(|&(_, _, w)| w).sum();
            space = None;
            continue;
        }
        if c == ' ' {
            space = Some(i);
        }
        used += w;
        i += 1;
    }
    rows.push(&chars[start..]);
    rows.into_iter().map(styled).collect()
}

/// A row of styled characters as spans, one per run of one style.
fn styled(row: &[(char, Style, usize)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for &(c, s, _) in row {
        if style.is_some_and(|current| current != s) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(s);
        text.push(c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style.unwrap_or_default()));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn rows(text: &str, width: usize) -> Vec<String> {
        wrap(Line::from(text.to_owned()), width)
            .into_iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn rows_break_between_words() {
        assert_eq!(
            rows("olad refused: no such universe 7", 16),
            ["olad refused: no", "such universe 7"]
        );
        assert_eq!(rows("short", 16), ["short"]);
        assert_eq!(rows("", 5), [""]);
    }

    #[test]
    fn a_word_longer_than_the_row_is_cut() {
        assert_eq!(rows("abcdefghij kl", 4), ["abcd", "efgh", "ij", "kl"]);
    }

    #[test]
    fn styles_survive_the_breaks() {
        let line = Line::from(vec![
            Span::styled("10:15:02 ", Style::default().fg(Color::Gray)),
            Span::styled("universe one", Style::default().fg(Color::Red)),
        ]);
        let out = wrap(line, 18);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].spans[0].content, "10:15:02 ");
        assert_eq!(out[0].spans[0].style.fg, Some(Color::Gray));
        assert_eq!(out[0].spans[1].content, "universe");
        assert_eq!(out[0].spans[1].style.fg, Some(Color::Red));
        assert_eq!(out[1].spans[0].content, "one");
        assert_eq!(out[1].spans[0].style.fg, Some(Color::Red));
    }

    #[test]
    fn every_row_fits_and_only_break_spaces_are_dropped() {
        let text = "RV does not forward its events (ERROR: remote-eval: No mode named x); the frame shows what buttons return";
        for width in 1..60 {
            let out = rows(text, width);
            for row in &out {
                assert!(row.chars().count() <= width, "{width}: {row:?}");
            }
            let kept: usize = out.iter().map(|r| r.chars().count()).sum();
            assert!(kept + out.len() > text.chars().count(), "{width}");
            assert_eq!(out.concat().replace(' ', ""), text.replace(' ', ""));
        }
    }
}
