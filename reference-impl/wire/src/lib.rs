//! Lossless wire codec for DHCPv4/BOOTP and DHCPv6.
//!
//! A test harness must see exactly what a stack put on the wire and must be able to put exactly
//! what it wants there, so this codec keeps every byte: option order, duplicate options, PAD,
//! option overload areas and bytes after END survive `encode(decode(bytes)) == bytes`.
//!
//! Decoding is split in two on purpose:
//! - [`v4::Message::decode`] and [`v6::Message::decode`] check the *framing* of a message (header
//!   length, magic cookie, option lengths, END, overload areas) and fail with a [`DecodeError`]
//!   that carries the byte offset of the fault;
//! - typed views (`message_type()`, `ia_na()`, ...) check an option's *content* when it is read
//!   and fail with an [`OptionError`], so one malformed option does not hide the rest of a
//!   message from a server or a dissector. `validate()` on a message lists every such fault.
//!
//! [`v4::RawBuilder`] and [`v6::RawBuilder`] craft malformed packets on purpose.

pub mod dns;
mod error;
mod read;
pub mod scalar;
pub mod v4;
pub mod v6;

pub use error::{ContentError, ContentErrorKind, DecodeError, DecodeErrorKind, OptionError};
