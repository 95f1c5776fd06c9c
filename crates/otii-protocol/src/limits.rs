//! The protocol's numbers: where the server listens, how fast an Arc samples, how long a
//! request may be.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::RangeInclusive;

/// The TCP port of the Otii 3 application's automation server (its default, and otii-sim's).
pub const DEFAULT_PORT: u16 = 1905;

/// Where a client looks for the server by default, and where otii-sim listens by default: the
/// loopback address on [`DEFAULT_PORT`].
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_PORT));

/// Sample rates an Arc accepts for a channel, per second (`arc_set_channel_samplerate`).
pub const SAMPLE_RATE_HZ: RangeInclusive<u32> = 1..=50_000;

/// Requests longer than this many bytes (terminator included) are refused with
/// `Request too large` instead of being buffered.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// A sample rate outside [`SAMPLE_RATE_HZ`]. Its message reads after the name of what was
/// given (`--rate 60000 out of range: …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct SampleRateOutOfRange(pub i64);

impl fmt::Display for SampleRateOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} out of range: the Arc samples at {} to {} per second",
            self.0,
            SAMPLE_RATE_HZ.start(),
            SAMPLE_RATE_HZ.end()
        )
    }
}

/// `hz` as a sample rate an Arc accepts.
pub fn sample_rate(hz: i64) -> Result<u32, SampleRateOutOfRange> {
    u32::try_from(hz)
        .ok()
        .filter(|r| SAMPLE_RATE_HZ.contains(r))
        .ok_or(SampleRateOutOfRange(hz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_address_is_loopback_on_the_otii_port() {
        assert_eq!(
            DEFAULT_ADDR.to_string(),
            format!("127.0.0.1:{DEFAULT_PORT}")
        );
        assert!(DEFAULT_ADDR.ip().is_loopback());
    }

    #[test]
    fn sample_rates_are_checked_at_both_ends() {
        assert_eq!(sample_rate(1), Ok(1));
        assert_eq!(sample_rate(50_000), Ok(50_000));
        assert_eq!(sample_rate(10_000), Ok(10_000));
        for bad in [0, -1, 50_001, 100_000, i64::MAX] {
            assert_eq!(sample_rate(bad), Err(SampleRateOutOfRange(bad)));
        }
        assert_eq!(
            format!("--rate {}", SampleRateOutOfRange(60_000)),
            "--rate 60000 out of range: the Arc samples at 1 to 50000 per second"
        );
    }
}
