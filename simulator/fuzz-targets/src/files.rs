//! The targets of what users hand dhcplab as files: captures, scenarios and Kea
//! configurations.

use dhcplab_capture::CaptureReader;
use std::path::Path;

/// Reads `data` as a pcap or pcapng file the way `dhcplab replay` does (the capture reader,
/// then the conversation finder over its records); every conversation must name messages
/// that were found.
pub fn capture(data: &[u8]) {
    let Ok(reader) = CaptureReader::new(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let _ = reader.format();
    let found = dhcplab_conversations::find(reader);
    for c in &found.conversations {
        for &i in &c.messages {
            assert!(
                i < found.messages.len(),
                "conversation names message {i} of {}",
                found.messages.len()
            );
        }
    }
    for s in &found.skipped {
        let _ = s.why.len();
    }
}

/// Parses `data` (as UTF-8, invalid sequences replaced) as a scenario file, and renders the
/// error when it is refused, since error rendering slices the text at the fault's span.
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = dhcplab_scenario::parse(&text, Path::new("fuzz.toml")) {
        let _ = e.to_string();
    }
}

/// Parses `data` (as UTF-8, invalid sequences replaced) as a Kea configuration, both as
/// `Dhcp4` and as `Dhcp6`, and renders every error.
pub fn kea_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(errors) = dhcplab_kea_config::dhcp4::parse_document(&text) {
        for e in errors {
            let _ = e.to_string();
        }
    }
    if let Err(errors) = dhcplab_kea_config::dhcp6::parse_document(&text) {
        for e in errors {
            let _ = e.to_string();
        }
    }
}
