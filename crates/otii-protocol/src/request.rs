//! The `data` of the requests a client makes, each tied to its command and its answer.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::command::Command;
use crate::reply::{
    ChannelData, ChannelInfo, ChannelStatistics, Count, Devices, Done, LastRecording, Licenses,
    LoggedIn, ProjectId, Recordings, UserLogData, UserLogId, ValueOf,
};

/// A request's `data` that knows its command and the `data` of its answer.
pub trait Call: Serialize {
    /// The command this is the data of.
    const COMMAND: Command;
    /// The answer's `data`.
    type Reply: DeserializeOwned;
}

macro_rules! call {
    ($ty:ty => $cmd:ident, $reply:ty) => {
        impl Call for $ty {
            const COMMAND: Command = Command::$cmd;
            type Reply = $reply;
        }
    };
}

/// `{}`, the data of commands without arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoArgs {}

/// `otii_get_devices`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GetDevices {
    /// How long the application may look for devices, s.
    pub timeout: f64,
}
call!(GetDevices => OtiiGetDevices, Devices);

/// `otii_get_active_project`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GetActiveProject {}
call!(GetActiveProject => OtiiGetActiveProject, ProjectId);

/// `otii_is_logged_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IsLoggedIn {}
call!(IsLoggedIn => OtiiIsLoggedIn, LoggedIn);

/// `otii_login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// The Qoitech account.
    pub username: String,
    /// Its password.
    pub password: String,
}
call!(Login => OtiiLogin, Done);

/// `otii_get_licenses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GetLicenses {}
call!(GetLicenses => OtiiGetLicenses, Licenses);

/// `otii_reserve_license`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveLicense {
    /// The licence.
    pub license_id: i64,
}
call!(ReserveLicense => OtiiReserveLicense, Done);

/// `otii_return_license`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLicense {
    /// The licence.
    pub license_id: i64,
}
call!(ReturnLicense => OtiiReturnLicense, Done);

/// `arc_enable_channel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnableChannel {
    /// The device.
    pub device_id: String,
    /// The channel.
    pub channel: Channel,
    /// On or off.
    pub enable: bool,
}
call!(EnableChannel => ArcEnableChannel, Done);

/// `arc_set_channel_samplerate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSampleRate {
    /// The device.
    pub device_id: String,
    /// The channel.
    pub channel: Channel,
    /// Samples per second, within [`crate::SAMPLE_RATE_HZ`].
    pub value: u32,
}
call!(SetSampleRate => ArcSetChannelSamplerate, Done);

/// `arc_get_channel_samplerate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSampleRate {
    /// The device.
    pub device_id: String,
    /// The channel.
    pub channel: Channel,
}
call!(GetSampleRate => ArcGetChannelSamplerate, ValueOf<f64>);

/// The data of the `project_…` commands: the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectArgs {
    /// The project.
    pub project_id: i64,
}

/// `project_start_recording`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StartRecording(pub ProjectArgs);
call!(StartRecording => ProjectStartRecording, Done);

/// `project_stop_recording`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StopRecording(pub ProjectArgs);
call!(StopRecording => ProjectStopRecording, Done);

/// `project_get_last_recording`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetLastRecording(pub ProjectArgs);
call!(GetLastRecording => ProjectGetLastRecording, LastRecording);

/// `project_get_recordings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetRecordings(pub ProjectArgs);
call!(GetRecordings => ProjectGetRecordings, Recordings);

/// The data of the `recording_…` commands about one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingChannel {
    /// The recording.
    pub recording_id: i64,
    /// The device that recorded it.
    pub device_id: String,
    /// The channel.
    pub channel: Channel,
}

/// `recording_get_channel_data_count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetDataCount(pub RecordingChannel);
call!(GetDataCount => RecordingGetChannelDataCount, Count);

/// `recording_get_channel_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetChannelInfo(pub RecordingChannel);
call!(GetChannelInfo => RecordingGetChannelInfo, ChannelInfo);

/// `recording_get_channel_data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetData {
    /// Recording, device, channel.
    #[serde(flatten)]
    pub of: RecordingChannel,
    /// The first value.
    pub index: u64,
    /// How many values.
    pub count: u64,
}
call!(GetData => RecordingGetChannelData, ChannelData);

/// `recording_get_channel_statistics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetStatistics {
    /// Recording, device, channel.
    #[serde(flatten)]
    pub of: RecordingChannel,
    /// Start of the interval, s.
    pub from: f64,
    /// End of the interval, s (inclusive).
    pub to: f64,
}
call!(GetStatistics => RecordingGetChannelStatistics, ChannelStatistics);

/// `project_create_user_log` (Otii 3.6+): a user log in the project, whose entries each
/// recording then carries. The answer's `id` is what the other user-log commands take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserLog {
    /// The project.
    pub project_id: i64,
    /// The name asked for (the official client calls it the log's id).
    pub id: String,
}
call!(CreateUserLog => ProjectCreateUserLog, UserLogId);

/// `recording_append_user_log` (Otii 3.6+): one message at a time the client gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendUserLog {
    /// The recording.
    pub recording_id: i64,
    /// The user log (the `id` `project_create_user_log` answered); named `measurement_id`
    /// here, `user_log_id` in [`GetUserLogData`], as the official client sends them.
    pub measurement_id: String,
    /// When, s on the recording's timeline.
    pub time: f64,
    /// The message.
    pub message: String,
}
call!(AppendUserLog => RecordingAppendUserLog, Done);

/// `recording_offset_user_log` (Otii 3.6+): shifts a user log of a recording in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffsetUserLog {
    /// The recording.
    pub recording_id: i64,
    /// The user log.
    pub measurement_id: String,
    /// The shift, s.
    pub offset: f64,
}
call!(OffsetUserLog => RecordingOffsetUserLog, Done);

/// `recording_get_user_log_data` (Otii 3.6+): one page of the entries within `from..=to`
/// whose message contains `filter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetUserLogData {
    /// The recording.
    pub recording_id: i64,
    /// The user log.
    pub user_log_id: String,
    /// Start of the span, s.
    pub from: f64,
    /// End of the span, s.
    pub to: f64,
    /// Text the messages must contain (empty: all).
    pub filter: String,
    /// The page, from 1.
    pub page: u64,
    /// Entries per page (the official client's default is 1000).
    pub page_size: u64,
}
call!(GetUserLogData => RecordingGetUserLogData, UserLogData);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, Request};
    use serde_json::{json, Value};

    /// Serialises `data` as a request, reads it back as one, and checks the wire shape.
    fn check<C: Call + std::fmt::Debug + PartialEq + DeserializeOwned>(data: C, wire: Value) {
        let msg = Message::Request(Request {
            cmd: C::COMMAND,
            trans_id: "5".into(),
            data,
        });
        let text = serde_json::to_string(&msg).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["cmd"], C::COMMAND.name());
        assert_eq!(v["data"], wire, "{}", C::COMMAND);
        let back: Message<C> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, msg, "{}", C::COMMAND);
    }

    fn of() -> RecordingChannel {
        RecordingChannel {
            recording_id: 3,
            device_id: "ARC".into(),
            channel: Channel::MainPower,
        }
    }

    #[test]
    fn every_request_round_trips_with_its_wire_shape() {
        let p = ProjectArgs { project_id: 1 };
        let rc = json!({"recording_id": 3, "device_id": "ARC", "channel": "mp"});
        check(GetDevices { timeout: 3.0 }, json!({"timeout": 3.0}));
        check(GetActiveProject {}, json!({}));
        check(IsLoggedIn {}, json!({}));
        check(
            Login {
                username: "u".into(),
                password: "p".into(),
            },
            json!({"username": "u", "password": "p"}),
        );
        check(GetLicenses {}, json!({}));
        check(ReserveLicense { license_id: 4 }, json!({"license_id": 4}));
        check(ReturnLicense { license_id: 4 }, json!({"license_id": 4}));
        check(
            EnableChannel {
                device_id: "ARC".into(),
                channel: Channel::MainCurrent,
                enable: true,
            },
            json!({"device_id": "ARC", "channel": "mc", "enable": true}),
        );
        check(
            SetSampleRate {
                device_id: "ARC".into(),
                channel: Channel::Vbus,
                value: 10_000,
            },
            json!({"device_id": "ARC", "channel": "vb", "value": 10_000}),
        );
        check(
            GetSampleRate {
                device_id: "ARC".into(),
                channel: Channel::MainVoltage,
            },
            json!({"device_id": "ARC", "channel": "mv"}),
        );
        check(StartRecording(p), json!({"project_id": 1}));
        check(StopRecording(p), json!({"project_id": 1}));
        check(GetLastRecording(p), json!({"project_id": 1}));
        check(GetRecordings(p), json!({"project_id": 1}));
        check(GetDataCount(of()), rc.clone());
        check(GetChannelInfo(of()), rc);
        check(
            GetData {
                of: of(),
                index: 40_000,
                count: 40_000,
            },
            json!({"recording_id": 3, "device_id": "ARC", "channel": "mp",
                   "index": 40_000, "count": 40_000}),
        );
        check(
            GetStatistics {
                of: of(),
                from: 0.0,
                to: 4.5,
            },
            json!({"recording_id": 3, "device_id": "ARC", "channel": "mp",
                   "from": 0.0, "to": 4.5}),
        );
    }

    #[test]
    fn user_log_requests_have_the_official_clients_shape() {
        check(
            CreateUserLog {
                project_id: 1,
                id: "load".into(),
            },
            json!({"project_id": 1, "id": "load"}),
        );
        check(
            AppendUserLog {
                recording_id: 3,
                measurement_id: "load".into(),
                time: 0.25,
                message: "start".into(),
            },
            json!({"recording_id": 3, "measurement_id": "load", "time": 0.25,
                   "message": "start"}),
        );
        check(
            OffsetUserLog {
                recording_id: 3,
                measurement_id: "load".into(),
                offset: -0.5,
            },
            json!({"recording_id": 3, "measurement_id": "load", "offset": -0.5}),
        );
        check(
            GetUserLogData {
                recording_id: 3,
                user_log_id: "load".into(),
                from: 0.0,
                to: 9.5,
                filter: String::new(),
                page: 1,
                page_size: 1000,
            },
            json!({"recording_id": 3, "user_log_id": "load", "from": 0.0, "to": 9.5,
                   "filter": "", "page": 1, "page_size": 1000}),
        );
    }
}
