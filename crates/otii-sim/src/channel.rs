//! The channels of an Arc, as the Otii 3 TCP protocol names them.

use std::fmt;
use std::str::FromStr;

/// One measurement channel of an Arc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// `mc`: main current, A.
    MainCurrent,
    /// `mv`: main voltage, V.
    MainVoltage,
    /// `mp`: main power, W.
    MainPower,
    /// `ac`: ADC current, A.
    AdcCurrent,
    /// `av`: ADC voltage, V.
    AdcVoltage,
    /// `ap`: ADC power, W.
    AdcPower,
    /// `sn`: sense- voltage, V.
    SenseMinus,
    /// `sp`: sense+ voltage, V.
    SensePlus,
    /// `vb`: VBUS voltage, V.
    Vbus,
    /// `vj`: DC jack voltage, V.
    DcJack,
    /// `tp`: temperature, °C.
    Temperature,
    /// `rx`: UART log (text).
    Rx,
    /// `i1`: GPI 1 (digital).
    Gpi1,
    /// `i2`: GPI 2 (digital).
    Gpi2,
}

/// Every channel, in protocol-name order of the reference documentation.
pub const ALL_CHANNELS: [Channel; 14] = [
    Channel::MainCurrent,
    Channel::MainVoltage,
    Channel::MainPower,
    Channel::AdcCurrent,
    Channel::AdcVoltage,
    Channel::AdcPower,
    Channel::SenseMinus,
    Channel::SensePlus,
    Channel::Vbus,
    Channel::DcJack,
    Channel::Temperature,
    Channel::Rx,
    Channel::Gpi1,
    Channel::Gpi2,
];

impl Channel {
    /// The protocol's short name (`mc`, `mv`, …).
    pub fn name(self) -> &'static str {
        match self {
            Channel::MainCurrent => "mc",
            Channel::MainVoltage => "mv",
            Channel::MainPower => "mp",
            Channel::AdcCurrent => "ac",
            Channel::AdcVoltage => "av",
            Channel::AdcPower => "ap",
            Channel::SenseMinus => "sn",
            Channel::SensePlus => "sp",
            Channel::Vbus => "vb",
            Channel::DcJack => "vj",
            Channel::Temperature => "tp",
            Channel::Rx => "rx",
            Channel::Gpi1 => "i1",
            Channel::Gpi2 => "i2",
        }
    }

    /// Whether the channel carries sampled values (as opposed to log text or digital edges).
    pub fn is_analog(self) -> bool {
        !matches!(self, Channel::Rx | Channel::Gpi1 | Channel::Gpi2)
    }

    /// The `data_type` the protocol reports for this channel's data.
    pub fn data_type(self) -> &'static str {
        match self {
            Channel::Rx => "log",
            Channel::Gpi1 | Channel::Gpi2 => "digital",
            _ => "analog",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A channel name the protocol does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?} (expected one of mc mv mp ac av ap sn sp vb vj tp rx i1 i2)")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_CHANNELS
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownChannel(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ALL_CHANNELS {
            assert_eq!(c.name().parse::<Channel>(), Ok(c));
        }
        assert!("xx".parse::<Channel>().is_err());
    }
}
