//! The Pixels tab: image path, tiling, depth, media name and Send; the
//! preview in half-block cells (`▀`: foreground the upper pixel, background
//! the lower one); image facts, completion candidates, the push gauge and the
//! last outcome beside it.

use super::field::field;
use super::theme;
use crate::app::App;
use crate::app::layout::Areas;
use crate::app::pixels::{self, LoadedImage, PixelsField, RunningPush, TileMode};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

pub fn draw(app: &App, frame: &mut Frame, areas: &Areas) {
    let tab = &app.pixels;
    let block = Block::bordered()
        .border_style(theme::BORDER)
        .title(Span::styled(" Pixels ", theme::TITLE));
    frame.render_widget(block, areas.body);
    let a = pixels::areas(areas.body);
    let focused = |f: PixelsField| tab.focus == Some(f);
    field(
        frame,
        a.path,
        "Image ",
        &tab.path,
        focused(PixelsField::Path),
    );
    let (first, second) = match tab.mode {
        TileMode::Grid => ("X tiles ", "Y tiles "),
        TileMode::Size => ("Tile W ", "Tile H "),
    };
    field(
        frame,
        a.first,
        first,
        &tab.first,
        focused(PixelsField::First),
    );
    field(
        frame,
        a.second,
        second,
        &tab.second,
        focused(PixelsField::Second),
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Depth ", theme::DIM),
            Span::styled(pixels::depth_label(tab.depth), theme::KEY),
        ])),
        a.depth,
    );
    field(
        frame,
        a.media,
        "Media ",
        &tab.media,
        focused(PixelsField::Media),
    );
    let send_style = if tab.push.is_some() {
        theme::DIM
    } else {
        theme::KEY
    };
    frame.render_widget(Paragraph::new(Span::styled("[ Send ]", send_style)), a.send);

    match &tab.image {
        Some(image) => preview(frame, a.preview, image),
        None => frame.render_widget(
            Paragraph::new(Span::styled("no preview", theme::DIM)),
            a.preview,
        ),
    }
    info(app, frame, a.info);
}

/// The image, fitted to `rect` with its aspect kept (a cell is one pixel
/// wide and two tall), sampled nearest from the thumbnail, centred.
fn preview(frame: &mut Frame, rect: Rect, image: &LoadedImage) {
    let (iw, ih) = (image.info.width.max(1), image.info.height.max(1));
    let thumb = &image.info.thumbnail;
    let (cols, px_rows) = (u32::from(rect.width), u32::from(rect.height) * 2);
    if cols == 0 || px_rows == 0 || thumb.width == 0 || thumb.height == 0 {
        return;
    }
    // Largest w x h with w/h = iw/ih inside cols x px_rows.
    let (w, h) = if u64::from(iw) * u64::from(px_rows) > u64::from(ih) * u64::from(cols) {
        (
            cols,
            (u64::from(cols) * u64::from(ih) / u64::from(iw)).max(1) as u32,
        )
    } else {
        (
            (u64::from(px_rows) * u64::from(iw) / u64::from(ih)).max(1) as u32,
            px_rows,
        )
    };
    let x0 = rect.x + u16::try_from((cols - w) / 2).unwrap_or(0);
    let y0 = rect.y + u16::try_from((px_rows - h) / 4).unwrap_or(0);
    let sample = |x: u32, y: u32| {
        let p = thumb.pixel(
            x * thumb.width / w,
            (y * thumb.height / h).min(thumb.height - 1),
        );
        Color::Rgb(p[0], p[1], p[2])
    };
    let buf = frame.buffer_mut();
    for row in 0..h.div_ceil(2) {
        for x in 0..w {
            let (Ok(cx), Ok(cy)) = (u16::try_from(x), u16::try_from(row)) else {
                continue;
            };
            let upper = sample(x, row * 2);
            let style = if row * 2 + 1 < h {
                Style::new().fg(upper).bg(sample(x, row * 2 + 1))
            } else {
                Style::new().fg(upper)
            };
            if let Some(cell) = buf.cell_mut((x0 + cx, y0 + cy)) {
                cell.set_symbol("▀").set_style(style);
            }
        }
    }
}

fn info(app: &App, frame: &mut Frame, rect: Rect) {
    let tab = &app.pixels;
    let mut lines = Vec::new();
    match (&tab.loading, &tab.image) {
        (Some((_, source)), _) => lines.push(Line::from(Span::styled(
            format!("loading {}…", source.label()),
            theme::WARN,
        ))),
        (None, Some(image)) => {
            lines.push(Line::from(Span::styled(image.source.label(), theme::TITLE)));
            lines.push(Line::from(vec![
                Span::raw(format!("{}x{}", image.info.width, image.info.height)),
                Span::styled(format!(" · {}", image.info.format), theme::DIM),
            ]));
        }
        (None, None) => {
            lines.push(Line::from(Span::styled("no image loaded", theme::DIM)));
            for (key, what) in [("o", "type a path"), ("Tab", "complete"), ("Enter", "load")] {
                lines.push(Line::from(vec![
                    Span::styled(format!("{key:<6}"), theme::KEY),
                    Span::styled(what, theme::DIM),
                ]));
            }
        }
    }
    // While a push runs its own lines say what it sends.
    if let Some(image) = tab.image.as_ref().filter(|_| tab.push.is_none()) {
        let plan = match tab.tiling() {
            Ok(tiling) => match tiling.count(image.info.width, image.info.height) {
                Ok(n) => {
                    let bytes = 2
                        * u64::from(image.info.width)
                        * u64::from(image.info.height)
                        * 4
                        * tab.depth.bytes() as u64;
                    Span::styled(
                        format!(
                            "{n} tile{} · {:.1} MB both eyes",
                            if n == 1 { "" } else { "s" },
                            bytes as f64 / 1e6
                        ),
                        theme::DIM,
                    )
                }
                Err(err) => Span::styled(err.to_string(), theme::ERROR),
            },
            Err(err) => Span::styled(err, theme::ERROR),
        };
        // A refused Send already says why below; don't say it twice.
        let said = matches!(&tab.status, Some((false, _))) && plan.style == theme::ERROR;
        if !said {
            lines.push(Line::from(plan));
        }
    }
    let head = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [top, rest] = Layout::vertical([Constraint::Length(head), Constraint::Min(0)]).areas(rect);
    frame.render_widget(Paragraph::new(lines), top);

    if let Some(push) = &tab.push {
        gauge(frame, rest, push);
        return;
    }
    let mut lines = Vec::new();
    if !tab.candidates().is_empty() {
        let room = usize::from(rest.height).max(1);
        let shown = if tab.candidates().len() > room {
            room - 1
        } else {
            room
        };
        // Keep the selected candidate in view while cycling.
        let start = tab
            .cycled()
            .map_or(0, |i| i.saturating_sub(shown.saturating_sub(1)));
        for (i, c) in tab.candidates().iter().enumerate().skip(start).take(shown) {
            let name = short_name(c);
            let style = if tab.cycled() == Some(i) {
                theme::HIT
            } else {
                Style::default()
            };
            lines.push(Line::from(Span::styled(name, style)));
        }
        let left = tab.candidates().len().saturating_sub(start + shown);
        if left > 0 {
            lines.push(Line::from(Span::styled(
                format!("… {left} more (Tab cycles)"),
                theme::DIM,
            )));
        }
    } else if let Some((ok, text)) = &tab.status {
        let style = if *ok { theme::OK } else { theme::ERROR };
        lines.push(Line::from(Span::styled(text.clone(), style)));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rest);
}

fn gauge(frame: &mut Frame, rect: Rect, push: &RunningPush) {
    let [bar, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rect);
    let (ratio, label) = match &push.progress {
        Some(p) => {
            let ratio = if p.bytes_total > 0 {
                p.bytes_done as f64 / p.bytes_total as f64
            } else {
                0.0
            };
            (
                ratio.clamp(0.0, 1.0),
                format!("{}/{} tiles", p.tiles_done, p.tiles_total),
            )
        }
        None => (0.0, "converting, creating the source…".to_owned()),
    };
    frame.render_widget(
        Gauge::default()
            .gauge_style(Style::new().fg(Color::Cyan).bg(Color::Rgb(40, 40, 40)))
            .ratio(ratio)
            .label(label),
        bar,
    );
    let mut spans = Vec::new();
    if let Some(p) = &push.progress {
        let eta = p.eta().map_or("ETA --".to_owned(), |d| {
            format!("ETA {:.1} s", d.as_secs_f64())
        });
        spans.push(Span::raw(format!("{:.1} MB/s · {eta}", p.mb_per_s())));
    }
    let lines = vec![
        Line::from(spans),
        if push.cancelling {
            Line::from(Span::styled("cancelling…", theme::WARN))
        } else {
            Line::from(vec![
                Span::styled("Esc", theme::KEY),
                Span::styled(" cancels", theme::DIM),
            ])
        },
        Line::from(Span::styled(push.what.clone(), theme::DIM)),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text);
}

/// The last component of a candidate, `/` kept on directories.
fn short_name(candidate: &str) -> String {
    let trimmed = candidate.trim_end_matches('/');
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if candidate.ends_with('/') && !trimmed.is_empty() {
        format!("{name}/")
    } else if name.is_empty() {
        candidate.to_owned()
    } else {
        name.to_owned()
    }
}
