//! Licensing: what the reference client does on connect, and undoes on close.

use std::io::{Read, Write};

use otii_protocol::request::{GetLicenses, IsLoggedIn, Login, ReserveLicense, ReturnLicense};
use otii_protocol::{Call, ErrorCode};

use super::{Client, ClientError};

impl<S: Read + Write> Client<S> {
    /// Makes sure an Automation licence is reserved, as the reference client does on connect:
    /// log in (from `OTII_USERNAME`/`OTII_PASSWORD`) if needed, then reserve a free licence
    /// unless one is reserved already. Licences reserved here are returned by [`Client::close`].
    /// A server without licensing commands (an older Otii) is accepted as is.
    pub fn ensure_license(&mut self) -> Result<(), ClientError> {
        let logged_in = match self.call(&IsLoggedIn {}) {
            Ok(v) => v.logged_in,
            Err(ClientError::Server { code, .. }) if code == ErrorCode::InvalidCommand.as_str() => {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        if !logged_in {
            if let (Ok(username), Ok(password)) = (
                std::env::var("OTII_USERNAME"),
                std::env::var("OTII_PASSWORD"),
            ) {
                self.call(&Login { username, password })?;
            }
        }
        let list = self.call(&GetLicenses {})?.licenses;
        let mut automation = list.iter().filter(|l| l.allows_automation());
        if automation.clone().any(|l| l.is_reserved()) {
            return Ok(());
        }
        let Some(id) = automation.find_map(|l| l.id) else {
            return Err(ClientError::Server {
                cmd: GetLicenses::COMMAND.name().into(),
                code: "No license".into(),
                message: "no free Automation licence for this Otii user".into(),
            });
        };
        self.call(&ReserveLicense { license_id: id })?;
        self.reserved_licenses.push(id);
        Ok(())
    }

    /// Returns the licences [`Client::ensure_license`] reserved.
    pub fn close(mut self) -> Result<(), ClientError> {
        for id in std::mem::take(&mut self.reserved_licenses) {
            self.call(&ReturnLicense { license_id: id })?;
        }
        Ok(())
    }
}
