//! A validated command line: what `otii-capture` is asked to do, checked before it connects.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use otii_protocol::{names, Channel, SampleRateOutOfRange};

use crate::download::Fetch;
use crate::record::{RecordPlan, RunLabel, Which};
use crate::trace::XzSettings;

/// What `otii-capture` does, once connected.
#[derive(Debug)]
pub struct Config {
    /// The Otii TCP server (or otii-sim), `HOST:PORT`.
    pub addr: String,
    /// How long to keep trying to connect.
    pub connect_timeout: Duration,
    /// The subcommand.
    pub action: Action,
}

/// A subcommand with its validated arguments.
#[derive(Debug)]
pub enum Action {
    /// List the devices, one JSON object per line.
    Devices,
    /// Enable channels on the first device at a rate.
    Configure {
        /// The channels (analog).
        channels: Vec<Channel>,
        /// Samples per second.
        rate: u32,
    },
    /// Record one run.
    Record {
        /// The run.
        plan: RecordPlan,
        /// Print where the time went.
        timings: bool,
    },
    /// Download an existing recording again.
    Fetch {
        /// Which recording.
        which: Which,
        /// How to label its record.
        label: RunLabel,
        /// The scenario time, when known.
        duration_s: Option<f64>,
        /// What to download.
        fetch: Fetch,
        /// Print where the time went.
        timings: bool,
    },
}

/// A command-line value out of range; each message names the option.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `--channels` is empty.
    #[error("--channels: give at least one channel")]
    NoChannels,
    /// `--channels` names something that is not an analog channel.
    #[error("--channels: {0:?} is not an analog channel ({analog})", analog = names(Channel::analog()))]
    NotAnalog(String),
    /// `--rate` outside what an Arc samples at.
    #[error("--rate {0}")]
    Rate(#[from] SampleRateOutOfRange),
    /// `--xz-preset` above 9.
    #[error("--xz-preset {0}: expected 0 to 9")]
    XzPreset(u32),
    /// `--chunk` 0 or too large.
    #[error("--chunk {0}: expected 1 to 1000000")]
    Chunk(u64),
    /// `--connect-timeout` negative or not a number.
    #[error("--connect-timeout {0}: expected seconds ≥ 0")]
    ConnectTimeout(f64),
    /// `--recording` neither `last` nor an id.
    #[error("--recording {0:?}: expected `last` or a recording id")]
    Recording(String),
    /// `--duration-s` negative or not finite.
    #[error("--duration-s {0}: expected seconds ≥ 0")]
    Duration(f64),
}

/// The analog channels `names` name, in order.
pub fn analog_channels(names: &[String]) -> Result<Vec<Channel>, ConfigError> {
    if names.is_empty() {
        return Err(ConfigError::NoChannels);
    }
    names
        .iter()
        .map(|n| {
            n.parse::<Channel>()
                .ok()
                .filter(|c| c.is_analog())
                .ok_or_else(|| ConfigError::NotAnalog(n.clone()))
        })
        .collect()
}

/// `hz` as a sample rate an Arc accepts.
pub fn sample_rate(hz: u32) -> Result<u32, ConfigError> {
    Ok(otii_protocol::sample_rate(i64::from(hz))?)
}

/// A connect timeout of `seconds`.
pub fn connect_timeout(seconds: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(seconds).map_err(|_| ConfigError::ConnectTimeout(seconds))
}

/// A scenario time given by hand.
pub fn duration_s(seconds: Option<f64>) -> Result<Option<f64>, ConfigError> {
    match seconds {
        Some(d) if !(d.is_finite() && d >= 0.0) => Err(ConfigError::Duration(d)),
        other => Ok(other),
    }
}

impl Fetch {
    /// What to download: `channels` (analog) into `out_dir`, `chunk` values per request, xz at
    /// `preset` on `threads` threads (0: the default, one per CPU up to 4).
    pub fn new(
        channels: &[String],
        out_dir: PathBuf,
        chunk: u64,
        preset: u32,
        threads: u32,
    ) -> Result<Fetch, ConfigError> {
        let channels = analog_channels(channels)?;
        if preset > 9 {
            return Err(ConfigError::XzPreset(preset));
        }
        if chunk == 0 || chunk > 1_000_000 {
            return Err(ConfigError::Chunk(chunk));
        }
        let mut xz = XzSettings {
            preset,
            ..XzSettings::default()
        };
        if threads > 0 {
            xz.threads = threads;
        }
        Ok(Fetch {
            channels,
            out_dir,
            chunk,
            xz,
        })
    }
}

impl FromStr for Which {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "last" => Ok(Which::Last),
            id => id
                .parse()
                .map(Which::Id)
                .map_err(|_| ConfigError::Recording(id.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn channels_must_be_analog_and_given() {
        assert_eq!(
            analog_channels(&strings(&["mc", "vb"])),
            Ok(vec![Channel::MainCurrent, Channel::Vbus])
        );
        assert_eq!(analog_channels(&[]), Err(ConfigError::NoChannels));
        for bad in ["zz", "rx", "i1"] {
            let e = analog_channels(&strings(&["mc", bad])).unwrap_err();
            assert_eq!(e, ConfigError::NotAnalog(bad.into()));
        }
        assert_eq!(
            ConfigError::NotAnalog("rx".into()).to_string(),
            "--channels: \"rx\" is not an analog channel (mc mv mp ac av ap sn sp vb vj tp)"
        );
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(sample_rate(10_000), Ok(10_000));
        assert!(sample_rate(60_000).is_err());
        assert!(connect_timeout(-1.0).is_err());
        assert!(duration_s(Some(f64::NAN)).is_err());
        assert_eq!(duration_s(None), Ok(None));
        let fetch = |chunk, preset| Fetch::new(&strings(&["mp"]), "x".into(), chunk, preset, 0);
        assert_eq!(fetch(0, 1).unwrap_err(), ConfigError::Chunk(0));
        assert_eq!(fetch(40_000, 10).unwrap_err(), ConfigError::XzPreset(10));
        assert!(fetch(40_000, 1).is_ok());
        assert_eq!("last".parse::<Which>(), Ok(Which::Last));
        assert_eq!("3".parse::<Which>(), Ok(Which::Id(3)));
        assert!("first".parse::<Which>().is_err());
    }
}
