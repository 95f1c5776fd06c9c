//! The `otii_` commands: the application, its devices and project, and licensing.

use otii_protocol::reply::{
    BatteryProfiles, Device, DeviceId, Devices, HasLicense, License, Licenses, LoggedIn, ProjectId,
};
use otii_protocol::{Command, ErrorCode};
use serde_json::json;

use super::{done, reply, unsupported, Ctx, ProtoError, Reply};
use crate::fault::Fault;
use crate::state::{DEVICE_ID, DEVICE_NAME};

pub(super) fn handle(Ctx(cmd, a, cfg, mut sim): Ctx<'_>) -> Result<Reply, ProtoError> {
    match cmd {
        Command::OtiiGetDevices => {
            if let Ok(t) = a.num("timeout") {
                if t < 0.0 {
                    return Err(ProtoError::key_value(
                        "timeout",
                        &json!(t),
                        "timeout must be ≥ 0",
                    ));
                }
            }
            let devices = if cfg.faults.contains(&Fault::NoDevices) {
                vec![]
            } else {
                vec![Device {
                    kind: "Arc".into(),
                    device_id: DEVICE_ID.into(),
                    name: DEVICE_NAME.into(),
                    simulated: Some(true),
                    power_model: Some(cfg.model.name().into()),
                }]
            };
            reply(Devices { devices })
        }
        Command::OtiiGetDeviceId => {
            let name = a.str("device_name")?;
            if name == DEVICE_NAME && !cfg.faults.contains(&Fault::NoDevices) {
                reply(DeviceId {
                    device_id: DEVICE_ID.into(),
                })
            } else {
                Err(ProtoError::key_value(
                    "device_name",
                    &json!(name),
                    format!("no device named {name:?}"),
                ))
            }
        }
        Command::OtiiGetActiveProject => reply(ProjectId {
            project_id: sim.project_id,
        }),
        Command::OtiiCreateProject => {
            if sim.running().is_some() {
                return Err(ProtoError::failure(
                    "cannot create a project while recording",
                ));
            }
            sim.project_id += 1;
            sim.recordings.clear();
            sim.user_logs.clear();
            reply(ProjectId {
                project_id: sim.project_id,
            })
        }
        Command::OtiiIsLoggedIn => reply(LoggedIn {
            logged_in: sim.logged_in,
        }),
        Command::OtiiLogin => {
            a.str("username")?;
            a.str("password")?;
            sim.logged_in = true;
            done()
        }
        Command::OtiiLogout => {
            sim.logged_in = false;
            done()
        }
        Command::OtiiGetLicenses => {
            if !sim.logged_in {
                return Err(ProtoError::new(
                    ErrorCode::NotLoggedIn,
                    "log in first (otii_login)",
                ));
            }
            let licenses = sim
                .licenses
                .iter()
                .map(|l| License {
                    id: Some(l.id),
                    kind: Some(l.kind.into()),
                    available: true,
                    reserved_to: Some(l.reserved_to.clone()),
                    hostname: Some(String::new()),
                })
                .collect();
            reply(Licenses { licenses })
        }
        Command::OtiiReserveLicense | Command::OtiiReturnLicense => {
            let id = a.int("license_id")?;
            let reserve = cmd == Command::OtiiReserveLicense;
            let Some(lic) = sim.licenses.iter_mut().find(|l| l.id == id) else {
                return Err(ProtoError::key_value(
                    "license_id",
                    &json!(id),
                    format!("no licence {id}"),
                ));
            };
            match (reserve, lic.reserved_to.is_empty()) {
                (true, true) => lic.reserved_to = "otii-sim".into(),
                (false, false) => lic.reserved_to.clear(),
                (true, false) => {
                    return Err(ProtoError::new(
                        ErrorCode::LicenseNotReserved,
                        format!("licence {id} is already reserved"),
                    ))
                }
                (false, true) => {
                    return Err(ProtoError::new(
                        ErrorCode::LicenseNotReturned,
                        format!("licence {id} is not reserved"),
                    ))
                }
            }
            done()
        }
        Command::OtiiHasLicense => {
            let kind = a.str("license_type")?;
            let has = sim
                .licenses
                .iter()
                .any(|l| l.kind == kind && !l.reserved_to.is_empty());
            reply(HasLicense { has_license: has })
        }
        Command::OtiiSetAllMain => {
            sim.main_on = a.bool("enable")?;
            done()
        }
        Command::OtiiGetBatteryProfiles => reply(BatteryProfiles::default()),
        // otii_shutdown and otii_open_project: a simulator has no application to close and
        // no project files.
        _ => Err(unsupported(cmd)),
    }
}
