//! `chart.png` of a demo run: five panels over the seconds of event time — offered and admitted
//! requests/s (the story's phases shaded), shed requests/s by reason, the AIMD scale, the
//! degradation level, and the replicas (running and ready). Drawn with plotters' bitmap backend;
//! without a usable font the chart is drawn again without text rather than failing the run.

use super::DemoError;
use super::recorder::{LEVELS, Recorder};
use crate::story::{Phase, Story};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1300;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

const REASON_COLOURS: [(&str, RGBColor); 7] = [
    ("rate_limited", RGBColor(230, 159, 0)),
    ("red_drop", RGBColor(213, 94, 0)),
    ("queue_full", RGBColor(204, 121, 167)),
    ("feature_disabled", RGBColor(0, 114, 178)),
    ("no_healthy_membrane", RGBColor(86, 180, 233)),
    ("offline", RGBColor(0, 0, 0)),
    ("late", RGBColor(120, 120, 120)),
];

fn phase_colour(p: Phase) -> RGBAColor {
    match p {
        Phase::Normal | Phase::Recovery => WHITE.mix(0.0),
        Phase::Surge => RGBColor(255, 200, 120).mix(0.35),
        Phase::Failure => RGBColor(255, 120, 120).mix(0.30),
        Phase::Squeeze => RGBColor(160, 140, 255).mix(0.30),
    }
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn panel<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    text: bool,
    (caption, n, ymax, ydesc): (&str, f64, f64, &str),
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut b = ChartBuilder::on(area);
    b.margin(8).x_label_area_size(22).y_label_area_size(70);
    if text {
        b.caption(caption, ("sans-serif", 18));
    }
    let mut c = b.build_cartesian_2d(0f64..n, 0f64..ymax)?;
    if text {
        c.configure_mesh()
            .y_desc(ydesc)
            .x_desc("seconds")
            .max_light_lines(2)
            .draw()?;
    }
    Ok(c)
}

fn draw_inner(path: &Path, r: &Recorder, story: &Story, text: bool) -> DrawResult {
    let n = r.seconds.len() as f64;
    let secs = || {
        r.seconds
            .iter()
            .enumerate()
            .map(|(i, s)| (i as f64 + 0.5, s))
    };
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((5, 1));
    // 1. Offered vs admitted, with the phases shaded.
    let ymax = r
        .seconds
        .iter()
        .map(|s| s.offered)
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let mut c = panel(
        &panels[0],
        text,
        ("offered and admitted", n, ymax, "requests / s"),
    )?;
    for (phase, _) in Phase::STARTS {
        let from = (story.starts_at(phase) - story.start_ms) as f64 / 1000.0;
        let to = Phase::STARTS
            .iter()
            .find(|(p, _)| *p > phase)
            .map_or(n, |(p, _)| {
                (story.starts_at(*p) - story.start_ms) as f64 / 1000.0
            });
        c.draw_series(std::iter::once(Rectangle::new(
            [(from, 0.0), (to, ymax)],
            phase_colour(phase).filled(),
        )))?;
        if text && phase != Phase::Normal {
            c.draw_series(std::iter::once(Text::new(
                phase.as_str(),
                (from + 0.3, ymax * 0.97),
                ("sans-serif", 14),
            )))?;
        }
    }
    c.draw_series(LineSeries::new(
        secs().map(|(x, s)| (x, s.offered as f64)),
        &BLUE,
    ))?
    .label("offered")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    c.draw_series(LineSeries::new(
        secs().map(|(x, s)| (x, s.admitted as f64)),
        GREEN.stroke_width(2),
    ))?
    .label("admitted")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREEN));
    if text {
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }

    // 2. Shed by reason.
    let smax = r
        .seconds
        .iter()
        .flat_map(|s| s.shed.values().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let mut c = panel(
        &panels[1],
        text,
        ("shed by reason", n, smax, "requests / s"),
    )?;
    for (reason, colour) in REASON_COLOURS {
        if r.seconds.iter().all(|s| !s.shed.contains_key(reason)) {
            continue;
        }
        c.draw_series(LineSeries::new(
            secs().map(|(x, s)| (x, s.shed.get(reason).copied().unwrap_or(0) as f64)),
            colour.stroke_width(2),
        ))?
        .label(reason)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
    }
    if text {
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }

    // 3. AIMD scale.
    let mut c = panel(&panels[2], text, ("AIMD scale", n, 1.05, "scale"))?;
    c.draw_series(LineSeries::new(
        secs().map(|(x, s)| (x, s.aimd_scale)),
        RGBColor(0, 114, 178).stroke_width(2),
    ))?;

    // 4. Degradation level.
    let mut c = panel(
        &panels[3],
        text,
        (
            "degradation level (0 normal, 1 partial, 2 minimal, 3 emergency, 4 offline)",
            n,
            (LEVELS.len() - 1) as f64 + 0.2,
            "level",
        ),
    )?;
    c.draw_series(LineSeries::new(
        secs().map(|(x, s)| (x, s.level as f64)),
        RGBColor(213, 94, 0).stroke_width(2),
    ))?;

    // 5. Replicas.
    let rmax = r.seconds.iter().map(|s| s.replicas).max().unwrap_or(1) as f64 + 1.0;
    let mut c = panel(&panels[4], text, ("replicas", n, rmax, "membranes"))?;
    c.draw_series(LineSeries::new(
        secs().map(|(x, s)| (x, f64::from(s.replicas))),
        BLACK.stroke_width(2),
    ))?
    .label("running")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    c.draw_series(LineSeries::new(
        secs().map(|(x, s)| (x, f64::from(s.ready))),
        &MAGENTA,
    ))?
    .label("ready")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], MAGENTA));
    if text {
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Draws the run into `path` (PNG).
pub fn draw(path: &Path, r: &Recorder, story: &Story) -> Result<(), DemoError> {
    draw_inner(path, r, story, true)
        .or_else(|_| draw_inner(path, r, story, false))
        .map_err(|e| DemoError::Chart {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}
