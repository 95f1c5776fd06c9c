//! The commands a capture makes, as typed methods of [`Client`].

use std::io::{Read, Write};

use otii_protocol::reply::{
    ChannelData, ChannelInfo, ChannelStatistics, Device, RecordingInfo, UserLogEntry,
};
use otii_protocol::request::{
    AppendUserLog, CreateUserLog, EnableChannel, GetActiveProject, GetChannelInfo, GetData,
    GetDataCount, GetDevices, GetLastRecording, GetRecordings, GetSampleRate, GetStatistics,
    GetUserLogData, ProjectArgs, RecordingChannel, SetSampleRate, StartRecording, StopRecording,
};
use otii_protocol::{Call, Channel};

use super::{Client, ClientError};

fn of(recording: i64, device: &str, channel: Channel) -> RecordingChannel {
    RecordingChannel {
        recording_id: recording,
        device_id: device.into(),
        channel,
    }
}

impl<S: Read + Write> Client<S> {
    /// `otii_get_devices`.
    pub fn devices(&mut self, timeout_s: f64) -> Result<Vec<Device>, ClientError> {
        Ok(self.call(&GetDevices { timeout: timeout_s })?.devices)
    }

    /// `arc_enable_channel`.
    pub fn enable_channel(
        &mut self,
        device: &str,
        channel: Channel,
        on: bool,
    ) -> Result<(), ClientError> {
        self.call(&EnableChannel {
            device_id: device.into(),
            channel,
            enable: on,
        })
        .map(drop)
    }

    /// `arc_set_channel_samplerate`.
    pub fn set_sample_rate(
        &mut self,
        device: &str,
        channel: Channel,
        hz: u32,
    ) -> Result<(), ClientError> {
        self.call(&SetSampleRate {
            device_id: device.into(),
            channel,
            value: hz,
        })
        .map(drop)
    }

    /// `arc_get_channel_samplerate`.
    pub fn sample_rate(&mut self, device: &str, channel: Channel) -> Result<f64, ClientError> {
        let data = GetSampleRate {
            device_id: device.into(),
            channel,
        };
        Ok(self.call(&data)?.value)
    }

    /// `otii_get_active_project`: the project id, `None` when no project is open.
    pub fn active_project(&mut self) -> Result<Option<i64>, ClientError> {
        Ok(self.call(&GetActiveProject {})?.open())
    }

    /// `project_start_recording`.
    pub fn start_recording(&mut self, project: i64) -> Result<(), ClientError> {
        let data = StartRecording(ProjectArgs {
            project_id: project,
        });
        self.call(&data).map(drop)
    }

    /// `project_stop_recording`.
    pub fn stop_recording(&mut self, project: i64) -> Result<(), ClientError> {
        let data = StopRecording(ProjectArgs {
            project_id: project,
        });
        self.call(&data).map(drop)
    }

    /// `project_get_last_recording`: `None` when the project has none.
    pub fn last_recording(&mut self, project: i64) -> Result<Option<RecordingInfo>, ClientError> {
        let data = GetLastRecording(ProjectArgs {
            project_id: project,
        });
        self.call(&data)?
            .into_recording()
            .map_err(|detail| ClientError::protocol(GetLastRecording::COMMAND.name(), detail))
    }

    /// `project_get_recordings`.
    pub fn recordings(&mut self, project: i64) -> Result<Vec<RecordingInfo>, ClientError> {
        let data = GetRecordings(ProjectArgs {
            project_id: project,
        });
        Ok(self.call(&data)?.recordings)
    }

    /// `recording_get_channel_data_count`.
    pub fn data_count(
        &mut self,
        recording: i64,
        device: &str,
        channel: Channel,
    ) -> Result<u64, ClientError> {
        Ok(self
            .call(&GetDataCount(of(recording, device, channel)))?
            .count)
    }

    /// `recording_get_channel_data` for an analog channel: exactly `count` values from `index`.
    pub fn data(
        &mut self,
        recording: i64,
        device: &str,
        channel: Channel,
        index: u64,
        count: u64,
    ) -> Result<ChannelData, ClientError> {
        let chunk = self.call(&GetData {
            of: of(recording, device, channel),
            index,
            count,
        })?;
        if chunk.values.len() as u64 != count {
            return Err(ClientError::protocol(
                GetData::COMMAND.name(),
                format!(
                    "asked for {count} values of {channel} from {index}, got {}",
                    chunk.values.len()
                ),
            ));
        }
        Ok(chunk)
    }

    /// `recording_get_channel_info`.
    pub fn channel_info(
        &mut self,
        recording: i64,
        device: &str,
        channel: Channel,
    ) -> Result<ChannelInfo, ClientError> {
        self.call(&GetChannelInfo(of(recording, device, channel)))
    }

    /// `recording_get_channel_statistics` over `from..=to` seconds.
    pub fn channel_statistics(
        &mut self,
        recording: i64,
        device: &str,
        channel: Channel,
        from: f64,
        to: f64,
    ) -> Result<ChannelStatistics, ClientError> {
        self.call(&GetStatistics {
            of: of(recording, device, channel),
            from,
            to,
        })
    }

    /// `project_create_user_log` (Otii 3.6+): the id the server gave the log.
    pub fn create_user_log(&mut self, project: i64, name: &str) -> Result<String, ClientError> {
        let data = CreateUserLog {
            project_id: project,
            id: name.into(),
        };
        Ok(self.call(&data)?.id)
    }

    /// `recording_append_user_log` (Otii 3.6+): `message` at `time` s on the recording's
    /// timeline.
    pub fn append_user_log(
        &mut self,
        recording: i64,
        log: &str,
        time: f64,
        message: &str,
    ) -> Result<(), ClientError> {
        self.call(&AppendUserLog {
            recording_id: recording,
            measurement_id: log.into(),
            time,
            message: message.into(),
        })
        .map(drop)
    }

    /// `recording_get_user_log_data` (Otii 3.6+), every page: the entries within
    /// `from..=to` s whose message contains `filter`.
    pub fn user_log_entries(
        &mut self,
        recording: i64,
        log: &str,
        (from, to): (f64, f64),
        filter: &str,
    ) -> Result<Vec<UserLogEntry>, ClientError> {
        let mut entries = Vec::new();
        let mut page = 1;
        loop {
            let data = self.call(&GetUserLogData {
                recording_id: recording,
                user_log_id: log.into(),
                from,
                to,
                filter: filter.into(),
                page,
                page_size: 1000,
            })?;
            entries.extend(data.values);
            // The next page while this one is not the last (counted here, not from the
            // answer's `page`, so a server numbering its pages from 0 cannot loop us).
            if page >= data.pages_total {
                return Ok(entries);
            }
            page += 1;
        }
    }
}
