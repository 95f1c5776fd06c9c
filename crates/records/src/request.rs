use serde::{Deserialize, Serialize};

use crate::Versioned;

/// The `schema` tag of a [`RequestRecord`] of this version.
pub const REQUEST_SCHEMA: &str = "request/1";

/// One HTTP request of the load, as it went on the wire.
///
/// A scenario step that is answered with a redirect produces two records: the request and the
/// `GET` of the `Location` that followed it, each with its own `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Format version; always [`REQUEST_SCHEMA`] for this type.
    pub schema: String,
    /// The run this request belongs to (`RunRecord::run_id`).
    pub run_id: String,
    /// The client machine or process that sent it (host name, or `local`).
    pub client: String,
    /// The MiniTwit user name the scenario ran as.
    pub user: String,
    /// Position of this request in its user's scenario, starting at 1.
    pub seq: u32,
    /// Scenario step that sent it (`1`, `2`, `3`, `4`, `5a`, `5b`, `5c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// HTTP method (`GET`, `POST`).
    pub method: String,
    /// Request target as sent, URL-encoded (e.g. `/Ada%20Lovelace/follow`).
    pub path: String,
    /// HTTP status of the answer; `None` when no answer came (connection error, timeout).
    pub status: Option<u16>,
    /// When the request was sent, in seconds since the start of the run.
    pub start_s: f64,
    /// Time from sending the request to having read the whole answer, in milliseconds.
    pub latency_ms: f64,
    /// Size of the answer body in bytes, when an answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// What went wrong with this request (transport error, failed check), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Versioned for RequestRecord {
    const SCHEMA: &'static str = REQUEST_SCHEMA;
    fn schema(&self) -> &str {
        &self.schema
    }
    fn non_finite_field(&self) -> Option<&'static str> {
        crate::first_non_finite([
            ("start_s", Some(self.start_s)),
            ("latency_ms", Some(self.latency_ms)),
        ])
    }
}
