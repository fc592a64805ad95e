//! `chart.png`: demand and ready capacity (requests per second) in the upper panel with the
//! SLO-violation minutes marked in red along its bottom, replicas (present and ready) in the lower
//! panel, time in hours. Long runs are averaged into about one bucket per pixel (a bucket is red
//! when any of its minutes violated the SLO). Drawn with plotters' bitmap backend; if no font is
//! available the chart is drawn again without text rather than failing the run.

use std::path::Path;

use echoflow_operators::autoscale::fleet_model::MinuteRow;
use plotters::prelude::*;

use super::SimulateError;

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 900;

struct Bucket {
    hour: f64,
    demand: f64,
    capacity: f64,
    replicas: f64,
    ready: f64,
    violation: bool,
}

fn buckets(rows: &[MinuteRow]) -> (Vec<Bucket>, f64) {
    let per = rows.len().div_ceil(WIDTH as usize).max(1);
    let out = rows
        .chunks(per)
        .map(|c| {
            let n = c.len() as f64;
            Bucket {
                hour: c[0].minute as f64 / 60.0,
                demand: c.iter().map(|r| r.demand_rps).sum::<f64>() / n,
                capacity: c.iter().map(|r| r.ready_capacity_rps).sum::<f64>() / n,
                replicas: c.iter().map(|r| r.replicas).sum::<f64>() / n,
                ready: c.iter().map(|r| r.ready_replicas).sum::<f64>() / n,
                violation: c.iter().any(|r| r.violation),
            }
        })
        .collect();
    (out, per as f64 / 60.0)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw_inner(path: &Path, title: &str, rows: &[MinuteRow], text: bool) -> DrawResult {
    let (b, width_h) = buckets(rows);
    let hours = b.last().map_or(1.0, |l| l.hour + width_h).max(1e-6);
    let ymax = b
        .iter()
        .map(|x| x.demand.max(x.capacity))
        .fold(1.0, f64::max)
        * 1.05;
    let rmax = b.iter().map(|x| x.replicas).fold(1.0, f64::max) + 1.0;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(HEIGHT * 62 / 100);
    let mut top = ChartBuilder::on(&upper);
    top.margin(12).x_label_area_size(28).y_label_area_size(70);
    if text {
        top.caption(title, ("sans-serif", 22));
    }
    let mut top = top.build_cartesian_2d(0f64..hours, 0f64..ymax)?;
    if text {
        top.configure_mesh()
            .y_desc("requests / s")
            .x_desc("hours")
            .draw()?;
    }
    let band = ymax * 0.03;
    top.draw_series(
        b.iter()
            .filter(|x| x.violation)
            .map(|x| Rectangle::new([(x.hour, 0.0), (x.hour + width_h, band)], RED.filled())),
    )?
    .label("SLO violation")
    .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], RED.filled()));
    top.draw_series(LineSeries::new(b.iter().map(|x| (x.hour, x.demand)), &BLUE))?
        .label("demand")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    top.draw_series(LineSeries::new(
        b.iter().map(|x| (x.hour, x.capacity)),
        &GREEN.mix(0.9),
    ))?
    .label("ready capacity")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREEN));
    if text {
        top.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    let mut bottom = ChartBuilder::on(&lower);
    bottom
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70);
    let mut bottom = bottom.build_cartesian_2d(0f64..hours, 0f64..rmax)?;
    if text {
        bottom
            .configure_mesh()
            .y_desc("replicas")
            .x_desc("hours")
            .draw()?;
    }
    bottom
        .draw_series(LineSeries::new(
            b.iter().map(|x| (x.hour, x.replicas)),
            &BLACK,
        ))?
        .label("replicas (present)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    bottom
        .draw_series(LineSeries::new(
            b.iter().map(|x| (x.hour, x.ready)),
            &MAGENTA.mix(0.8),
        ))?
        .label("replicas (ready)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], MAGENTA));
    if text {
        bottom
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Draws the chart of `rows` into `path` (PNG).
pub fn draw(path: &Path, title: &str, rows: &[MinuteRow]) -> Result<(), SimulateError> {
    draw_inner(path, title, rows, true)
        .or_else(|_| draw_inner(path, title, rows, false))
        .map_err(|e| SimulateError::Chart {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}
