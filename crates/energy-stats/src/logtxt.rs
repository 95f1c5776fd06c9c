//! The study's controller log (`log.txt`): one block per run, the scenario time from
//! `Scenario took H:MM:SS.ffffff` and the recording's summary from the `MAIN_*` lines.
//!
//! Everything else (shell prompts, `real`/`user`/`sys` lines, HTTP responses, blank lines) is
//! ignored. A block that lacks its `MAIN_POWER` line, or a `MAIN_POWER` line without a scenario
//! before it, is an error for that block naming the line, so one damaged block does not hide
//! the others (`--keep-going` turns it into a failed run).

/// One run's block of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBlock {
    /// 1-based line of the `Scenario took` line (or of the stray line that made the error).
    pub line: u64,
    /// The block's numbers, or what is wrong with it.
    pub result: Result<LogRun, String>,
}

/// The numbers of one complete block.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRun {
    /// Scenario time (s).
    pub duration_s: f64,
    /// `MAIN_POWER: min, max, average` (W).
    pub power_min_w: f64,
    /// Largest power sample (W).
    pub power_max_w: f64,
    /// Mean power of the recording (W).
    pub power_avg_w: f64,
    /// `MAIN_CURRENT` average (A), when the line was there.
    pub current_avg_a: Option<f64>,
    /// `MAIN_CURRENT` energy (Wh), the fourth field, when there.
    pub energy_wh: Option<f64>,
    /// `MAIN_VOLTAGE` average (V), when the line was there.
    pub voltage_avg_v: Option<f64>,
}

struct Open {
    line: u64,
    duration_s: f64,
    current: Option<Vec<f64>>,
    voltage: Option<Vec<f64>>,
}

/// A field of a time: decimal digits only (Rust's float parser would also take `inf`, `NaN`,
/// signs and exponents, none of which `str(timedelta)` writes).
fn digits(text: &str) -> Option<f64> {
    let whole = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let ok = match text.split_once('.') {
        Some((int, frac)) => whole(int) && whole(frac),
        None => whole(text),
    };
    ok.then(|| text.parse().ok()).flatten()
}

/// Parse Python's `str(timedelta)`: `H:MM:SS[.ffffff]`, optionally `N day[s], ` in front.
/// A negative time (`-1 day, …`) or anything but digits in a field is not a scenario time.
pub fn parse_timedelta(text: &str) -> Option<f64> {
    let text = text.trim();
    let (days, rest) = match text.split_once(", ") {
        Some((d, rest)) => {
            let n = d.split_whitespace().next().and_then(digits)?;
            (n, rest)
        }
        None => (0.0, text),
    };
    let mut parts = rest.split(':');
    let h = digits(parts.next()?)?;
    let m = digits(parts.next()?)?;
    let s = digits(parts.next()?)?;
    if parts.next().is_some() || !(0.0..60.0).contains(&m) || !(0.0..61.0).contains(&s) {
        return None;
    }
    Some(days * 86_400.0 + h * 3600.0 + m * 60.0 + s).filter(|t| t.is_finite())
}

fn numbers(text: &str) -> Option<Vec<f64>> {
    text.split(',')
        .map(|f| f.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// Parse a whole log. Never fails as a whole: every problem is attached to its block.
pub fn parse_log(text: &str) -> Vec<LogBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<Open> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("Scenario took") {
            if let Some(o) = open.take() {
                blocks.push(LogBlock {
                    line: o.line,
                    result: Err(format!(
                        "block of line {} has no MAIN_POWER line before the next scenario at line {line_no}",
                        o.line
                    )),
                });
            }
            match parse_timedelta(rest) {
                Some(d) => {
                    open = Some(Open {
                        line: line_no,
                        duration_s: d,
                        current: None,
                        voltage: None,
                    })
                }
                None => blocks.push(LogBlock {
                    line: line_no,
                    result: Err(format!(
                        "`Scenario took{}` is not a time of the form H:MM:SS.ffffff",
                        rest.escape_debug()
                    )),
                }),
            }
        } else if let Some(rest) = line.strip_prefix("MAIN_CURRENT:") {
            if let Some(o) = open.as_mut() {
                o.current = numbers(rest);
            }
        } else if let Some(rest) = line.strip_prefix("MAIN_VOLTAGE:") {
            if let Some(o) = open.as_mut() {
                o.voltage = numbers(rest);
            }
        } else if let Some(rest) = line.strip_prefix("MAIN_POWER:") {
            let Some(o) = open.take() else {
                blocks.push(LogBlock {
                    line: line_no,
                    result: Err("MAIN_POWER line without a `Scenario took` line before it".into()),
                });
                continue;
            };
            let result = match numbers(rest) {
                Some(p) if p.len() >= 3 && !(p[2] * o.duration_s).is_finite() => Err(format!(
                    "line {line_no}: the average power {:e} W over {} s is an energy past the largest number",
                    p[2], o.duration_s
                )),
                Some(p) if p.len() >= 3 => Ok(LogRun {
                    duration_s: o.duration_s,
                    power_min_w: p[0],
                    power_max_w: p[1],
                    power_avg_w: p[2],
                    current_avg_a: o.current.as_ref().and_then(|c| c.get(2).copied()),
                    energy_wh: o.current.as_ref().and_then(|c| c.get(3).copied()),
                    voltage_avg_v: o.voltage.as_ref().and_then(|v| v.get(2).copied()),
                }),
                _ => Err(format!(
                    "line {line_no}: `MAIN_POWER:{}` is not three numbers (min, max, average)",
                    rest.escape_debug()
                )),
            };
            blocks.push(LogBlock {
                line: o.line,
                result,
            });
        }
    }
    if let Some(o) = open {
        blocks.push(LogBlock {
            line: o.line,
            result: Err(format!(
                "block of line {} ends without a MAIN_POWER line (truncated log?)",
                o.line
            )),
        });
    }
    blocks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BLOCK: &str = "Clearing DB on remote server...\n\
        Starting scenario on three clients...\n\
        [<Response [200 OK]>, <Response [200 OK]>, <Response [200 OK]>]\n\
        Scenario took 0:02:20.123456\n\
        Done with scenario...\n\
        MAIN_CURRENT: 0.2266, 0.3400, 0.2571, 0.0501\n\
        MAIN_VOLTAGE: 4.9981, 5.0016, 5.0000\n\
        MAIN_POWER: 1.1333, 1.7003, 1.2858\n";

    #[test]
    fn study_block_is_read() {
        let text = format!("$ time poetry run python main.py\n{BLOCK}{BLOCK}\nreal 33m13.885s\n");
        let b = parse_log(&text);
        assert_eq!(b.len(), 2);
        let r = b[0].result.as_ref().unwrap();
        assert!((r.duration_s - 140.123456).abs() < 1e-9);
        assert_eq!(r.power_avg_w, 1.2858);
        assert_eq!(r.energy_wh, Some(0.0501));
        assert_eq!(b[0].line, 5);
    }

    #[test]
    fn block_without_power_line_is_an_error_for_that_block_only() {
        let broken = BLOCK.replace("MAIN_POWER: 1.1333, 1.7003, 1.2858\n", "");
        let b = parse_log(&format!("{broken}{BLOCK}"));
        assert_eq!(b.len(), 2);
        assert!(b[0].result.as_ref().unwrap_err().contains("no MAIN_POWER"));
        assert!(b[1].result.is_ok());
    }

    #[test]
    fn a_bad_line_is_quoted_on_one_line() {
        let b = parse_log("Scenario took 0\r:02:20\nMAIN_POWER: 1,\r2\n");
        assert_eq!(
            b[0].result.as_ref().unwrap_err(),
            "`Scenario took 0\\r:02:20` is not a time of the form H:MM:SS.ffffff"
        );
        assert_eq!(b[1].line, 2);
        let b = parse_log("Scenario took 0:00:01\nMAIN_POWER: 1,\r2\n");
        assert_eq!(
            b[0].result.as_ref().unwrap_err(),
            "line 2: `MAIN_POWER: 1,\\r2` is not three numbers (min, max, average)"
        );
    }

    #[test]
    fn timedelta_forms() {
        assert_eq!(parse_timedelta(" 0:02:20"), Some(140.0));
        assert_eq!(parse_timedelta("1 day, 0:00:01.5"), Some(86_401.5));
        assert_eq!(parse_timedelta("2:xx:00"), None);
        assert_eq!(parse_timedelta("0:00:00.5"), Some(0.5));
    }

    #[test]
    fn a_scenario_time_is_digits_never_inf_nan_or_negative() {
        for bad in [
            "inf:00:00",
            "0:00:inf",
            "NaN:00:00",
            "-1:00:00",
            "+1:00:00",
            "1e3:00:00",
            "0:00:1.",
            "0:00:.5",
            "inf day, 0:00:00",
            "-1 day, 23:59:59",
        ] {
            assert_eq!(parse_timedelta(bad), None, "{bad}");
        }
        let b = parse_log("Scenario took inf:00:00\nMAIN_POWER: 1, 2, 1.5\n");
        assert!(b[0].result.is_err(), "{b:?}");
    }

    #[test]
    fn a_block_whose_time_or_energy_is_past_the_largest_number_is_an_error_not_infinity() {
        let hours = "9".repeat(400);
        assert_eq!(parse_timedelta(&format!("{hours}:00:00")), None);
        let b = parse_log("Scenario took 0:02:20\nMAIN_POWER: 1, 1.7e308, 1.5e308\n");
        assert_eq!(
            b[0].result.as_ref().unwrap_err(),
            "line 2: the average power 1.5e308 W over 140 s is an energy past the largest number"
        );
    }
}
