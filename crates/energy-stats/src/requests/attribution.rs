//! Where a run's energy went: the power trace shared among the requests in flight.
//!
//! The rule (docs/requests.md): the trace is a step function, sample `k` holding its power
//! `P[k]` over `[k/rate, (k+1)/rate)`, so the trace's energy is `Σ P[k] / rate` (the run's
//! `trace_energy_j`). Of every moment's power, the idle baseline `B` is the baseline's; the
//! rest, `P − B` (negative where the machine drew less than its idle power), goes in equal
//! shares to the requests in flight at that moment; a moment with none in flight is "between
//! requests". A request is in flight from its start to its start plus its latency, on the
//! recording's timeline; a sample interval that a request covers in part gives it that part,
//! so nothing depends on where a request starts within a sample. Parts of a request outside
//! the recording get nothing. Conservation holds by construction: the requests' energies, the
//! energy between requests and the baseline's `B × samples / rate` add up to the trace energy
//! (to rounding: [`Attribution::conservation_error_j`]).

use crate::numeric::np_sum;

/// One request's time in flight on the recording's timeline (s from the first sample).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InFlight {
    /// When it was sent.
    pub start_s: f64,
    /// When its answer was read completely.
    pub end_s: f64,
}

/// A run's energy, split.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Energy above the baseline attributed to each request, in the order given (J).
    pub request_j: Vec<f64>,
    /// Energy above the baseline while no request was in flight (J).
    pub between_j: f64,
    /// The baseline's energy over the recording, `B × samples / rate` (J).
    pub baseline_j: f64,
    /// The trace's energy, `Σ P / rate` (NumPy's pairwise sum) (J).
    pub trace_j: f64,
    /// Requests that were in flight, at least in part, outside the recording.
    pub outside: usize,
}

impl Attribution {
    /// The sum of the requests' energies (J).
    pub fn attributed_j(&self) -> f64 {
        np_sum(&self.request_j)
    }

    /// `|attributed + between + baseline − trace|`: what rounding left over (J).
    pub fn conservation_error_j(&self) -> f64 {
        (self.attributed_j() + self.between_j + self.baseline_j - self.trace_j).abs()
    }
}

/// `∫ (P − B) dt` over `[a, b)` inside the recording (`0 ≤ a ≤ b ≤ n / rate`).
fn excess(power: &[f64], rate: f64, baseline_w: f64, a: f64, b: f64) -> f64 {
    let n = power.len();
    if b <= a || n == 0 {
        return 0.0;
    }
    let idx = |t: f64| ((t * rate).floor().max(0.0) as usize).min(n - 1);
    let (ka, kb) = (idx(a), idx(b));
    if ka == kb {
        return (b - a) * (power[ka] - baseline_w);
    }
    let head = ((ka + 1) as f64 / rate - a) * (power[ka] - baseline_w);
    let inner = &power[ka + 1..kb];
    let middle = (np_sum(inner) - baseline_w * inner.len() as f64) / rate;
    let tail = (b - kb as f64 / rate).max(0.0) * (power[kb] - baseline_w);
    head + middle + tail
}

/// Share the energy of `power` (W, at `rate_hz`) above `baseline_w` among `requests`.
pub fn attribute(
    power: &[f64],
    rate_hz: f64,
    baseline_w: f64,
    requests: &[InFlight],
) -> Attribution {
    let end = power.len() as f64 / rate_hz;
    // Boundaries where the set of requests in flight changes: +1 at a start, −1 at an end.
    let mut events: Vec<(f64, bool, usize)> = Vec::with_capacity(2 * requests.len() + 2);
    let mut outside = 0;
    for (i, r) in requests.iter().enumerate() {
        if r.start_s < 0.0 || r.end_s > end {
            outside += 1;
        }
        let (s, e) = (r.start_s.clamp(0.0, end), r.end_s.clamp(0.0, end));
        if e > s {
            events.push((s, true, i));
            events.push((e, false, i));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut request_j = vec![0.0; requests.len()];
    let mut between_j = 0.0;
    let mut active: Vec<usize> = Vec::new();
    let mut t = 0.0;
    for &(at, starts, i) in events
        .iter()
        .chain(std::iter::once(&(end, false, usize::MAX)))
    {
        if at > t {
            let e = excess(power, rate_hz, baseline_w, t, at);
            if active.is_empty() {
                between_j += e;
            } else {
                let share = e / active.len() as f64;
                for &a in &active {
                    request_j[a] += share;
                }
            }
            t = at;
        }
        if starts {
            active.push(i);
        } else if let Some(pos) = active.iter().position(|&a| a == i) {
            active.swap_remove(pos);
        }
    }
    Attribution {
        request_j,
        between_j,
        baseline_j: baseline_w * power.len() as f64 / rate_hz,
        trace_j: np_sum(power) / rate_hz,
        outside,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const RATE: f64 = 10_000.0;

    fn flight(a: f64, b: f64) -> InFlight {
        InFlight {
            start_s: a,
            end_s: b,
        }
    }

    /// A known answer: a 2 W idle machine, and every request adds its own pulse of known
    /// power while it is in flight; overlapping requests carry equal pulses, so the equal
    /// shares are each one's own pulse. Requests on sample boundaries.
    #[test]
    fn pulses_of_known_power_are_recovered_per_request_and_endpoint() {
        let n = 20_000; // 2 s
        let idle = 2.0;
        // (start sample, end sample, pulse W, endpoint)
        let pulses = [
            (1_000, 1_500, 3.0, "GET /"),
            (2_000, 2_100, 1.5, "GET /public"),
            // Three overlapping requests of equal pulses, of two endpoints.
            (3_000, 3_800, 0.8, "POST /add_message"),
            (3_400, 4_200, 0.8, "GET /<user>"),
            (3_600, 3_700, 0.8, "POST /add_message"),
            (9_000, 9_001, 7.0, "404"),
            (15_000, 19_999, 0.25, "GET /<user>/follow"),
        ];
        let mut power = vec![idle; n];
        for &(a, b, w, _) in &pulses {
            for p in &mut power[a..b] {
                *p += w;
            }
        }
        // Some energy between requests: a known bump where nothing is in flight.
        for p in &mut power[6_000..6_300] {
            *p += 1.0;
        }
        let reqs: Vec<InFlight> = pulses
            .iter()
            .map(|&(a, b, _, _)| flight(a as f64 / RATE, b as f64 / RATE))
            .collect();
        let got = attribute(&power, RATE, idle, &reqs);
        for (i, &(a, b, w, _)) in pulses.iter().enumerate() {
            let want = w * (b - a) as f64 / RATE;
            assert!(
                (got.request_j[i] - want).abs() < 1e-9,
                "{i}: {} vs {want}",
                got.request_j[i]
            );
        }
        let mut by_endpoint = std::collections::BTreeMap::<&str, (f64, f64)>::new();
        for (i, &(a, b, w, ep)) in pulses.iter().enumerate() {
            let e = by_endpoint.entry(ep).or_default();
            e.0 += got.request_j[i];
            e.1 += w * (b - a) as f64 / RATE;
        }
        for (ep, (got, want)) in by_endpoint {
            assert!((got - want).abs() < 1e-9, "{ep}: {got} vs {want}");
        }
        assert!(
            (got.between_j - 300.0 / RATE).abs() < 1e-9,
            "{}",
            got.between_j
        );
        assert!((got.baseline_j - idle * 2.0).abs() < 1e-9);
        assert!(got.conservation_error_j() < 1e-9);
        assert_eq!(got.outside, 0);
    }

    #[test]
    fn unequal_overlapping_pulses_are_shared_equally() {
        // 1 W and 3 W pulses over the same 0.1 s: 0.4 J in all, 0.2 J each by the rule.
        let mut power = vec![0.0; 2_000];
        for p in &mut power[500..1_500] {
            *p = 4.0;
        }
        let r = [flight(0.05, 0.15), flight(0.05, 0.15)];
        let got = attribute(&power, RATE, 0.0, &r);
        assert!((got.request_j[0] - 0.2).abs() < 1e-12);
        assert!((got.request_j[1] - 0.2).abs() < 1e-12);
        assert!(got.between_j.abs() < 1e-12);
    }

    #[test]
    fn a_request_covering_part_of_a_sample_gets_that_part() {
        // 1 kHz, 5 W in every sample, baseline 1 W: 4 W above it. A request from 2.25 ms to
        // 3.5 ms covers 0.75 of sample 2 and 0.5 of sample 3: 1.25 ms × 4 W.
        let power = vec![5.0; 10];
        let got = attribute(&power, 1_000.0, 1.0, &[flight(0.00225, 0.0035)]);
        assert!(
            (got.request_j[0] - 0.005).abs() < 1e-15,
            "{}",
            got.request_j[0]
        );
        assert!((got.between_j - (0.04 - 0.005)).abs() < 1e-15);
        assert!(got.conservation_error_j() < 1e-15);
    }

    #[test]
    fn parts_outside_the_recording_get_nothing_and_are_counted() {
        let power = vec![3.0; 1_000]; // 0.1 s
        let got = attribute(
            &power,
            RATE,
            1.0,
            &[flight(-0.05, 0.05), flight(0.09, 0.2), flight(0.3, 0.4)],
        );
        assert!((got.request_j[0] - 0.1).abs() < 1e-12);
        assert!((got.request_j[1] - 0.02).abs() < 1e-12);
        assert_eq!(got.request_j[2], 0.0);
        assert_eq!(got.outside, 3);
        assert!(got.conservation_error_j() < 1e-12);
    }

    #[test]
    fn the_fallback_baseline_is_numpys_linear_quantile() {
        let mut rng = crate::simulate::Rng::new(3);
        for n in [1, 2, 7, 20, 1001] {
            let v: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
            let s = crate::numeric::sorted(&v);
            for q in [0.0, 0.05, 0.5, 0.95, 1.0] {
                let want = crate::numeric::quantile_sorted(&s, q);
                assert_eq!(super::super::quantile(&v, q), want, "{n} {q}");
            }
        }
    }

    #[test]
    fn conservation_holds_on_noisy_power_and_random_requests() {
        let mut rng = crate::simulate::Rng::new(7);
        let power: Vec<f64> = (0..200_000).map(|_| 2.0 + 3.0 * rng.uniform()).collect();
        let reqs: Vec<InFlight> = (0..500)
            .map(|_| {
                let a = 20.0 * rng.uniform();
                flight(a, a + 0.05 * rng.uniform())
            })
            .collect();
        let got = attribute(&power, RATE, 2.4, &reqs);
        assert!(
            got.conservation_error_j() < 1e-9,
            "{}",
            got.conservation_error_j()
        );
        assert!(got.request_j.iter().all(|e| e.is_finite()));
    }
}
