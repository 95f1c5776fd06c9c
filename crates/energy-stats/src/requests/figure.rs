//! The figure `requests_energy`: mean energy per request by endpoint, one bar per interpreter,
//! with its 95 % interval across runs; in the reports (`plot`, `report --format html`) when
//! the results folders have request logs.

use std::path::PathBuf;

use anyhow::Result;
use plotters::prelude::*;
use procs::Interrupt;

use super::summary::{summarise, RequestsReport};
use super::{attribute_dirs, Options};
use crate::input::Dataset;
use crate::plot::{at_index, color, err, legend, padded, svg, title};

/// The results folders of `data` that hold request logs: the folders of the runs' traces
/// (a trace sits in its group folder) with a `requests/` folder and a `runs.jsonl`.
fn request_folders(data: &Dataset) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for g in &data.groups {
        for r in &g.runs {
            let Some(dir) = r.trace.as_deref().and_then(|t| t.parent()) else {
                continue;
            };
            let gd = records::GroupDir::new(dir);
            if gd.requests_dir().is_dir()
                && gd.runs_jsonl().is_file()
                && !dirs.iter().any(|d| d == dir)
            {
                dirs.push(dir.to_path_buf());
            }
        }
    }
    dirs
}

/// The figure of `data`'s request logs, when it has any (through the default trace store).
pub fn for_dataset(data: &Dataset) -> Result<Option<(String, String)>> {
    let dirs = request_folders(data);
    if dirs.is_empty() {
        return Ok(None);
    }
    let opts = Options {
        threads: 0,
        cache: crate::cache::default_dir().map(crate::cache::Cache::new),
    };
    let mut skipped = 0;
    let runs = attribute_dirs(&dirs, &opts, &Interrupt::new(), &mut skipped)?;
    if runs.is_empty() {
        return Ok(None);
    }
    let rep = summarise(&runs);
    Ok(Some(("requests_energy".to_string(), figure(&rep)?)))
}

/// Grouped bars: endpoints along x, one bar per interpreter, mJ per request, 95 % intervals.
pub fn figure(rep: &RequestsReport) -> Result<String> {
    let mut endpoints: Vec<String> = Vec::new();
    for g in &rep.groups {
        for e in &g.endpoints {
            if !endpoints.contains(&e.endpoint) {
                endpoints.push(e.endpoint.clone());
            }
        }
    }
    endpoints.sort_by(|a, b| super::routes::rank(a).cmp(&super::routes::rank(b)));
    let mj = |v: f64| 1e3 * v;
    let all = rep.groups.iter().flat_map(|g| {
        g.endpoints.iter().flat_map(|e| {
            [Some(e.energy_per_request_j), e.ci95_low_j, e.ci95_high_j]
                .into_iter()
                .flatten()
                .map(mj)
        })
    });
    let (lo, hi) = all.fold((0.0f64, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (_, hi) = padded(lo, hi.max(1e-9));
    let k = endpoints.len();
    let n = rep.groups.len().max(1);
    let modelled = rep.groups.iter().any(|g| g.modelled);
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                title(
                    "Energy per request by endpoint (95 % intervals across runs)",
                    modelled,
                ),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(70)
            .y_label_area_size(75)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), lo.min(0.0)..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(k.max(1))
            .x_label_formatter(&|x| at_index(&endpoints, *x))
            .x_desc("endpoint")
            .y_desc("energy per request (mJ)")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 17))
            .disable_x_mesh()
            .draw()
            .map_err(err)?;
        let w = 0.8 / n as f64;
        for (j, g) in rep.groups.iter().enumerate() {
            let c = color(j);
            let bars: Vec<_> = g
                .endpoints
                .iter()
                .filter_map(|e| {
                    let i = endpoints.iter().position(|x| x == &e.endpoint)?;
                    Some((i as f64 - 0.4 + j as f64 * w, e))
                })
                .collect();
            chart
                .draw_series(bars.iter().map(|(x, e)| {
                    Rectangle::new(
                        [(*x, 0.0), (*x + w * 0.9, mj(e.energy_per_request_j))],
                        c.filled(),
                    )
                }))
                .map_err(err)?
                .label(g.label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
            chart
                .draw_series(bars.iter().filter_map(|(x, e)| {
                    let (l, h) = (e.ci95_low_j?, e.ci95_high_j?);
                    let xm = *x + w * 0.45;
                    Some(PathElement::new(
                        vec![(xm, mj(l)), (xm, mj(h))],
                        BLACK.stroke_width(2),
                    ))
                }))
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}
