//! The channels of an Arc, as the Otii 3 TCP protocol names them: the one channel table.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One measurement channel of an Arc. On the wire it is its short name (`"mc"`, `"mv"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
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

/// What a channel's data requests return (`data_type` of `recording_get_channel_data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Sampled values at the channel's rate.
    Analog,
    /// Log text (the UART channel).
    Log,
    /// Edges of a digital input.
    Digital,
}

impl DataType {
    /// The protocol's name (`analog`, `log`, `digital`).
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Analog => "analog",
            DataType::Log => "log",
            DataType::Digital => "digital",
        }
    }
}

/// Everything the protocol says about one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The short name on the wire.
    pub name: &'static str,
    /// What it measures, in words.
    pub description: &'static str,
    /// The unit of its values (`A`, `V`, `W`, `°C`); none for log text and digital edges.
    pub unit: Option<&'static str>,
    /// The kind of data it returns.
    pub data_type: DataType,
}

const fn spec(
    name: &'static str,
    description: &'static str,
    unit: Option<&'static str>,
    data_type: DataType,
) -> ChannelSpec {
    ChannelSpec {
        name,
        description,
        unit,
        data_type,
    }
}

/// Every channel, in the order of the protocol's reference documentation.
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

/// The main channels the study records, in its CSV column order (current, voltage, power).
pub const MAIN_CHANNELS: [Channel; 3] = [
    Channel::MainCurrent,
    Channel::MainVoltage,
    Channel::MainPower,
];

impl Channel {
    /// The channel table: name, description, unit and data type of every channel.
    pub const fn spec(self) -> ChannelSpec {
        use DataType::{Analog, Digital, Log};
        match self {
            Channel::MainCurrent => spec("mc", "main current", Some("A"), Analog),
            Channel::MainVoltage => spec("mv", "main voltage", Some("V"), Analog),
            Channel::MainPower => spec("mp", "main power", Some("W"), Analog),
            Channel::AdcCurrent => spec("ac", "ADC current", Some("A"), Analog),
            Channel::AdcVoltage => spec("av", "ADC voltage", Some("V"), Analog),
            Channel::AdcPower => spec("ap", "ADC power", Some("W"), Analog),
            Channel::SenseMinus => spec("sn", "sense- voltage", Some("V"), Analog),
            Channel::SensePlus => spec("sp", "sense+ voltage", Some("V"), Analog),
            Channel::Vbus => spec("vb", "VBUS voltage", Some("V"), Analog),
            Channel::DcJack => spec("vj", "DC jack voltage", Some("V"), Analog),
            Channel::Temperature => spec("tp", "temperature", Some("°C"), Analog),
            Channel::Rx => spec("rx", "UART log", None, Log),
            Channel::Gpi1 => spec("i1", "GPI 1", None, Digital),
            Channel::Gpi2 => spec("i2", "GPI 2", None, Digital),
        }
    }

    /// The protocol's short name (`mc`, `mv`, …).
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The unit of its values, if it has one.
    pub const fn unit(self) -> Option<&'static str> {
        self.spec().unit
    }

    /// The `data_type` the protocol reports for this channel's data.
    pub const fn data_type(self) -> DataType {
        self.spec().data_type
    }

    /// Whether the channel carries sampled values (as opposed to log text or digital edges).
    pub fn is_analog(self) -> bool {
        self.data_type() == DataType::Analog
    }

    /// The analog channels, the ones whose samples can be downloaded as numbers.
    pub fn analog() -> impl Iterator<Item = Channel> {
        ALL_CHANNELS.into_iter().filter(|c| c.is_analog())
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Channel> for &'static str {
    fn from(c: Channel) -> &'static str {
        c.name()
    }
}

/// The names of `channels`, space-separated, for messages that list what is accepted.
pub fn names(channels: impl IntoIterator<Item = Channel>) -> String {
    channels
        .into_iter()
        .map(Channel::name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A channel name the protocol does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownChannel(pub String);

impl fmt::Display for UnknownChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown channel {:?} (expected one of {})",
            self.0,
            names(ALL_CHANNELS)
        )
    }
}

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

impl TryFrom<String> for Channel {
    type Error = UnknownChannel;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
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

    #[test]
    fn names_are_the_protocols_and_unique() {
        assert_eq!(
            names(ALL_CHANNELS),
            "mc mv mp ac av ap sn sp vb vj tp rx i1 i2"
        );
        assert_eq!(names(Channel::analog()), "mc mv mp ac av ap sn sp vb vj tp");
        let mut seen: Vec<&str> = ALL_CHANNELS.iter().map(|c| c.name()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), ALL_CHANNELS.len());
    }

    #[test]
    fn units_and_data_types() {
        assert_eq!(Channel::MainCurrent.unit(), Some("A"));
        assert_eq!(Channel::MainVoltage.unit(), Some("V"));
        assert_eq!(Channel::MainPower.unit(), Some("W"));
        assert_eq!(Channel::Temperature.unit(), Some("°C"));
        assert_eq!(Channel::Rx.data_type(), DataType::Log);
        assert_eq!(Channel::Gpi2.data_type().as_str(), "digital");
        for c in ALL_CHANNELS {
            assert_eq!(c.is_analog(), c.unit().is_some(), "{c}");
        }
    }

    #[test]
    fn serde_uses_the_wire_name() {
        assert_eq!(
            serde_json::to_string(&Channel::MainPower).unwrap(),
            "\"mp\""
        );
        for c in ALL_CHANNELS {
            let text = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Channel>(&text).unwrap(), c);
        }
        let e = serde_json::from_str::<Channel>("\"zz\"").unwrap_err();
        assert!(e.to_string().contains("unknown channel \"zz\""), "{e}");
        assert_eq!(
            serde_json::to_string(&DataType::Analog).unwrap(),
            "\"analog\""
        );
    }
}
