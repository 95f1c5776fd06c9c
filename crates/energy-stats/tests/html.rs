//! `report --format html` opened in headless Chromium (Debian's `chromium`, installed by
//! `make deps`): every figure is there and drawn at a visible size, the page logs nothing to the
//! console, and its screenshot is a page, not a blank. file:// only; Chromium is started with
//! its network features off and a fresh profile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use assert_cmd::Command;

fn bin() -> Command {
    Command::cargo_bin("energy-stats").unwrap()
}

/// A study folder `minitwit<ver>` (or any name) with a log of runs and one trace per run.
fn group(root: &Path, folder: &str, powers: &[f64]) -> PathBuf {
    let dir = root.join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let mut log = String::from("$ time poetry run python main.py\n");
    for (i, p) in powers.iter().enumerate() {
        log += &format!(
            "Clearing DB on remote server...\nStarting scenario on three clients...\n\
             [<Response [200 OK]>, <Response [200 OK]>, <Response [200 OK]>]\n\
             Scenario took 0:00:{:02}.500000\nDone with scenario...\n\
             MAIN_CURRENT: 0.2266, 0.3400, {}, 0.0501\nMAIN_VOLTAGE: 4.9981, 5.0016, 5.0000\n\
             MAIN_POWER: 1.1333, 1.7003, {p}\n",
            2 + i % 2,
            p / 5.0
        );
        let f = std::fs::File::create(dir.join(format!("{i}.csv.xz"))).unwrap();
        let mut enc = xz2::write::XzEncoder::new(f, 1);
        writeln!(enc, ",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER").unwrap();
        for k in 0..25_000 {
            let w = p + 0.1 * ((k / 2000) % 2) as f64 + 0.01 * ((k * 7 + i) % 13) as f64;
            writeln!(enc, "{k},{},5.0,{w}", w / 5.0).unwrap();
        }
        enc.finish().unwrap();
    }
    log += "real\t1m0.000s\n";
    std::fs::write(dir.join("log.txt"), log).unwrap();
    dir
}

/// Headless Chromium on `url` with `args`, a fresh profile and no network features.
fn chromium(profile: &Path, args: &[&str], url: &str) -> Output {
    let out = Process::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("running chromium: install Debian's chromium (make deps)");
    assert!(out.status.success(), "chromium failed: {out:?}");
    out
}

/// The console messages Chromium logged (`--enable-logging=stderr`: `…:CONSOLE:…] "msg"`).
fn console_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

#[test]
fn html_report_renders_in_chromium_with_every_figure_visible() {
    let t = tempfile::tempdir().unwrap();
    let dirs = vec![
        group(t.path(), "minitwit38", &[1.40, 1.42, 1.41]),
        group(t.path(), "minitwit310", &[1.36, 1.35, 1.37]),
        group(t.path(), "minitwit312", &[1.30, 1.31, 1.29]),
        group(t.path(), "3.11-debian", &[1.33, 1.32, 1.34]),
    ];
    let html = t.path().join("report.html");
    bin()
        .args([
            "report",
            "--modelled",
            "--no-cache",
            "--format",
            "html",
            "-o",
        ])
        .arg(&html)
        .args(&dirs)
        .assert()
        .success();
    let page = std::fs::read_to_string(&html).unwrap();
    // The same figures as `plot` draws, each inline.
    let figdir = t.path().join("figures");
    bin()
        .args(["plot", "--modelled", "--no-cache", "--out"])
        .arg(&figdir)
        .args(&dirs)
        .assert()
        .success();
    let mut names: Vec<String> = std::fs::read_dir(&figdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().replace(".svg", ""))
        .collect();
    names.sort();
    assert!(names.len() >= 16, "{names:?}");
    assert!(names.contains(&"study_comparison".to_string()), "{names:?}");
    for n in &names {
        assert!(
            page.contains(&format!("<figure id=\"fig-{n}\"")),
            "{n} missing"
        );
    }
    // Self-contained, with the banner, the verdicts and the notes of the Markdown report.
    for absent in [
        "<script",
        "<link rel=\"stylesheet\"",
        "<img",
        "src=\"",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(!page.contains(absent), "the page holds {absent}");
    }
    for present in [
        "class=\"banner modelled\"",
        "MODELLED DATA",
        "The verdicts",
        "Beside the study's table",
        "Runs left out",
        "Small samples",
        "Not in this table: 3.11-debian",
        "Both % columns are % of CPython 3.8",
    ] {
        assert!(page.contains(present), "{present}");
    }

    // 1. The page as it is: no console message, and a screenshot that is a page.
    let shot = t.path().join("shot.png");
    let url = format!("file://{}", html.display());
    let out = chromium(
        &t.path().join("profile-1"),
        &[
            "--enable-logging=stderr",
            "--v=0",
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800",
        ],
        &url,
    );
    assert_eq!(
        console_lines(&out),
        Vec::<String>::new(),
        "console messages"
    );
    let png = resvg::tiny_skia::Pixmap::decode_png(&std::fs::read(&shot).unwrap()).unwrap();
    assert_eq!((png.width(), png.height()), (1280, 1800));
    let px = png.pixels();
    let background = px[px.len() / 2 + 5].demultiply();
    let banner = png.pixel(640, 8).unwrap().demultiply();
    assert_eq!(
        (banner.red(), banner.green(), banner.blue()),
        (0xff, 0xf1, 0xd6),
        "the modelled banner is at the top"
    );
    let different = px.iter().filter(|p| **p != px[0]).count();
    let mut colours: Vec<u32> = px
        .iter()
        .map(|p| {
            let c = p.demultiply();
            u32::from_be_bytes([0, c.red(), c.green(), c.blue()])
        })
        .collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        different > px.len() / 20 && colours.len() > 50,
        "blank screenshot: {different} of {} pixels differ, {} colours (background {background:?})",
        px.len(),
        colours.len()
    );

    // 2. A copy with a measuring script: every figure's SVG has a size and is drawn.
    let measure = "<script>for (const f of document.querySelectorAll('figure')) { \
        const s = f.querySelector('svg'); const r = s.getBoundingClientRect(); \
        const cs = getComputedStyle(s); \
        f.setAttribute('data-size', Math.round(r.width) + 'x' + Math.round(r.height)); \
        f.setAttribute('data-shown', cs.display !== 'none' && cs.visibility !== 'hidden' ? 'yes' : 'no'); \
        f.setAttribute('data-parts', s.querySelectorAll('*').length); }</script></body>";
    let probe = t.path().join("probe.html");
    std::fs::write(&probe, page.replace("</body>", measure)).unwrap();
    let out = chromium(
        &t.path().join("profile-2"),
        &["--dump-dom", "--window-size=1280,1800"],
        &format!("file://{}", probe.display()),
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    let figures: Vec<&str> = dom.split("<figure ").skip(1).collect();
    assert_eq!(figures.len(), names.len(), "figures in the DOM");
    for f in figures {
        let tag = &format!(" {}", &f[..f.find('>').unwrap()]);
        let id = attr(tag, "id").unwrap();
        let size = attr(tag, "data-size").unwrap_or_else(|| panic!("{id}: not measured"));
        let (w, h) = size.split_once('x').unwrap();
        let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
        assert!(w >= 300 && h >= 150, "{id}: {size}");
        assert_eq!(attr(tag, "data-shown"), Some("yes"), "{id}");
        let parts: u32 = attr(tag, "data-parts").unwrap().parse().unwrap();
        assert!(parts >= 10, "{id}: {parts} elements drawn");
    }
}

/// The console check above would see a message: a page that logs one is caught.
#[test]
fn a_console_message_is_seen() {
    let t = tempfile::tempdir().unwrap();
    let page = t.path().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"></head><body>\
         <script>console.error('control')</script></body></html>",
    )
    .unwrap();
    let out = chromium(
        &t.path().join("profile"),
        &["--enable-logging=stderr", "--v=0", "--dump-dom"],
        &format!("file://{}", page.display()),
    );
    let lines = console_lines(&out);
    assert!(
        lines.len() == 1 && lines[0].contains("\"control\""),
        "{lines:?}"
    );
}
