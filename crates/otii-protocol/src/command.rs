//! The commands of the protocol, by name and family.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A command (`cmd` of a request). The name's prefix is its family: `otii_` the
        /// application and licensing, `arc_` a device, `project_` the project, `recording_` a
        /// recording.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "&'static str", try_from = "String")]
        pub enum Command {
            $($(#[$doc])* $variant,)*
        }

        impl Command {
            /// Every command this crate knows.
            pub const ALL: &'static [Command] = &[$(Command::$variant,)*];

            /// The name on the wire.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Command::$variant => $name,)*
                }
            }
        }
    };
}

commands! {
    /// Connected devices.
    OtiiGetDevices = "otii_get_devices",
    /// A device's id from its name.
    OtiiGetDeviceId = "otii_get_device_id",
    /// The open project.
    OtiiGetActiveProject = "otii_get_active_project",
    /// A new project.
    OtiiCreateProject = "otii_create_project",
    /// Opens a project file.
    OtiiOpenProject = "otii_open_project",
    /// Whether a user is logged in to the licence server.
    OtiiIsLoggedIn = "otii_is_logged_in",
    /// Logs in.
    OtiiLogin = "otii_login",
    /// Logs out.
    OtiiLogout = "otii_logout",
    /// The user's licences.
    OtiiGetLicenses = "otii_get_licenses",
    /// Reserves a licence.
    OtiiReserveLicense = "otii_reserve_license",
    /// Returns a licence.
    OtiiReturnLicense = "otii_return_license",
    /// Whether a licence of a type is reserved.
    OtiiHasLicense = "otii_has_license",
    /// Main output of every device on or off.
    OtiiSetAllMain = "otii_set_all_main",
    /// Battery profiles.
    OtiiGetBatteryProfiles = "otii_get_battery_profiles",
    /// Shuts the application down.
    OtiiShutdown = "otii_shutdown",
    /// Enables a channel for the next recording.
    ArcEnableChannel = "arc_enable_channel",
    /// Sets a channel's sample rate.
    ArcSetChannelSamplerate = "arc_set_channel_samplerate",
    /// A channel's sample rate.
    ArcGetChannelSamplerate = "arc_get_channel_samplerate",
    /// Main output on or off.
    ArcSetMain = "arc_set_main",
    /// Whether the main output is on.
    ArcGetMain = "arc_get_main",
    /// Main output voltage.
    ArcSetMainVoltage = "arc_set_main_voltage",
    /// Main output voltage.
    ArcGetMainVoltage = "arc_get_main_voltage",
    /// Over-current protection level.
    ArcSetMaxCurrent = "arc_set_max_current",
    /// Over-current protection level.
    ArcGetMaxCurrent = "arc_get_max_current",
    /// Current range.
    ArcSetRange = "arc_set_range",
    /// Current range.
    ArcGetRange = "arc_get_range",
    /// Whether a device is connected.
    ArcIsConnected = "arc_is_connected",
    /// Hardware and firmware versions.
    ArcGetVersion = "arc_get_version",
    /// One value of a channel now.
    ArcGetValue = "arc_get_value",
    /// Adds the device to the project.
    ArcAddToProject = "arc_add_to_project",
    /// Calibrates the device.
    ArcCalibrate = "arc_calibrate",
    /// 5 V output on or off.
    ArcEnable5v = "arc_enable_5v",
    /// Expansion port on or off.
    ArcEnableExpPort = "arc_enable_exp_port",
    /// UART on or off.
    ArcEnableUart = "arc_enable_uart",
    /// 4-wire measurement on or off.
    ArcSet4wire = "arc_set_4wire",
    /// Battery profiling on or off.
    ArcEnableBatteryProfiling = "arc_enable_battery_profiling",
    /// Legacy sink mode on or off.
    ArcEnableLegacySink = "arc_enable_legacy_sink",
    /// Starts a recording.
    ProjectStartRecording = "project_start_recording",
    /// Stops the recording.
    ProjectStopRecording = "project_stop_recording",
    /// The newest recording.
    ProjectGetLastRecording = "project_get_last_recording",
    /// Every recording.
    ProjectGetRecordings = "project_get_recordings",
    /// Saves the project.
    ProjectSave = "project_save",
    /// Closes the project.
    ProjectClose = "project_close",
    /// Crops the project's data.
    ProjectCropData = "project_crop_data",
    /// Creates a user log in the project (Otii 3.6+).
    ProjectCreateUserLog = "project_create_user_log",
    /// Number of values of a channel.
    RecordingGetChannelDataCount = "recording_get_channel_data_count",
    /// Values of a channel.
    RecordingGetChannelData = "recording_get_channel_data",
    /// Index of the value at a time.
    RecordingGetChannelDataIndex = "recording_get_channel_data_index",
    /// Time span and rate of a channel.
    RecordingGetChannelInfo = "recording_get_channel_info",
    /// Statistics of a channel over a time span.
    RecordingGetChannelStatistics = "recording_get_channel_statistics",
    /// Renames a recording.
    RecordingRename = "recording_rename",
    /// Deletes a recording.
    RecordingDelete = "recording_delete",
    /// Whether a recording is running.
    RecordingIsRunning = "recording_is_running",
    /// Adds a log line to a recording.
    RecordingLog = "recording_log",
    /// A recording's time offset.
    RecordingGetOffset = "recording_get_offset",
    /// Sets a recording's time offset.
    RecordingSetOffset = "recording_set_offset",
    /// Downsamples a channel.
    RecordingDownsampleChannel = "recording_downsample_channel",
    /// Imports a log file into a recording.
    RecordingImportLog = "recording_import_log",
    /// Appends a timestamped message to a user log of a recording (Otii 3.6+).
    RecordingAppendUserLog = "recording_append_user_log",
    /// Shifts a user log of a recording in time (Otii 3.6+).
    RecordingOffsetUserLog = "recording_offset_user_log",
    /// A page of a user log's entries in a time span (Otii 3.6+).
    RecordingGetUserLogData = "recording_get_user_log_data",
}

/// What a command acts on, from the prefix of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `otii_`: the application, its devices list, licensing.
    Otii,
    /// `arc_`: one device's settings and values.
    Arc,
    /// `project_`: the project and its recordings list.
    Project,
    /// `recording_`: one recording's data.
    Recording,
}

impl Command {
    /// The family its name's prefix says.
    pub fn family(self) -> Family {
        match self.name().split('_').next() {
            Some("otii") => Family::Otii,
            Some("arc") => Family::Arc,
            Some("project") => Family::Project,
            _ => Family::Recording,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Command> for &'static str {
    fn from(c: Command) -> &'static str {
        c.name()
    }
}

/// A command name this crate does not know (the server answers `Invalid command`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command {0:?}")]
pub struct UnknownCommand(pub String);

impl FromStr for Command {
    type Err = UnknownCommand;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Command::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownCommand(s.to_owned()))
    }
}

impl TryFrom<String> for Command {
    type Error = UnknownCommand;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_families_follow_prefixes() {
        for &c in Command::ALL {
            assert_eq!(c.name().parse::<Command>(), Ok(c));
            let text = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), c);
            let prefix = match c.family() {
                Family::Otii => "otii_",
                Family::Arc => "arc_",
                Family::Project => "project_",
                Family::Recording => "recording_",
            };
            assert!(c.name().starts_with(prefix), "{c}");
        }
        assert_eq!(
            "no_such_command".parse::<Command>(),
            Err(UnknownCommand("no_such_command".into()))
        );
    }
}
