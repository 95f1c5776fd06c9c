//! The recording sessions of the runs (which groups each recorded, how many runs) and the
//! reference's drift between sessions: when a version was added later with a reference
//! interpreter run again beside it (`experiment run --add`), the reference's mean energy in the
//! new session against its earlier set, as a % difference with its Fieller–Welch interval, and
//! the verdict read off it: 0 % inside the interval, no drift detected (the added version's
//! comparisons with the earlier ones can be read directly, down to the interval's reach); 0 %
//! outside, drift (the added version compares with the earlier ones only through the
//! reference, whose same-session comparison is given).

use serde::Serialize;

use crate::dataset::{session_key, ARCHIVED_SUFFIX};
use crate::input::Dataset;
use crate::intervals::ratio::{fieller_welch, NoInterval, PctInterval};
use crate::numeric::np_mean;
use crate::posthoc::ALPHA;

/// One group of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionGroup {
    /// The group's label in the report (`3.12`, `3.12@s2`, `3.12@s1-archived`).
    pub group: String,
    /// The interpreter (`3.12`).
    pub interpreter: String,
    /// Runs in the statistics.
    pub runs: usize,
    /// A set a redo moved aside (read with `--include-archived`).
    pub archived: bool,
}

/// One recording session and what it recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    /// The session id (`s1`).
    pub session: String,
    /// Its groups, in the report's order.
    pub groups: Vec<SessionGroup>,
    /// For a later session without a drift check (a redo, which runs no reference): that its
    /// comparisons across sessions are unchecked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What the drift check says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftVerdict {
    /// 0 % is inside the interval: no drift detected.
    NoneDetected,
    /// 0 % is outside the interval: the reference drifted between the sessions.
    Drift,
    /// No interval (too few runs, or unbounded at this level).
    NotComputable,
}

impl DriftVerdict {
    /// The verdict as the report's tables say it.
    pub fn words(self) -> &'static str {
        match self {
            DriftVerdict::NoneDetected => "no drift detected",
            DriftVerdict::Drift => "drift",
            DriftVerdict::NotComputable => "not computable",
        }
    }
}

/// An added group against the reference within their session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relative {
    /// The added group.
    pub group: String,
    /// % difference of its mean energy from the reference's in the same session.
    pub difference_pct: f64,
    /// Its interval (%), at the drift check's level; `None` when not computable.
    pub interval_pct: Option<[f64; 2]>,
}

/// The reference's drift from one session to a later one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The reference interpreter.
    pub reference: String,
    /// Its earlier set's group and session.
    pub before: String,
    /// The earlier session.
    pub before_session: String,
    /// Its later runs' group (`3.12@s2`) and session.
    pub after: String,
    /// The later session.
    pub after_session: String,
    /// Runs before and after.
    pub runs: [usize; 2],
    /// Mean energy before and after (J).
    pub mean_j: [f64; 2],
    /// % difference of the later mean from the earlier.
    pub difference_pct: f64,
    /// Confidence level of the interval (0.95).
    pub level: f64,
    /// Fieller–Welch interval of the % difference; `None` when not computable.
    pub interval_pct: Option<[f64; 2]>,
    /// Why there is no interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_computable: Option<String>,
    /// The verdict read off the interval.
    pub verdict: DriftVerdict,
    /// Groups first recorded in the later session (the added versions).
    pub added: Vec<String>,
    /// Groups of the earlier session.
    pub earlier: Vec<String>,
    /// Each added group against the reference in the later session.
    pub relative: Vec<Relative>,
    /// The verdict in words.
    pub sentence: String,
}

/// The drift check on the reference's energies `before` and `after` at level `1 − alpha`: the
/// verdict and the interval it was read from.
pub fn drift_verdict(
    before: &[f64],
    after: &[f64],
    alpha: f64,
) -> (DriftVerdict, Result<PctInterval, NoInterval>) {
    let ci = fieller_welch(before, after, alpha);
    let verdict = match &ci {
        Ok(i) if i.excludes_zero() => DriftVerdict::Drift,
        Ok(_) => DriftVerdict::NoneDetected,
        Err(_) => DriftVerdict::NotComputable,
    };
    (verdict, ci)
}

/// A group's interpreter, session and whether it is archived, from its label and runs.
struct Tagged {
    group: String,
    interpreter: String,
    session: Option<String>,
    archived: bool,
    energies: Vec<f64>,
}

fn tag(data: &Dataset, include_warmup: bool) -> Vec<Tagged> {
    data.groups
        .iter()
        .map(|g| {
            let used = g.used_runs(include_warmup);
            let session = g.runs.iter().find_map(|r| r.session.clone());
            let archived = g.label.ends_with(ARCHIVED_SUFFIX);
            let base = g.label.trim_end_matches(ARCHIVED_SUFFIX);
            let interpreter = match (&session, base.rsplit_once('@')) {
                (Some(s), Some((i, tail))) if tail == s => i.to_owned(),
                _ => base.to_owned(),
            };
            Tagged {
                group: g.label.clone(),
                interpreter,
                session,
                archived,
                energies: used.iter().map(|r| r.energy_j).collect(),
            }
        })
        .collect()
}

/// The sessions of the runs (empty when no run says its session) and every drift check they
/// allow: an interpreter with runs in more than one session, its earliest against each later.
pub fn sessions(data: &Dataset, include_warmup: bool) -> (Vec<SessionRow>, Vec<Drift>) {
    let tagged = tag(data, include_warmup);
    let mut ids: Vec<String> = tagged.iter().filter_map(|t| t.session.clone()).collect();
    ids.sort_by_key(|s| session_key(Some(s)));
    ids.dedup();
    let rows = ids
        .iter()
        .map(|id| SessionRow {
            session: id.clone(),
            groups: tagged
                .iter()
                .filter(|t| t.session.as_ref() == Some(id))
                .map(|t| SessionGroup {
                    group: t.group.clone(),
                    interpreter: t.interpreter.clone(),
                    runs: t.energies.len(),
                    archived: t.archived,
                })
                .collect(),
            note: None,
        })
        .collect();
    let current: Vec<&Tagged> = tagged.iter().filter(|t| !t.archived).collect();
    let mut drifts = Vec::new();
    let mut interpreters: Vec<&str> = Vec::new();
    for t in &current {
        if !interpreters.contains(&t.interpreter.as_str()) {
            interpreters.push(&t.interpreter);
        }
    }
    for interp in interpreters {
        let mut sets: Vec<&&Tagged> = current
            .iter()
            .filter(|t| t.interpreter == interp && t.session.is_some())
            .collect();
        sets.sort_by_key(|t| session_key(t.session.as_deref()));
        let Some((first, later)) = sets.split_first() else {
            continue;
        };
        for after in later {
            drifts.push(drift(&current, first, after));
        }
    }
    let mut rows: Vec<SessionRow> = rows;
    for (i, row) in rows.iter_mut().enumerate() {
        let checked = drifts.iter().any(|d| d.after_session == row.session);
        let current: Vec<&str> = row
            .groups
            .iter()
            .filter(|g| !g.archived)
            .map(|g| g.group.as_str())
            .collect();
        if i > 0 && !checked && !current.is_empty() {
            row.note = Some(format!(
                "session {} ({}) ran no reference from an earlier session: its comparisons with \
                 other sessions' groups assume the setup did not drift (unchecked)",
                row.session,
                current.join(", ")
            ));
        }
    }
    (rows, drifts)
}

fn drift(current: &[&Tagged], before: &Tagged, after: &Tagged) -> Drift {
    let (bs, as_) = (
        before.session.clone().unwrap_or_default(),
        after.session.clone().unwrap_or_default(),
    );
    let in_session = |s: &str| -> Vec<&Tagged> {
        current
            .iter()
            .filter(|t| t.session.as_deref() == Some(s) && t.interpreter != before.interpreter)
            .copied()
            .collect()
    };
    let added = in_session(&as_);
    let earlier: Vec<String> = in_session(&bs).iter().map(|t| t.group.clone()).collect();
    let (verdict, ci) = drift_verdict(&before.energies, &after.energies, ALPHA);
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { np_mean(v) };
    let (mb, ma) = (mean(&before.energies), mean(&after.energies));
    let relative: Vec<Relative> = added
        .iter()
        .map(|t| Relative {
            group: t.group.clone(),
            difference_pct: 100.0 * (mean(&t.energies) / ma - 1.0),
            interval_pct: fieller_welch(&after.energies, &t.energies, ALPHA)
                .ok()
                .map(|i| [i.low, i.high]),
        })
        .collect();
    let mut d = Drift {
        reference: before.interpreter.clone(),
        before: before.group.clone(),
        before_session: bs,
        after: after.group.clone(),
        after_session: as_,
        runs: [before.energies.len(), after.energies.len()],
        mean_j: [mb, ma],
        difference_pct: 100.0 * (ma / mb - 1.0),
        level: 1.0 - ALPHA,
        interval_pct: ci.as_ref().ok().map(|i| [i.low, i.high]),
        not_computable: ci.as_ref().err().map(ToString::to_string),
        verdict,
        added: added.iter().map(|t| t.group.clone()).collect(),
        earlier,
        relative,
        sentence: String::new(),
    };
    d.sentence = sentence(&d);
    d
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "the other groups of that session".into()
    } else {
        v.join(", ")
    }
}

/// The verdict in words.
fn sentence(d: &Drift) -> String {
    let level = format!("{:.0} %", 100.0 * d.level);
    let head = format!(
        "The reference {} used {:+.1} % energy in session {} ({} runs) against session {} ({} runs)",
        d.reference, d.difference_pct, d.after_session, d.runs[1], d.before_session, d.runs[0]
    );
    let added = list(&d.added);
    let earlier = if d.earlier.is_empty() {
        format!(
            "the versions of session {} (none left there besides the reference)",
            d.before_session
        )
    } else {
        d.earlier.join(", ")
    };
    match (d.verdict, d.interval_pct) {
        (DriftVerdict::NoneDetected, Some([lo, hi])) => format!(
            "{head}, {level} interval [{lo:+.1}, {hi:+.1}] (Fieller–Welch): 0 % is inside it, so \
             no drift was detected and {added} can be compared with {earlier} directly. A drift \
             of up to {reach:.1} % is not ruled out: a difference between {added} and {earlier} \
             smaller than that is not evidence.",
            reach = lo.abs().max(hi.abs())
        ),
        (DriftVerdict::Drift, Some([lo, hi])) => {
            let rel: Vec<String> = d
                .relative
                .iter()
                .map(|r| match r.interval_pct {
                    Some([a, b]) => format!(
                        "{} {:+.1} % [{a:+.1}, {b:+.1}] against {} in session {}",
                        r.group, r.difference_pct, d.reference, d.after_session
                    ),
                    None => format!(
                        "{} {:+.1} % (no interval) against {} in session {}",
                        r.group, r.difference_pct, d.reference, d.after_session
                    ),
                })
                .collect();
            format!(
                "{head}, {level} interval [{lo:+.1}, {hi:+.1}] (Fieller–Welch): 0 % is outside it, \
                 so the setup drifted between the sessions and {added} can be compared with \
                 {earlier} only through the reference: {}; set that against each earlier \
                 version's difference with {} in session {}.",
                if rel.is_empty() {
                    "no added version to compare".into()
                } else {
                    rel.join("; ")
                },
                d.reference,
                d.before_session
            )
        }
        _ => format!(
            "{head}: no {level} interval ({}), so whether the setup drifted is not known; \
             compare {added} with {earlier} only through the reference.",
            d.not_computable.as_deref().unwrap_or("not computable")
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dataset::{Group, Run, Source};
    use crate::simulate::{Rng, Shape};

    /// How often the check says "drift" when the reference's true mean moved by `shift`
    /// (a factor), over `reps` simulated pairs of sessions of `n` runs each.
    fn drift_rate(shift: f64, n: usize, shape: Shape, reps: usize, seed: u64) -> f64 {
        let mut rng = Rng::new(seed);
        let mut drift = 0;
        for _ in 0..reps {
            let a: Vec<f64> = (0..n).map(|_| shape.draw(&mut rng, 1.0)).collect();
            let b: Vec<f64> = (0..n).map(|_| shape.draw(&mut rng, shift)).collect();
            if drift_verdict(&a, &b, ALPHA).0 == DriftVerdict::Drift {
                drift += 1;
            }
        }
        drift as f64 / reps as f64
    }

    #[test]
    fn without_drift_the_check_says_drift_about_5_percent_of_the_time() {
        // 4000 pairs: the binomial standard error at 5 % is 0.34 points.
        for (n, shape) in [
            (5, Shape::Normal(0.03)),
            (10, Shape::Normal(0.03)),
            (10, Shape::LogNormal(0.05)),
        ] {
            let rate = drift_rate(1.0, n, shape, 4000, 16);
            assert!(
                (0.038..=0.062).contains(&rate),
                "n = {n}, {shape:?}: false drift rate {rate}"
            );
        }
    }

    #[test]
    fn a_real_drift_is_found_as_often_as_the_t_test_s_power_says() {
        // The verdict is Welch's test of the two sessions, so it finds a true drift about as
        // often as the two-sample t-test's power (statsmodels' TTestIndPower) predicts:
        // within 2 points at 10 runs over 4000 simulated pairs (binomial standard error under
        // 0.8 points). At 5 runs Welch's fewer degrees of freedom cost a few points of power.
        use crate::intervals::nct::ttest_ind_power;
        let rate = drift_rate(1.05, 5, Shape::Normal(0.03), 4000, 19);
        let power = ttest_ind_power(5.0 / 3.075, 5.0, ALPHA);
        assert!(
            rate < power && rate > power - 0.06,
            "n = 5: found {rate}, pooled t's power {power}"
        );
        for (shift, n) in [(1.05, 10), (1.03, 10)] {
            let rate = drift_rate(shift, n, Shape::Normal(0.03), 4000, 17);
            let (sa, sb) = (3.0, 3.0 * shift);
            let effect = 100.0 * (shift - 1.0) / ((sa * sa + sb * sb) / 2.0_f64).sqrt();
            let power = ttest_ind_power(effect, n as f64, ALPHA);
            assert!(
                (rate - power).abs() < 0.02,
                "drift {shift}, n = {n}: found {rate}, power {power}"
            );
        }
        // A 1 % drift at 5 runs is mostly not found: "no drift detected" is no proof of
        // stability, which is why the sentence gives the interval's reach.
        let small = drift_rate(1.01, 5, Shape::Normal(0.03), 2000, 18);
        assert!(small < 0.25, "{small}");
    }

    fn group(label: &str, session: &str, energies: &[f64]) -> Group {
        Group {
            label: label.into(),
            runs: energies
                .iter()
                .enumerate()
                .map(|(i, e)| Run {
                    session: Some(session.into()),
                    ..Run::measured(
                        label.into(),
                        i as u32 + 1,
                        *e,
                        1.0,
                        Source::RunRecord,
                        String::new(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn the_reference_s_sessions_give_the_drift_and_its_sentence() {
        let data = Dataset {
            groups: vec![
                group("3.11", "s1", &[100.0, 101.0, 99.0, 100.5]),
                group("3.12", "s1", &[90.0, 91.0, 89.0, 90.5]),
                group("3.12@s2", "s2", &[99.0, 100.0, 98.0, 99.5]),
                group("3.14", "s2", &[80.0, 81.0, 79.0, 80.5]),
                group("pypy3.9@s1-archived", "s1", &[50.0, 51.0]),
            ],
            baseline: Vec::new(),
            speed: None,
        };
        let (rows, drifts) = sessions(&data, false);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].session, "s1");
        let s1: Vec<&str> = rows[0].groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(s1, ["3.11", "3.12", "pypy3.9@s1-archived"]);
        assert!(rows[0].groups[2].archived);
        assert_eq!(rows[1].groups[0].interpreter, "3.12");
        assert_eq!(drifts.len(), 1, "{drifts:?}");
        let d = &drifts[0];
        assert_eq!((d.before.as_str(), d.after.as_str()), ("3.12", "3.12@s2"));
        assert_eq!(d.added, ["3.14"]);
        assert_eq!(d.earlier, ["3.11"]);
        assert_eq!(d.verdict, DriftVerdict::Drift);
        let want = 100.0 * (99.125 / 90.125 - 1.0);
        assert!((d.difference_pct - want).abs() < 1e-9);
        let ci =
            fieller_welch(&[90.0, 91.0, 89.0, 90.5], &[99.0, 100.0, 98.0, 99.5], ALPHA).unwrap();
        assert_eq!(d.interval_pct, Some([ci.low, ci.high]));
        assert!(d.sentence.contains("0 % is outside it"), "{}", d.sentence);
        assert!(d.sentence.contains("only through the reference"));
        assert!(d.sentence.contains("3.14 -19.2 %"), "{}", d.sentence);

        let mut steady = data.clone();
        steady.groups[2] = group("3.12@s2", "s2", &[90.5, 89.5, 91.0, 90.0]);
        let (_, drifts) = sessions(&steady, false);
        assert_eq!(drifts[0].verdict, DriftVerdict::NoneDetected);
        assert!(
            drifts[0].sentence.contains("0 % is inside it")
                && drifts[0].sentence.contains("compared with 3.11 directly"),
            "{}",
            drifts[0].sentence
        );
    }

    #[test]
    fn one_session_or_none_gives_no_drift() {
        let data = Dataset {
            groups: vec![
                group("3.11", "s1", &[1.0, 2.0]),
                group("3.12", "s1", &[1.0, 2.0]),
            ],
            baseline: Vec::new(),
            speed: None,
        };
        let (rows, drifts) = sessions(&data, false);
        assert_eq!(rows.len(), 1);
        assert!(drifts.is_empty());
        let mut none = data;
        for g in &mut none.groups {
            for r in &mut g.runs {
                r.session = None;
            }
        }
        assert_eq!(sessions(&none, false), (Vec::new(), Vec::new()));
    }
}
