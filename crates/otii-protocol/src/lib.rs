//! The Otii 3 TCP automation protocol, written once.
//!
//! Qoitech's Otii 3 application drives an Arc and, with its TCP server on, takes commands as
//! JSON: one message per line, each ended by `\r\n`; the server greets first, then answers
//! every `request` with a `response` or an `error` carrying the request's `trans_id`; while it
//! opens or saves a project for a request that asked for it, it may send `progress` messages.
//! The reference is Qoitech's own Python client (`otii-tcp-client`); `docs/otii.md` records,
//! command by command, where each message shape was learned.
//!
//! This crate is the protocol's only description in the workspace: `otii-capture` (a client)
//! and `otii-sim` (a server) both speak through it. It does no I/O of its own beyond framing
//! lines on a stream the caller owns.
//!
//! # Layout
//! - `channel.rs`: [`Channel`], the channel table (wire names, units, data types).
//! - `limits.rs`: [`DEFAULT_PORT`], [`DEFAULT_ADDR`], [`SAMPLE_RATE_HZ`],
//!   [`MAX_REQUEST_BYTES`].
//! - `framing.rs`: [`FrameReader`] and [`write_message`]: one message per `\r\n`-ended line,
//!   with a length limit.
//! - `message.rs`: [`Message`] and its kinds ([`Request`], [`Response`], [`ErrorMessage`],
//!   [`Progress`], [`Information`] with the [`Greeting`]); [`Envelope`] to route an answer
//!   without parsing its data.
//! - `error_code.rs`: [`ErrorCode`], the `errorcode` of an error answer.
//! - `command.rs`: [`Command`], every command name, and its [`Family`].
//! - `request.rs`: the `data` of the requests a client makes, each a [`Call`] that names its
//!   command and its answer.
//! - `reply.rs`: the `data` of the answers.

mod channel;
mod command;
mod error_code;
mod framing;
mod limits;
mod message;
pub mod reply;
pub mod request;

pub use channel::{
    names, Channel, ChannelSpec, DataType, UnknownChannel, ALL_CHANNELS, MAIN_CHANNELS,
};
pub use command::{Command, Family, UnknownCommand};
pub use error_code::ErrorCode;
pub use framing::{encode_message, trim_terminator, write_message, Frame, FrameReader, TERMINATOR};
pub use limits::{
    sample_rate, SampleRateOutOfRange, DEFAULT_ADDR, DEFAULT_PORT, MAX_REQUEST_BYTES,
    SAMPLE_RATE_HZ,
};
pub use message::{
    Envelope, ErrorData, ErrorMessage, ErrorPayload, Greeting, Information, Message, MessageKind,
    Progress, Request, Response, CONNECTED, PROTOCOL_VERSION,
};
pub use request::Call;
