//! Charts for the dashboards, drawn by plotters as SVG text and shown inline: horizontal bars (long names and
//! Chinese labels fit on a phone), a funnel, and a line over days. Every chart scales to its container.

use plotters::prelude::*;

/// Series colours: the app's accent, then a green for "won", then greys.
pub const ACCENT: RGBColor = RGBColor(37, 99, 235);
pub const GOOD: RGBColor = RGBColor(22, 163, 74);
const GRID: RGBColor = RGBColor(229, 231, 235);
const INK: RGBColor = RGBColor(55, 65, 81);

fn window_width() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(1024.0)
}

/// The width to draw a half-width chart at, so that its text is drawn at the size it is shown: the window's on
/// a phone, half the content column on a wide screen (two charts side by side), else the column.
pub fn width() -> u32 {
    let w = window_width();
    if w < 700.0 {
        (w as u32).saturating_sub(40).max(280)
    } else if w >= 1100.0 {
        440
    } else {
        620
    }
}

/// The width of a chart that spans the content column.
pub fn wide_width() -> u32 {
    let w = window_width();
    if w < 700.0 {
        (w as u32).saturating_sub(40).max(280)
    } else {
        ((w as u32).saturating_sub(330)).clamp(620, 920)
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// Makes plotters' fixed-size SVG scale to its container.
fn fluid(svg: String, w: u32, h: u32) -> String {
    svg.replacen(
        &format!("width=\"{w}\" height=\"{h}\""),
        &format!("width=\"100%\" viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"xMinYMin meet\""),
        1,
    )
}

/// Horizontal bars, one group per label, one bar per series (`(name, colour, values)`), each with its value
/// written at its end (`fmt`), and a legend when there are several series.
pub fn bars(
    labels: &[String],
    series: &[(String, RGBColor, Vec<f64>)],
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let w = width();
    let bar_h = 12i32;
    let per = bar_h * series.len().max(1) as i32 + 10;
    let legend = if series.len() > 1 { 22 } else { 0 };
    let h = (legend + 6 + per * labels.len().max(1) as i32) as u32;
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let label_w = if w < 400 { 96 } else { 160 };
    let name_len = if w < 400 { 8 } else { 14 };
    let span = (w as i32 - label_w - 60).max(40) as f64;
    let font = || ("sans-serif", 12).into_font().color(&INK);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let mut x = label_w;
        if series.len() > 1 {
            for (name, colour, _) in series {
                let _ = root.draw(&Rectangle::new([(x, 5), (x + 10, 15)], colour.filled()));
                let _ = root.draw(&Text::new(name.clone(), (x + 14, 4), font()));
                x += 24 + 8 * name.chars().count() as i32;
            }
        }
        for (i, label) in labels.iter().enumerate() {
            let top = legend + 4 + i as i32 * per;
            let _ = root.draw(&Text::new(
                cut(label, name_len),
                (4, top + per / 2 - 9),
                font(),
            ));
            for (si, (_, colour, values)) in series.iter().enumerate() {
                let v = values.get(i).copied().unwrap_or(0.0);
                let y = top + si as i32 * bar_h;
                let len = ((v / max) * span) as i32;
                let _ = root.draw(&Rectangle::new(
                    [(label_w, y), (label_w + len.max(1), y + bar_h - 2)],
                    colour.filled(),
                ));
                let _ = root.draw(&Text::new(fmt(v), (label_w + len + 4, y - 1), font()));
            }
            let _ = root.draw(&PathElement::new(
                vec![(label_w, top + per - 4), (w as i32 - 4, top + per - 4)],
                GRID,
            ));
        }
        let _ = root.present();
    }
    fluid(svg, w, h)
}

/// A funnel: one centred bar per stage, its width the stage's count, with the count and share written on it.
pub fn funnel(stages: &[(String, u64)]) -> String {
    let w = width();
    let row = 30u32;
    let h = row * stages.len().max(1) as u32 + 10;
    let max = stages.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let first = stages.first().map(|s| s.1).unwrap_or(0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let label_w = if w < 400 { 110 } else { 170 } as i32;
        let span = (w as i32 - label_w - 16).max(40) as f64;
        for (i, (name, n)) in stages.iter().enumerate() {
            let y = 5 + i as i32 * row as i32;
            let bar = ((*n as f64 / max) * span).max(2.0) as i32;
            let x0 = label_w + ((span as i32 - bar) / 2);
            let shade = RGBColor(
                (37 + i * 20).min(200) as u8,
                (99 + i * 15).min(200) as u8,
                235,
            );
            let _ = root.draw(&Rectangle::new(
                [(x0, y), (x0 + bar, y + row as i32 - 6)],
                shade.filled(),
            ));
            let _ = root.draw(&Text::new(
                cut(name, 14),
                (4, y + 7),
                ("sans-serif", 12).into_font().color(&INK),
            ));
            let share = if first > 0 {
                format!("{n} · {:.0}%", *n as f64 * 100.0 / first as f64)
            } else {
                n.to_string()
            };
            let _ = root.draw(&Text::new(
                share,
                (label_w + span as i32 / 2 - 30, y + 7),
                ("sans-serif", 12).into_font().color(&BLACK),
            ));
        }
        let _ = root.present();
    }
    fluid(svg, w, h)
}

/// A line over labelled points (days), with dots.
pub fn line(labels: &[String], values: &[f64]) -> String {
    let w = wide_width();
    let h = 200u32;
    let n = values.len().max(1);
    let max = values.iter().copied().fold(0.0f64, f64::max).max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(0..n.saturating_sub(1).max(1), 0.0..max * 1.1)
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(if w < 400 { 4 } else { 8 })
            .x_label_formatter(&|i| {
                labels
                    .get(*i)
                    .map(|l| l.get(5..).unwrap_or(l).to_string())
                    .unwrap_or_default()
            })
            .y_labels(5)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 11).into_font().color(&INK))
            .draw();
        let _ = chart.draw_series(LineSeries::new(
            values.iter().enumerate().map(|(i, v)| (i, *v)),
            ACCENT.stroke_width(2),
        ));
        let _ = chart.draw_series(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Circle::new((i, *v), 3, ACCENT.filled())),
        );
        let _ = root.present();
    }
    fluid(svg, w, h)
}
