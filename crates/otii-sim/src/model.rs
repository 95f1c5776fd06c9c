//! Power models: how the simulated Arc's samples are made.
//!
//! Nothing here is measured. A recording's samples are a pure function of its *load* (a number
//! ≥ 0 over time: in `[0, 1]` for the synthetic model, CPUs used ÷ `busy_cpus` for the cpu
//! model) and a seed, evaluated lazily when a client asks for them, so a 150 s recording at
//! 50 kHz costs no memory beyond its load timeline.
//!
//! Per sample `i` at `t = i / rate`, the power `P*` is one of two laws:
//!
//! - **synthetic** load: `P* = idle + (busy − idle)·load(t) + noise`, a Pi-like trace between
//!   the idle and the busy power;
//! - **cpu** load (a measured timeline, [`Load::Timeline`]): `P* = busy·load(t) + noise·min(load, 1)`,
//!   where `load` is the CPUs the followed process tree used (÷ `busy_cpus`). Energy then
//!   follows the CPU *work*: every CPU-second of the tree costs `busy / busy_cpus` joules (the
//!   draw of the study's one-core Pi B+ for one second at full load, its idle draw included),
//!   and a second in which the tree does not run costs nothing. Waiting (for a CPU taken by
//!   other programs on this machine, for the clients) stretches the wall time of a run but
//!   adds no energy, as it would not on a Pi that is busy serving. See `docs/method.md`,
//!   "The demo's power model".
//!
//! Then `V = supply − sag·load(t) + noise`, `I = f32(P* / V)`, and the power channel is
//! `f32(I · V)`, so `mp = mc × mv` holds sample by sample at f32 precision, as on an Arc (which
//! reports single-precision values).

use std::sync::{Arc, RwLock};

use otii_protocol::Channel;

/// The electrical parameters of a model, in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerParams {
    /// Power at zero load, W (the study's Pi idled at about 1.13 W).
    pub idle_w: f64,
    /// Power at full load, W (the study's Pi peaked at about 1.7 W).
    pub busy_w: f64,
    /// Supply voltage of the main output, V.
    pub supply_v: f64,
    /// Standard deviation of the power noise, W.
    pub noise_w: f64,
    /// Standard deviation of the voltage noise, V.
    pub noise_v: f64,
    /// Voltage drop at full load, V (cable and regulator sag).
    pub sag_v: f64,
}

impl Default for PowerParams {
    fn default() -> Self {
        Self {
            idle_w: 1.13,
            busy_w: 1.70,
            supply_v: 5.0,
            noise_w: 0.012,
            noise_v: 0.0006,
            sag_v: 0.0025,
        }
    }
}

/// A load timeline sampled at a fixed rate, filled while a recording runs.
#[derive(Debug)]
pub struct Timeline {
    /// Load values per second.
    pub hz: f64,
    values: RwLock<Vec<f32>>,
}

impl Timeline {
    /// An empty timeline of `hz` values per second.
    pub fn new(hz: f64) -> Self {
        Self {
            hz,
            values: RwLock::new(Vec::new()),
        }
    }

    /// Appends `n` copies of `load` (a sampler that fell behind fills the slots it missed).
    pub fn push(&self, load: f32, n: usize) {
        if let Ok(mut v) = self.values.write() {
            v.extend(std::iter::repeat_n(load, n));
        }
    }

    /// Number of load values so far.
    pub fn len(&self) -> usize {
        self.values.read().map(|v| v.len()).unwrap_or(0)
    }

    /// Whether no load value was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mean load so far (for the log line at the end of a recording).
    pub fn mean(&self) -> f64 {
        match self.values.read() {
            Ok(v) if !v.is_empty() => v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64,
            _ => 0.0,
        }
    }
}

/// Where a recording's load comes from.
#[derive(Debug, Clone)]
pub enum Load {
    /// Deterministic bursts for a seed: ~40 % of 2 s episodes are busy, with a level drawn per
    /// 50 ms slot.
    Synthetic {
        /// Seed of the burst pattern.
        seed: u64,
    },
    /// A measured CPU-load timeline, linearly interpolated; power follows the CPU work
    /// ([`work_power`]).
    Timeline(Arc<Timeline>),
    /// The main output is off: no current flows.
    Off,
}

/// Everything needed to compute any sample of one recording.
#[derive(Debug, Clone)]
pub struct Signal {
    /// The load over time.
    pub load: Load,
    /// The electrical parameters.
    pub params: PowerParams,
    /// Seed of the per-sample noise.
    pub noise_seed: u64,
}

/// The three main-channel values of one sample, as an Arc would report them (f32).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MainSample {
    /// Current, A.
    pub current_a: f32,
    /// Voltage, V.
    pub voltage_v: f32,
    /// Power, W: `current_a × voltage_v` rounded to f32.
    pub power_w: f32,
}

impl Signal {
    /// The main-channel sample `index` at `rate_hz` samples per second.
    pub fn main_sample<L: Fn(f64) -> f64 + ?Sized>(
        &self,
        index: u64,
        rate_hz: f64,
        load: &L,
    ) -> MainSample {
        let t = index as f64 / rate_hz;
        let p = &self.params;
        if matches!(self.load, Load::Off) {
            let v = (p.noise_v * gauss(self.noise_seed, 2, index)) as f32;
            return MainSample {
                current_a: 0.0,
                voltage_v: v,
                power_w: 0.0,
            };
        }
        let l = load(t);
        let noise = p.noise_w * gauss(self.noise_seed, 1, index);
        let power = match self.load {
            Load::Timeline(_) => work_power(p, l) + noise * l.min(1.0),
            _ => p.idle_w + (p.busy_w - p.idle_w) * l + noise,
        };
        let volts = p.supply_v - p.sag_v * l + p.noise_v * gauss(self.noise_seed, 2, index);
        let v32 = volts as f32;
        let c32 = (power / f64::from(v32)) as f32;
        MainSample {
            current_a: c32,
            voltage_v: v32,
            power_w: c32 * v32,
        }
    }

    /// Calls `f(value)` for samples `start..start + count` of `channel` at `rate_hz`.
    ///
    /// Analog channels only; the caller checks.
    pub fn for_each(
        &self,
        channel: Channel,
        rate_hz: f64,
        start: u64,
        count: u64,
        mut f: impl FnMut(f64),
    ) {
        match &self.load {
            Load::Timeline(tl) => {
                let guard = tl.values.read();
                let values: &[f32] = match &guard {
                    Ok(v) => v,
                    Err(_) => &[],
                };
                let hz = tl.hz;
                let load = |t: f64| interpolate(values, t * hz);
                self.each_with(channel, rate_hz, start, count, &load, &mut f);
            }
            Load::Synthetic { seed } => {
                let seed = *seed;
                let load = move |t: f64| synthetic_load(seed, t);
                self.each_with(channel, rate_hz, start, count, &load, &mut f);
            }
            Load::Off => self.each_with(channel, rate_hz, start, count, &|_| 0.0, &mut f),
        }
    }

    /// Generic over the load, so it is inlined into the per-sample loop.
    fn each_with<L: Fn(f64) -> f64>(
        &self,
        channel: Channel,
        rate_hz: f64,
        start: u64,
        count: u64,
        load: &L,
        f: &mut impl FnMut(f64),
    ) {
        for i in start..start + count {
            let value = match channel {
                Channel::MainCurrent => f64::from(self.main_sample(i, rate_hz, load).current_a),
                Channel::MainVoltage => f64::from(self.main_sample(i, rate_hz, load).voltage_v),
                Channel::MainPower => f64::from(self.main_sample(i, rate_hz, load).power_w),
                Channel::SensePlus | Channel::SenseMinus => {
                    f64::from(self.main_sample(i, rate_hz, load).voltage_v)
                }
                Channel::Vbus => f64::from((5.1 + 0.002 * gauss(self.noise_seed, 3, i)) as f32),
                Channel::Temperature => {
                    let t = i as f64 / rate_hz;
                    f64::from((31.0 + 2.0 * load(t)) as f32)
                }
                _ => 0.0,
            };
            f(value);
        }
    }
}

/// The cpu model's noise-free power at `load` (CPUs used by the followed tree ÷ `busy_cpus`):
/// `busy_w × load`, so the energy of a recording is `busy_w` × the tree's CPU-seconds ÷
/// `busy_cpus`, however long the wall clock ran. Negative loads (none are recorded) count as 0.
pub fn work_power(params: &PowerParams, load: f64) -> f64 {
    params.busy_w * load.max(0.0)
}

/// The synthetic model's load at `t` seconds for `seed`: bursts, not a measurement.
pub fn synthetic_load(seed: u64, t: f64) -> f64 {
    let episode = (t / 2.0).floor().max(0.0) as u64;
    let slot = (t / 0.05).floor().max(0.0) as u64;
    if unit(seed, 10, episode) < 0.4 {
        0.3 + 0.7 * unit(seed, 11, slot)
    } else {
        0.04 * unit(seed, 12, slot)
    }
}

fn interpolate(values: &[f32], x: f64) -> f64 {
    match values.len() {
        0 => 0.0,
        n => {
            let x = x.max(0.0);
            let k = x.floor() as usize;
            if k + 1 >= n {
                return f64::from(values[n - 1]);
            }
            let frac = x - k as f64;
            f64::from(values[k]) * (1.0 - frac) + f64::from(values[k + 1]) * frac
        }
    }
}

/// SplitMix64's finaliser over three words: a fast, well-mixed hash for per-sample noise.
fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)`.
fn unit(seed: u64, stream: u64, index: u64) -> f64 {
    (mix(seed, stream, index) >> 11) as f64 / (1u64 << 53) as f64
}

/// Zero-mean, unit-variance noise (triangular: the sum of two uniforms, scaled).
fn gauss(seed: u64, stream: u64, index: u64) -> f64 {
    let h = mix(seed, stream, index);
    let a = (h >> 32) as f64 / 4_294_967_296.0;
    let b = (h & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
    (a + b - 1.0) * 6f64.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(load: Load) -> Signal {
        Signal {
            load,
            params: PowerParams::default(),
            noise_seed: 7,
        }
    }

    #[test]
    fn power_is_current_times_voltage_per_sample() {
        let s = signal(Load::Synthetic { seed: 1 });
        let (mut c, mut v, mut p) = (vec![], vec![], vec![]);
        s.for_each(Channel::MainCurrent, 10_000.0, 5, 1000, |x| c.push(x));
        s.for_each(Channel::MainVoltage, 10_000.0, 5, 1000, |x| v.push(x));
        s.for_each(Channel::MainPower, 10_000.0, 5, 1000, |x| p.push(x));
        for i in 0..1000 {
            assert_eq!(p[i], f64::from(c[i] as f32 * v[i] as f32));
            assert!(
                p[i] > 1.0 && p[i] < 1.85,
                "power {} out of the study's range",
                p[i]
            );
            assert!(v[i] > 4.99 && v[i] < 5.01);
        }
    }

    #[test]
    fn synthetic_is_deterministic_per_seed_and_bursty() {
        let a = signal(Load::Synthetic { seed: 3 });
        let mut x = vec![];
        let mut y = vec![];
        a.for_each(Channel::MainPower, 1000.0, 0, 60_000, |v| x.push(v));
        a.for_each(Channel::MainPower, 1000.0, 0, 60_000, |v| y.push(v));
        assert_eq!(x, y);
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let max = x.iter().copied().fold(f64::MIN, f64::max);
        let min = x.iter().copied().fold(f64::MAX, f64::min);
        assert!(mean > 1.15 && mean < 1.5, "mean {mean}");
        assert!(max > 1.6 && min < 1.15, "min {min} max {max}");
        let b = signal(Load::Synthetic { seed: 4 });
        let mut z = vec![];
        b.for_each(Channel::MainPower, 1000.0, 0, 60_000, |v| z.push(v));
        assert_ne!(x, z);
    }

    #[test]
    fn timeline_load_is_interpolated() {
        let tl = Arc::new(Timeline::new(100.0));
        tl.push(0.0, 1);
        tl.push(1.0, 1);
        let s = Signal {
            load: Load::Timeline(tl),
            params: PowerParams {
                noise_w: 0.0,
                noise_v: 0.0,
                ..PowerParams::default()
            },
            noise_seed: 0,
        };
        let mut p = vec![];
        // 1 kHz: samples 0, 5 and 10 are at loads 0, 0.5 and 1; the cpu law is busy × load.
        s.for_each(Channel::MainPower, 1000.0, 0, 11, |v| p.push(v));
        assert!((p[0] - 0.0).abs() < 1e-5);
        assert!((p[5] - 0.85).abs() < 1e-5);
        assert!((p[10] - 1.70).abs() < 1e-5);
    }

    /// Σ P·Δt over a recording of a known CPU trace.
    fn trace_energy(values: &[(f32, usize)], hz: f64, rate: f64, noise: bool) -> f64 {
        let tl = Arc::new(Timeline::new(hz));
        for &(load, n) in values {
            tl.push(load, n);
        }
        let params = if noise {
            PowerParams::default()
        } else {
            PowerParams {
                noise_w: 0.0,
                noise_v: 0.0,
                ..PowerParams::default()
            }
        };
        let s = Signal {
            load: Load::Timeline(tl.clone()),
            params,
            noise_seed: 11,
        };
        let count = (tl.len() as f64 / hz * rate).round() as u64;
        let mut e = 0.0;
        s.for_each(Channel::MainPower, rate, 0, count, |p| e += p / rate);
        e
    }

    #[test]
    fn cpu_energy_is_busy_power_times_cpu_seconds() {
        // 2 s of one whole CPU, then 3 s idle, then 1 s of two CPUs (both gunicorn workers),
        // sampled at 200 Hz: 2 + 2 = 4 CPU-seconds → 4 × 1.70 W = 6.8 J, whatever the 3 idle s.
        let trace = [(1.0, 400), (0.0, 600), (2.0, 200)];
        let e = trace_energy(&trace, 200.0, 10_000.0, false);
        // The linear interpolation between the last value of one phase and the first of the
        // next moves at most half a slot of a CPU per edge: 2 edges × 0.5/200 s × 1.7 W.
        assert!((e - 6.8).abs() < 0.01, "energy {e} J, expected 6.8 J");
        // The same work spread over a longer wall time (the tree waited for a CPU half the
        // time) costs the same energy: waiting adds nothing.
        let stretched = [(0.5, 800), (0.0, 600), (1.0, 400)];
        let e2 = trace_energy(&stretched, 200.0, 10_000.0, false);
        assert!((e2 - 6.8).abs() < 0.01, "stretched: {e2} J, expected 6.8 J");
        // An idle tree draws nothing; the noise is zero-mean and scaled by the load.
        assert_eq!(trace_energy(&[(0.0, 1000)], 200.0, 1000.0, true), 0.0);
        let noisy = trace_energy(&trace, 200.0, 10_000.0, true);
        assert!((noisy - 6.8).abs() < 0.01, "with noise: {noisy} J");
    }

    #[test]
    fn synthetic_law_is_unchanged() {
        let p = PowerParams::default();
        assert!((work_power(&p, 0.5) - 0.85).abs() < 1e-12);
        assert_eq!(work_power(&p, -0.1), 0.0);
        let s = Signal {
            load: Load::Synthetic { seed: 5 },
            params: PowerParams {
                noise_w: 0.0,
                noise_v: 0.0,
                ..p
            },
            noise_seed: 0,
        };
        let mut x = vec![];
        s.for_each(Channel::MainPower, 1000.0, 0, 4000, |v| x.push(v));
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for (i, v) in x.iter().enumerate() {
            let l = synthetic_load(5, i as f64 / 1000.0);
            let want = 1.13 + 0.57 * l;
            assert!((v - want).abs() < 1e-5, "sample {i}: {v} W, want {want}");
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        assert!(lo >= 1.13 - 1e-5 && hi <= 1.70 + 1e-5);
    }

    #[test]
    fn noise_has_unit_variance() {
        let n = 200_000u64;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let g = gauss(9, 1, i);
            s += g;
            s2 += g * g;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "mean {mean} var {var}"
        );
    }
}
