//! The `data` of responses, one type per shape.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::channel::DataType;

/// `{}`: the answer of commands that only act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Done {}

/// `otii_get_devices`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Devices {
    /// The connected devices.
    #[serde(default)]
    pub devices: Vec<Device>,
}

/// A device of `otii_get_devices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// `Arc`, `Ace`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The id every device command takes.
    pub device_id: String,
    /// The user-visible name.
    pub name: String,
    /// otii-sim's `true`: the device is simulated. A real Otii does not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<bool>,
    /// otii-sim's power model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_model: Option<String>,
}

/// `otii_get_device_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceId {
    /// The device's id.
    pub device_id: String,
}

/// `otii_get_active_project`, `otii_create_project`: `-1` when no project is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectId {
    /// The project's id.
    pub project_id: i64,
}

impl ProjectId {
    /// The id of "no project".
    pub const NONE: i64 = -1;

    /// The id, `None` when no project is open.
    pub fn open(self) -> Option<i64> {
        (self.project_id != Self::NONE).then_some(self.project_id)
    }
}

/// `otii_is_logged_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoggedIn {
    /// Whether a user is logged in to the licence server.
    #[serde(default)]
    pub logged_in: bool,
}

/// `otii_get_licenses`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Licenses {
    /// The user's licences.
    #[serde(default)]
    pub licenses: Vec<License>,
}

/// A licence of `otii_get_licenses`. Every field may be missing from what a server sends.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct License {
    /// The id `otii_reserve_license` takes.
    #[serde(default)]
    pub id: Option<i64>,
    /// `Automation`, `Admin`, `All`, `Enterprise`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Whether it can be reserved by this user.
    #[serde(default)]
    pub available: bool,
    /// Who reserved it; empty when free.
    #[serde(default)]
    pub reserved_to: Option<String>,
    /// The machine it is reserved on.
    #[serde(default)]
    pub hostname: Option<String>,
}

impl License {
    /// Licence types that allow automation through the TCP server.
    pub const AUTOMATION_TYPES: [&'static str; 4] = ["Automation", "Admin", "All", "Enterprise"];

    /// Whether it is available and of a type that allows automation.
    pub fn allows_automation(&self) -> bool {
        self.available
            && self
                .kind
                .as_deref()
                .is_some_and(|k| Self::AUTOMATION_TYPES.contains(&k))
    }

    /// Whether someone reserved it (anything but an empty `reserved_to`).
    pub fn is_reserved(&self) -> bool {
        self.reserved_to.as_deref() != Some("")
    }
}

/// `otii_has_license`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HasLicense {
    /// Whether a licence of the type is reserved.
    pub has_license: bool,
}

/// `otii_get_battery_profiles`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatteryProfiles {
    /// The profiles.
    #[serde(default)]
    pub battery_profiles: Vec<Value>,
}

/// `{"value": …}`: the answer of the `arc_get_…` commands that return one value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueOf<T> {
    /// The value.
    pub value: T,
}

/// `arc_get_range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `low` or `high`.
    pub range: String,
}

/// `arc_is_connected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    /// Whether the device is connected.
    pub connected: bool,
}

/// `arc_get_version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Hardware version.
    pub hw_version: String,
    /// Firmware version.
    pub fw_version: String,
}

/// A recording of the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingInfo {
    /// Recording id.
    pub recording_id: i64,
    /// Name (the Otii names recordings after their start time).
    pub name: String,
    /// Start time (RFC 3339), when the server reports it.
    #[serde(
        rename = "start-time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<String>,
}

/// `project_get_last_recording`: a recording, or `{"recording_id": -1}` when there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRecording {
    /// Recording id, [`LastRecording::NONE`] when the project has none.
    pub recording_id: i64,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Start time (RFC 3339).
    #[serde(
        rename = "start-time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<String>,
}

impl LastRecording {
    /// The id of "no recording".
    pub const NONE: i64 = -1;

    /// The answer for `recording`, or for none.
    pub fn of(recording: Option<&RecordingInfo>) -> Self {
        match recording {
            Some(r) => Self {
                recording_id: r.recording_id,
                name: Some(r.name.clone()),
                start_time: r.start_time.clone(),
            },
            None => Self {
                recording_id: Self::NONE,
                name: None,
                start_time: None,
            },
        }
    }

    /// The recording; `Ok(None)` when there is none, `Err` when a recording comes without a
    /// name.
    pub fn into_recording(self) -> Result<Option<RecordingInfo>, String> {
        if self.recording_id == Self::NONE {
            return Ok(None);
        }
        let name = self
            .name
            .ok_or_else(|| format!("recording {} has no name", self.recording_id))?;
        Ok(Some(RecordingInfo {
            recording_id: self.recording_id,
            name,
            start_time: self.start_time,
        }))
    }
}

/// `project_get_recordings`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Recordings {
    /// Every recording, oldest first.
    pub recordings: Vec<RecordingInfo>,
}

/// `recording_get_channel_data_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Values of the channel so far.
    pub count: u64,
}

/// `recording_get_channel_data`. `V` is the values: a `Vec<f64>` read by a client, or any
/// sequence a server streams out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelData<V = Vec<f64>> {
    /// `analog` for sampled channels.
    pub data_type: DataType,
    /// Time of the first value, s (analog channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// Time between values, s (analog channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// The values.
    pub values: V,
}

/// `recording_get_channel_data_index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index of the value at the time asked.
    pub index: u64,
}

/// `recording_get_channel_info`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Offset of the recording, s.
    #[serde(default)]
    pub offset: f64,
    /// Start of the channel's data, s.
    pub from: f64,
    /// End of the channel's data, s.
    pub to: f64,
    /// Samples per second; sent as an integer when it is one, as the Otii does.
    #[serde(serialize_with = "whole_as_integer")]
    pub sample_rate: f64,
}

fn whole_as_integer<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// `recording_get_channel_statistics`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelStatistics {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub average: f64,
    /// Energy over the interval, J (main current channel only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<f64>,
    /// Charge over the interval, C (main current channel only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge: Option<f64>,
}

/// `recording_is_running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    /// Whether it is still recording.
    pub running: bool,
}

/// `recording_get_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Offset {
    /// Offset, s.
    pub offset: f64,
}

/// `project_create_user_log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLogId {
    /// The user log's id, for the `recording_…_user_log…` commands.
    pub id: String,
}

/// The `data_type` of [`UserLogData`].
pub const USER_LOG_DATA_TYPE: &str = "log_data";

/// `recording_get_user_log_data`: one page of entries. Pages count from 1; the official
/// client asks for the next one while `page < pages_total`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserLogData {
    /// [`USER_LOG_DATA_TYPE`].
    pub data_type: String,
    /// This page.
    pub page: u64,
    /// How many pages there are.
    pub pages_total: u64,
    /// The entries, oldest first.
    pub values: Vec<UserLogEntry>,
}

/// One entry of a user log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserLogEntry {
    /// When, s on the recording's timeline (the log's offset applied).
    pub timestamp: f64,
    /// The message.
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    /// `reply` serialises to `wire` and reads back as itself.
    fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(reply: T, wire: Value) {
        assert_eq!(serde_json::to_value(&reply).unwrap(), wire);
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<T>(&text).unwrap(), reply);
    }

    fn recording() -> RecordingInfo {
        RecordingInfo {
            recording_id: 2,
            name: "2026-11-24 19:53:05".into(),
            start_time: Some("2026-11-24T19:53:05.043Z".into()),
        }
    }

    #[test]
    fn every_reply_round_trips_with_its_wire_shape() {
        check(Done {}, json!({}));
        let arc = Device {
            kind: "Arc".into(),
            device_id: "ARC-1".into(),
            name: "Arc".into(),
            simulated: None,
            power_model: None,
        };
        check(
            Devices {
                devices: vec![arc.clone()],
            },
            json!({"devices": [{"type": "Arc", "device_id": "ARC-1", "name": "Arc"}]}),
        );
        check(
            Device {
                simulated: Some(true),
                power_model: Some("cpu".into()),
                ..arc
            },
            json!({"type": "Arc", "device_id": "ARC-1", "name": "Arc", "simulated": true,
                   "power_model": "cpu"}),
        );
        check(
            DeviceId {
                device_id: "ARC-1".into(),
            },
            json!({"device_id": "ARC-1"}),
        );
        check(ProjectId { project_id: 1 }, json!({"project_id": 1}));
        check(LoggedIn { logged_in: true }, json!({"logged_in": true}));
        check(
            Licenses {
                licenses: vec![License {
                    id: Some(1),
                    kind: Some("Automation".into()),
                    available: true,
                    reserved_to: Some(String::new()),
                    hostname: Some(String::new()),
                }],
            },
            json!({"licenses": [{"id": 1, "type": "Automation", "available": true,
                                 "reserved_to": "", "hostname": ""}]}),
        );
        check(
            HasLicense { has_license: false },
            json!({"has_license": false}),
        );
        check(
            BatteryProfiles {
                battery_profiles: vec![],
            },
            json!({"battery_profiles": []}),
        );
        check(ValueOf { value: 10_000u32 }, json!({"value": 10_000}));
        check(ValueOf { value: true }, json!({"value": true}));
        check(ValueOf { value: 5.0 }, json!({"value": 5.0}));
        check(
            Range {
                range: "high".into(),
            },
            json!({"range": "high"}),
        );
        check(Connected { connected: true }, json!({"connected": true}));
        check(
            Version {
                hw_version: "h".into(),
                fw_version: "f".into(),
            },
            json!({"hw_version": "h", "fw_version": "f"}),
        );
        check(
            recording(),
            json!({"recording_id": 2, "name": "2026-11-24 19:53:05",
                   "start-time": "2026-11-24T19:53:05.043Z"}),
        );
        check(
            Recordings {
                recordings: vec![recording()],
            },
            json!({"recordings": [serde_json::to_value(recording()).unwrap()]}),
        );
        check(Count { count: 7 }, json!({"count": 7}));
        check(
            ChannelData {
                data_type: DataType::Analog,
                timestamp: Some(4.0),
                interval: Some(0.0001),
                values: vec![1.5, 2.0],
            },
            json!({"data_type": "analog", "timestamp": 4.0, "interval": 0.0001,
                   "values": [1.5, 2.0]}),
        );
        check(
            ChannelData::<Vec<f64>> {
                data_type: DataType::Log,
                timestamp: None,
                interval: None,
                values: vec![],
            },
            json!({"data_type": "log", "values": []}),
        );
        check(Index { index: 9 }, json!({"index": 9}));
        check(
            ChannelInfo {
                offset: 0.0,
                from: 0.0,
                to: 4.5,
                sample_rate: 10_000.0,
            },
            json!({"offset": 0.0, "from": 0.0, "to": 4.5, "sample_rate": 10_000}),
        );
        check(
            ChannelStatistics {
                min: 1.0,
                max: 2.0,
                average: 1.5,
                energy: Some(6.0),
                charge: Some(1.2),
            },
            json!({"min": 1.0, "max": 2.0, "average": 1.5, "energy": 6.0, "charge": 1.2}),
        );
        check(
            ChannelStatistics {
                min: 1.0,
                max: 2.0,
                average: 1.5,
                energy: None,
                charge: None,
            },
            json!({"min": 1.0, "max": 2.0, "average": 1.5}),
        );
        check(Running { running: false }, json!({"running": false}));
        check(UserLogId { id: "load".into() }, json!({"id": "load"}));
        check(
            UserLogData {
                data_type: USER_LOG_DATA_TYPE.into(),
                page: 1,
                pages_total: 3,
                values: vec![UserLogEntry {
                    timestamp: 0.113,
                    value: "Connecting...".into(),
                }],
            },
            json!({"data_type": "log_data", "page": 1, "pages_total": 3,
                   "values": [{"timestamp": 0.113, "value": "Connecting..."}]}),
        );
        check(Offset { offset: 0.25 }, json!({"offset": 0.25}));
    }

    #[test]
    fn last_recording_says_none_with_minus_one() {
        check(LastRecording::of(None), json!({"recording_id": -1}));
        assert_eq!(LastRecording::of(None).into_recording(), Ok(None));
        let r = recording();
        let last = LastRecording::of(Some(&r));
        check(last.clone(), serde_json::to_value(&r).unwrap());
        assert_eq!(last.into_recording(), Ok(Some(r)));
        let nameless: LastRecording = serde_json::from_str(r#"{"recording_id": 4}"#).unwrap();
        assert!(nameless.into_recording().is_err());
    }

    #[test]
    fn project_and_licence_rules() {
        assert_eq!(ProjectId { project_id: -1 }.open(), None);
        assert_eq!(ProjectId { project_id: 2 }.open(), Some(2));
        let l: License =
            serde_json::from_str(r#"{"id":1,"type":"Admin","available":true,"reserved_to":""}"#)
                .unwrap();
        assert!(l.allows_automation() && !l.is_reserved());
        let l: License =
            serde_json::from_str(r#"{"id":1,"type":"Basic","available":true}"#).unwrap();
        assert!(!l.allows_automation() && l.is_reserved());
    }

    #[test]
    fn a_fractional_sample_rate_stays_a_float() {
        let info = ChannelInfo {
            offset: 0.0,
            from: 0.0,
            to: 1.0,
            sample_rate: 0.5,
        };
        assert_eq!(
            serde_json::to_value(info).unwrap()["sample_rate"],
            json!(0.5)
        );
    }
}
