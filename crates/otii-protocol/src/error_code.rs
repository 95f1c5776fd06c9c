//! The `errorcode` of an error answer.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// An error answer's `errorcode`. The reference client's `Otii_Exception.type` is this
        /// text; codes this crate does not know are kept as [`ErrorCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this crate does not know, as the server sent it.
            Other(String),
        }

        impl ErrorCode {
            /// Every code this crate knows.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The text on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                    ErrorCode::Other(s) => s,
                }
            }

            /// The code for a wire text.
            pub fn from_wire(text: &str) -> ErrorCode {
                match text {
                    $($text => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// The command does not exist.
    InvalidCommand = "Invalid command",
    /// A key the command needs is missing from `data` (or `type`/`cmd` from the request).
    MissingKey = "Missing key in request",
    /// A key has the wrong JSON type.
    InvalidKeyType = "Invalid key type",
    /// A key's value is out of range or names nothing (a channel, a recording, a sample rate).
    InvalidKeyValue = "Invalid key value",
    /// The device id names no connected device.
    DeviceNotConnected = "Device not connected",
    /// The project id names no open project.
    ProjectDoesNotExist = "Project does not exist",
    /// The command could not be carried out now (start while recording, stop while not, …).
    CommandFailure = "Command failure",
    /// The request is not a JSON object.
    NotAbleToParse = "Not able to parse request",
    /// The request is longer than the server accepts.
    RequestTooLarge = "Request too large",
    /// The server does not implement the command.
    NotSupported = "Operation not supported",
    /// Licensing commands need a logged-in user.
    NotLoggedIn = "Not logged in",
    /// The licence is reserved already.
    LicenseNotReserved = "License could not be reserved",
    /// The licence was not reserved.
    LicenseNotReturned = "License could not be returned",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::from_wire(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_through_their_text() {
        for code in ErrorCode::KNOWN {
            let text = serde_json::to_string(code).unwrap();
            assert_eq!(text, format!("\"{}\"", code.as_str()));
            assert_eq!(&serde_json::from_str::<ErrorCode>(&text).unwrap(), code);
            assert!(!matches!(
                ErrorCode::from_wire(code.as_str()),
                ErrorCode::Other(_)
            ));
        }
        assert_eq!(ErrorCode::InvalidKeyValue.to_string(), "Invalid key value");
    }

    #[test]
    fn unknown_codes_are_kept() {
        let c: ErrorCode = serde_json::from_str("\"Time out\"").unwrap();
        assert_eq!(c, ErrorCode::Other("Time out".into()));
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"Time out\"");
    }
}
