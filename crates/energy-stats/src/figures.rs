//! Which figures a dataset gives, as named SVG documents: `plot` writes them as files (SVG or
//! PNG), the HTML report puts them inline. The names are stable (a Makefile can depend on
//! them); [`crate::plot`] has the drawing primitives and the list of names.

use anyhow::Result;
use plotters::prelude::*;

use crate::input::{Dataset, Run};
use crate::plot::{boxplot, color, err, histogram, legend, lines, safe, svg, title};
use crate::report::StudyComparison;
use crate::trace::DOWNSAMPLE;

/// Every figure of `data` as (name, SVG), in a fixed order; with `study`, and at least two of
/// the study's versions run, `study_comparison` last.
pub fn figures(
    data: &Dataset,
    include_warmup: bool,
    study: Option<&StudyComparison>,
) -> Result<Vec<(String, String)>> {
    let modelled = data.modelled();
    let mut written: Vec<(String, String)> = Vec::new();
    let per_group = |f: fn(&Run) -> f64| -> Vec<(String, Vec<f64>)> {
        data.groups
            .iter()
            .map(|g| {
                (
                    g.label.clone(),
                    g.used_runs(include_warmup).into_iter().map(f).collect(),
                )
            })
            .collect()
    };
    let energy = per_group(|r| r.energy_j);
    for (name, values, caption, unit) in [
        ("box_energy", energy.clone(), "Energy per run", "energy (J)"),
        (
            "box_power",
            per_group(|r| r.power_w),
            "Mean power per run",
            "mean power (W)",
        ),
        (
            "box_duration",
            per_group(|r| r.duration_s),
            "Scenario time per run",
            "scenario time (s)",
        ),
    ] {
        let s = boxplot(&values, &title(caption, modelled), unit)?;
        written.push((name.to_string(), s));
    }
    let order: Vec<(String, Vec<(f64, f64)>)> = data
        .groups
        .iter()
        .map(|g| {
            (
                g.label.clone(),
                g.used_runs(include_warmup)
                    .iter()
                    .map(|r| (f64::from(r.run), r.energy_j))
                    .collect(),
            )
        })
        .collect();
    let s = lines(
        &order,
        &title("Energy by run order", modelled),
        "run",
        "energy (J)",
        true,
    )?;
    written.push(("run_order".to_string(), s));
    for (i, (label, values)) in energy.iter().enumerate() {
        if values.is_empty() {
            continue;
        }
        let s = histogram(label, values, "energy (J)", color(i), modelled)?;
        written.push((format!("hist_{}", safe(label)), s));
    }
    // Trace figures, from the downsampled traces (0.1 s per point).
    let dt = |r: &Run| DOWNSAMPLE as f64 / r.sample_rate_hz;
    let mut means = Vec::new();
    let mut averaged_s: f64 = 0.0;
    for g in &data.groups {
        let runs: Vec<&Run> = g
            .used_runs(include_warmup)
            .into_iter()
            .filter(|r| r.trace_summary.is_some())
            .collect();
        let Some(first) = runs.first() else { continue };
        let Some(ts) = first.trace_summary.as_ref() else {
            continue;
        };
        let step = dt(first);
        let one: Vec<(f64, f64)> = ts
            .downsampled_w
            .iter()
            .enumerate()
            .map(|(i, &p)| (i as f64 * step, p))
            .collect();
        let s = lines(
            &[(String::new(), one)],
            &title(
                &format!("Power trace, {} run {}", g.label, first.run),
                modelled,
            ),
            "time (s)",
            "power (W)",
            false,
        )?;
        written.push((format!("trace_{}_run{}", safe(&g.label), first.run), s));
        let len = runs
            .iter()
            .filter_map(|r| r.trace_summary.as_ref().map(|t| t.downsampled_w.len()))
            .min()
            .unwrap_or(0);
        let mean: Vec<(f64, f64)> = (0..len)
            .map(|i| {
                let sum: f64 = runs
                    .iter()
                    .filter_map(|r| r.trace_summary.as_ref().map(|t| t.downsampled_w[i]))
                    .sum();
                (i as f64 * step, sum / runs.len() as f64)
            })
            .collect();
        let s = lines(
            &[(String::new(), mean.clone())],
            &title(
                &format!("Mean power trace of {} runs, {}", runs.len(), g.label),
                modelled,
            ),
            "time (s)",
            "power (W)",
            false,
        )?;
        written.push((format!("mean_trace_{}", safe(&g.label)), s));
        // About one point per second keeps the all-groups figure readable; short runs (the
        // demo's take seconds) keep at least ~50 points instead of collapsing to a few.
        let chunk = (mean.len() / 50).clamp(1, 10);
        averaged_s = averaged_s.max(chunk as f64 * step);
        let coarse: Vec<(f64, f64)> = mean
            .chunks(chunk)
            .map(|c| (c[0].0, c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64))
            .collect();
        means.push((g.label.clone(), coarse));
    }
    if !means.is_empty() {
        let s = lines(
            &means,
            &title(
                &format!("Mean power traces ({averaged_s:.1} s averages)"),
                modelled,
            ),
            "time (s)",
            "power (W)",
            false,
        )?;
        written.push(("mean_traces".to_string(), s));
    }
    // Energy per request by endpoint, when the results folders have request logs.
    if let Some(fig) = crate::requests::figure::for_dataset(data)? {
        written.push(fig);
    }
    if let Some(study) = study.filter(|c| c.matched.len() >= 2) {
        written.push((
            "study_comparison".to_string(),
            study_figure(study, modelled)?,
        ));
    }
    Ok(written)
}

/// The study's table beside this machine's as a figure: each version's mean as % of the base
/// version, the study's measured points and this machine's, on one axis.
fn study_figure(c: &StudyComparison, modelled: bool) -> Result<String> {
    let base = c.base.unwrap_or("3.8");
    let versions: Vec<&str> = c.rows.iter().map(|r| r.version).collect();
    let study: Vec<(f64, f64)> = c
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.study_pct.map(|p| (i as f64, p)))
        .collect();
    let here: Vec<(f64, f64)> = c
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.pct.map(|p| (i as f64, p)))
        .collect();
    let all = study.iter().chain(&here).map(|p| p.1);
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = crate::plot::padded(lo.min(100.0), hi.max(100.0));
    let k = versions.len();
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                title(
                    &format!("Mean energy as % of CPython {base}: the study beside this machine"),
                    modelled,
                ),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(k)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    versions
                        .get(i as usize)
                        .map(|v| format!("CPython {v}"))
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("version")
            .y_desc(format!("mean energy, % of {base}"))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .disable_x_mesh()
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        let series = [
            (
                "the study (measured, Raspberry Pi)".to_string(),
                study,
                color(0),
            ),
            (format!("this machine ({})", c.this_data), here, color(1)),
        ];
        // The study's points are drawn large and hollow, this machine's small and filled, so
        // that both stay visible where they coincide.
        for (i, (name, pts, c)) in series.into_iter().enumerate() {
            let (radius, style) = if i == 0 {
                (9, c.stroke_width(3))
            } else {
                (5, c.filled())
            };
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, radius, style)))
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}
