//! Kea's configuration language, read so that every error can say where it is.
//!
//! Kea configuration files are JSON with comments (`#` and `//` to the end of the line,
//! `/* ... */` blocks). [`json`] parses them into values that keep their line and column, so a
//! later check can name both the JSON path (`Dhcp4.subnet4[0].pools[1].pool`) and the place in
//! the file of a key it does not accept.

pub mod common;
pub mod dhcp4;
pub mod dhcp6;
pub mod json;
pub mod options4;
pub mod options6;
mod reader;

pub use reader::ConfigError;
