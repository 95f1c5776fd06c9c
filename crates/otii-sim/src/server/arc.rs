//! The `arc_` commands: the simulated Arc's channels, main output and settings.

use otii_protocol::reply::{Connected, Range, Version};
use otii_protocol::Command;
use serde_json::json;

use super::{done, reply, unsupported, value, Ctx, ProtoError, Reply};
use crate::model::{Load, Signal};
use crate::state::DEVICE_ID;

pub(super) fn handle(Ctx(cmd, a, cfg, mut sim): Ctx<'_>) -> Result<Reply, ProtoError> {
    match cmd {
        Command::ArcEnableChannel => {
            a.device()?;
            let ch = a.channel()?;
            let on = a.bool("enable")?;
            sim.enabled.insert(ch, on);
            done()
        }
        Command::ArcSetChannelSamplerate => {
            a.device()?;
            let ch = a.channel()?;
            let v = a.int("value")?;
            let rate = otii_protocol::sample_rate(v).map_err(|e| {
                ProtoError::key_value("value", &json!(v), format!("sample rate {e}"))
            })?;
            sim.rates.insert(ch, rate);
            done()
        }
        Command::ArcGetChannelSamplerate => {
            a.device()?;
            let ch = a.channel()?;
            value(sim.rates.get(&ch).copied().unwrap_or(cfg.rate_hz))
        }
        Command::ArcSetMain => {
            a.device()?;
            sim.main_on = a.bool("enable")?;
            done()
        }
        Command::ArcGetMain => {
            a.device()?;
            value(sim.main_on)
        }
        Command::ArcSetMainVoltage => {
            a.device()?;
            sim.main_voltage = a.num_in("value", 0.5, 5.0, "main voltage, V")?;
            done()
        }
        Command::ArcGetMainVoltage => {
            a.device()?;
            value(sim.main_voltage)
        }
        Command::ArcSetMaxCurrent => {
            a.device()?;
            sim.max_current = a.num_in("value", 0.001, 5.0, "max current, A")?;
            done()
        }
        Command::ArcGetMaxCurrent => {
            a.device()?;
            value(sim.max_current)
        }
        Command::ArcSetRange => {
            a.device()?;
            let r = a.str("range")?;
            if r != "low" && r != "high" {
                return Err(ProtoError::key_value(
                    "range",
                    &json!(r),
                    "range must be low or high",
                ));
            }
            sim.range = r.to_owned();
            done()
        }
        Command::ArcGetRange => {
            a.device()?;
            reply(Range {
                range: sim.range.clone(),
            })
        }
        Command::ArcIsConnected => {
            let id = a.str("device_id")?;
            reply(Connected {
                connected: id == DEVICE_ID,
            })
        }
        Command::ArcGetVersion => {
            a.device()?;
            reply(Version {
                hw_version: "otii-sim".into(),
                fw_version: env!("CARGO_PKG_VERSION").into(),
            })
        }
        Command::ArcGetValue => {
            a.device()?;
            let ch = a.channel()?;
            if !ch.is_analog() {
                return Err(ProtoError::key_value(
                    "channel",
                    &json!(ch.name()),
                    "arc_get_value needs an analog channel",
                ));
            }
            let signal = Signal {
                load: if sim.main_on {
                    Load::Synthetic { seed: cfg.seed }
                } else {
                    Load::Off
                },
                params: cfg.params,
                noise_seed: cfg.seed,
            };
            let mut v = 0.0;
            signal.for_each(ch, 1.0, 0, 1, |x| v = x);
            value(v)
        }
        Command::ArcAddToProject | Command::ArcCalibrate => {
            a.device()?;
            done()
        }
        Command::ArcEnable5v
        | Command::ArcEnableExpPort
        | Command::ArcEnableUart
        | Command::ArcSet4wire
        | Command::ArcEnableBatteryProfiling
        | Command::ArcEnableLegacySink => {
            a.device()?;
            a.bool("enable")?;
            done()
        }
        _ => Err(unsupported(cmd)),
    }
}
