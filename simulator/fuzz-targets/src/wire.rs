//! The wire codec's targets: decode, read every option, and check the codec is lossless.

use dhcplab_wire::{v4, v6};

/// Decodes `data` as a DHCPv4 message; one that decodes must encode back to `data` byte for
/// byte (the codec promises losslessness) and have every option read without a panic.
pub fn wire_v4(data: &[u8]) {
    let Ok(m) = v4::Message::decode(data) else {
        return;
    };
    assert_eq!(m.encode(), data, "v4: encode(decode(b)) != b");
    assert_eq!(m.encoded_len(), data.len(), "v4: encoded_len");
    assert_eq!(
        v4::Message::decode(&m.encode()).as_ref(),
        Ok(&m),
        "v4: decode(encode(m)) != m"
    );
    let _ = m.validate();
    let codes: Vec<u8> = m.options().map(|o| o.code).collect();
    for code in codes {
        let _ = m.value(code);
    }
    let _ = m.message_type();
    let _ = m.client_id();
    let _ = m.relay_agent_info();
    let _ = m.classless_routes();
    let _ = m.client_fqdn();
    let _ = m.domain_search();
    let _ = m.overload();
    let _ = m.hardware_address();
}

/// Decodes `data` as a DHCPv6 message; one that decodes must encode back to `data` byte for
/// byte, validate, and unwrap its relay layers without a panic.
pub fn wire_v6(data: &[u8]) {
    let Ok(m) = v6::Message::decode(data) else {
        return;
    };
    assert_eq!(m.encode(), data, "v6: encode(decode(b)) != b");
    let _ = m.validate();
    let _ = m.relayed();
    if let Ok(inner) = m.innermost() {
        let _ = inner.validate();
        let _ = inner.encode();
    }
    let _ = m.msg_type();
    for o in m.options().iter() {
        let _ = o.data_offset();
    }
}
