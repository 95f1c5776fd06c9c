//! The study's figures, drawn with plotters' SVG backend; PNG is the same SVG rasterised by
//! resvg with the system's fonts (Debian `fonts-dejavu-core`). Which figures a dataset gives is
//! [`crate::figures::figures`]; the HTML report puts the same SVGs inline.
//!
//! Written per call of [`write_all`] (names are stable, so a Makefile can depend on them):
//! - `box_energy`, `box_power`, `box_duration`: per-run energy, mean power and scenario time
//!   per group (box = quartiles, whiskers = 1.5 IQR, every run drawn as a dot);
//! - `run_order`: energy against run index per group (warm-up effects);
//! - `hist_<label>`: histogram of each group's energy;
//! - with traces: `trace_<label>_run<k>` (the first used run of each group), `mean_trace_<label>`
//!   (mean over the group's runs, 0.1 s resolution) and `mean_traces` (all groups, averaged to
//!   about 1 s, finer for runs shorter than a minute);
//! - `requests_energy`, when the results folders have request logs: mean energy per request
//!   by endpoint per interpreter, with 95 % intervals (`crate::requests::figure`);
//! - `study_comparison`, when two or more of the study's versions (`3.8` … `3.13`) ran: each
//!   version's mean energy as % of the base version, the study's and this machine's.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use resvg::usvg::{self, fontdb};

use crate::input::Dataset;
use crate::numeric::{quantile_sorted, sorted};

const W: u32 = 900;
const H: u32 = 560;
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(crate) type Draw<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e:?}")
}

pub(crate) fn svg(draw: impl FnOnce(&Draw) -> Result<()>) -> Result<String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// The label of a categorical axis at `x`: `labels[i]` at the integer positions, nothing
/// between them.
pub(crate) fn at_index(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 {
        labels.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

pub(crate) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = (hi - lo).abs().max(hi.abs() * 1e-3).max(1e-9);
    (lo - span * 0.08, hi + span * 0.08)
}

pub(crate) fn title(base: &str, modelled: bool) -> String {
    if modelled {
        format!("{base} — MODELLED, not measured")
    } else {
        base.to_string()
    }
}

/// Box plot of one per-run quantity per group.
pub(crate) fn boxplot(
    groups: &[(String, Vec<f64>)],
    caption: &str,
    unit_label: &str,
) -> Result<String> {
    let all: Vec<f64> = groups.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let (lo, hi) = padded(
        all.iter().copied().fold(f64::INFINITY, f64::min),
        all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let labels: Vec<String> = groups.iter().map(|(l, _)| l.clone()).collect();
    let k = groups.len();
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(k.max(1))
            .x_label_formatter(&|x| at_index(&labels, *x))
            .x_desc("group")
            .y_desc(unit_label)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .disable_x_mesh()
            .draw()
            .map_err(err)?;
        for (i, (_, v)) in groups.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let s = sorted(v);
            let (q1, med, q3) = (
                quantile_sorted(&s, 0.25),
                quantile_sorted(&s, 0.5),
                quantile_sorted(&s, 0.75),
            );
            let iqr = q3 - q1;
            let wlo = s
                .iter()
                .copied()
                .find(|&x| x >= q1 - 1.5 * iqr)
                .unwrap_or(s[0]);
            let whi = s
                .iter()
                .rev()
                .copied()
                .find(|&x| x <= q3 + 1.5 * iqr)
                .unwrap_or(s[s.len() - 1]);
            let x = i as f64;
            let c = color(i);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, q1), (x + 0.3, q3)],
                    c.mix(0.25).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, q1), (x + 0.3, q3)],
                    c.stroke_width(2),
                )))
                .map_err(err)?;
            for seg in [
                vec![(x - 0.3, med), (x + 0.3, med)],
                vec![(x, q3), (x, whi)],
                vec![(x, q1), (x, wlo)],
                vec![(x - 0.12, whi), (x + 0.12, whi)],
                vec![(x - 0.12, wlo), (x + 0.12, wlo)],
            ] {
                chart
                    .draw_series(std::iter::once(PathElement::new(seg, c.stroke_width(2))))
                    .map_err(err)?;
            }
            let n = v.len().max(2) as f64;
            chart
                .draw_series(v.iter().enumerate().map(|(j, &y)| {
                    let jitter = -0.15 + 0.3 * j as f64 / (n - 1.0);
                    Circle::new((x + jitter, y), 3, BLACK.mix(0.7).filled())
                }))
                .map_err(err)?;
        }
        Ok(())
    })
}

pub(crate) fn histogram(
    label: &str,
    values: &[f64],
    unit_label: &str,
    c: RGBColor,
    modelled: bool,
) -> Result<String> {
    let (lo, hi) = padded(
        values.iter().copied().fold(f64::INFINITY, f64::min),
        values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(3, 30);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = f64::from(counts.iter().copied().max().unwrap_or(1)) * 1.15;
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                title(&format!("Energy per run, {label}"), modelled),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(unit_label)
            .y_desc("runs")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &n)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, f64::from(n))], c.mix(0.6).filled())
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// Lines of (x, y) series with a legend.
pub(crate) fn lines(
    series: &[(String, Vec<(f64, f64)>)],
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    markers: bool,
) -> Result<String> {
    let pts = series.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let (y0, y1) = padded(y0, y1);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(err)?;
        for (i, (name, s)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(
                    s.iter().copied(),
                    c.stroke_width(if markers { 2 } else { 1 }),
                ))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                });
            if markers {
                chart
                    .draw_series(s.iter().map(|&p| Circle::new(p, 4, c.filled())))
                    .map_err(err)?;
            }
        }
        if series.len() > 1 || series.first().is_some_and(|s| !s.0.is_empty()) {
            legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
        }
        Ok(())
    })
}

/// The legend of a chart's labelled series, in one style for every figure.
pub(crate) fn legend<'a, 'b: 'a>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(err)
}

pub(crate) fn safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_figure(dir: &Path, name: &str, svg: &str, png: Option<&Png>) -> Result<PathBuf> {
    let path = dir.join(format!(
        "{name}.{}",
        if png.is_some() { "png" } else { "svg" }
    ));
    let bytes = match png {
        Some(png) => png
            .rasterise(svg)
            .with_context(|| format!("rendering {name} as PNG"))?,
        None => svg.as_bytes().to_vec(),
    };
    let mut f = records::AtomicFile::create(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(&bytes)?;
    f.commit()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The rasteriser of one `plot` call: the system's fonts are looked up once for all figures.
struct Png {
    opt: usvg::Options<'static>,
}

impl Png {
    fn new() -> Result<Self> {
        let mut system = fontdb::Database::new();
        system.load_system_fonts();
        if system.is_empty() {
            anyhow::bail!(
                "no system fonts for the PNG text (install fonts-dejavu-core, or use --format svg)"
            );
        }
        // plotters writes the generic `sans-serif`; fontdb maps it to Arial unless told otherwise.
        let families: Vec<String> = system
            .faces()
            .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
            .collect();
        let sans = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans"]
            .into_iter()
            .find(|f| families.iter().any(|n| n == f))
            .map(str::to_string)
            .or_else(|| families.first().cloned())
            .unwrap_or_default();
        let mut opt = usvg::Options {
            fontdb: std::sync::Arc::new(in_memory(&system, &sans)),
            ..usvg::Options::default()
        };
        opt.fontdb_mut().set_sans_serif_family(sans.clone());
        opt.font_family = sans;
        Ok(Self { opt })
    }

    fn rasterise(&self, svg: &str) -> Result<Vec<u8>> {
        let tree = usvg::Tree::from_str(svg, &self.opt).context("parsing the SVG")?;
        let size = tree.size().to_int_size();
        let scale = 2.0;
        let mut pixmap = resvg::tiny_skia::Pixmap::new(
            (size.width() as f32 * scale) as u32,
            (size.height() as f32 * scale) as u32,
        )
        .context("allocating the image")?;
        pixmap.fill(resvg::tiny_skia::Color::WHITE);
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::from_scale(scale, scale),
            &mut pixmap.as_mut(),
        );
        pixmap.encode_png().context("encoding PNG")
    }
}

/// `db` with the files of `family` read into memory, once: fontdb (built without its memmap
/// feature) reads a file-backed font whole again for every glyph it draws. The faces keep their
/// order and the generic families their names, so every lookup finds the same face as before;
/// other families stay on disk, for the rare fallback glyph.
fn in_memory(db: &fontdb::Database, family: &str) -> fontdb::Database {
    use fontdb::{Family, Source};
    let mut out = fontdb::Database::new();
    out.set_serif_family(db.family_name(&Family::Serif));
    out.set_sans_serif_family(db.family_name(&Family::SansSerif));
    out.set_cursive_family(db.family_name(&Family::Cursive));
    out.set_fantasy_family(db.family_name(&Family::Fantasy));
    out.set_monospace_family(db.family_name(&Family::Monospace));
    let mut read: Vec<(PathBuf, Source)> = Vec::new();
    for face in db.faces() {
        let mut face = face.clone();
        if let Source::File(path) = &face.source {
            if face.families.iter().any(|(name, _)| name == family) {
                if let Some((_, data)) = read.iter().find(|(p, _)| p == path) {
                    face.source = data.clone();
                } else if let Ok(bytes) = std::fs::read(path) {
                    let data = Source::Binary(std::sync::Arc::new(bytes));
                    read.push((path.clone(), data.clone()));
                    face.source = data;
                }
            }
        }
        out.push_face_info(face);
    }
    out
}

/// Draw every figure of [`crate::figures::figures`] into `dir`, as SVG or PNG; returns the
/// files written.
pub fn write_all(
    data: &Dataset,
    dir: &Path,
    png: bool,
    include_warmup: bool,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let png = png
        .then(Png::new)
        .transpose()
        .context("rendering the figures as PNG")?;
    let study = crate::report::build(
        data,
        &crate::report::ReportOptions {
            include_warmup,
            ..Default::default()
        },
    )
    .study;
    let mut written = Vec::new();
    for (name, svg) in crate::figures::figures(data, include_warmup, Some(&study))? {
        written.push(write_figure(dir, &name, &svg, png.as_ref())?);
    }
    Ok(written)
}
