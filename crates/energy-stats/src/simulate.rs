//! Simulated energies with a known answer, for the coverage tests of the intervals and of the
//! stopping rule (`coverage.rs`, `tests/stopping.rs`): a reproducible generator and the two
//! shapes energy data takes, from a fixed seed.

/// A reproducible generator (SplitMix64) with normal draws (Box–Muller).
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A uniform draw in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// A standard normal draw.
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The shape of the simulated energies.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Normal with this coefficient of variation.
    Normal(f64),
    /// Lognormal with this σ of the logarithm (skewed to the right).
    LogNormal(f64),
}

impl Shape {
    /// One run of a group whose mean energy is `100 · scale`.
    pub fn draw(self, rng: &mut Rng, scale: f64) -> f64 {
        match self {
            Shape::Normal(cv) => scale * 100.0 * (1.0 + cv * rng.normal()),
            // Mean 100·scale: exp(μ + σ²/2) = 100·scale.
            Shape::LogNormal(s) => scale * 100.0 * (s * rng.normal() - s * s / 2.0).exp(),
        }
    }
}
