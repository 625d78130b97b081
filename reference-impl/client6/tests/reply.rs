//! The last Reply that carried configuration is kept for `dhcplab info -v6` (dhcpinfo answers
//! from the last Reply): from the Request, replaced by each Renew's, kept in the binding file
//! and across a Confirm (whose Reply carries no configuration), and from an
//! Information-request in information-only mode.

mod common;

use common::*;
use dhcplab_client6::{HostEvent, State, lease_file};
use dhcplab_wire::v6::{Message, MessageType, code};

/// The message type and transaction id of `bytes`.
fn kind_and_xid(bytes: &[u8]) -> (MessageType, u32) {
    match Message::decode(bytes).expect("a message") {
        Message::Client(m) => (m.msg_type, m.xid),
        Message::Relay(_) => panic!("a relay message"),
    }
}

#[test]
fn the_reply_that_gave_or_extended_the_binding_is_kept_and_saved() {
    let mut lab = Lab::new(config(), None, good_server());
    assert!(lab.client.last_reply().is_none(), "nothing before a Reply");
    lab.run_until(5.0);
    let request = lab.sent_of(MessageType::REQUEST);
    assert_eq!(request.len(), 1);
    let reply = lab
        .client
        .last_reply()
        .expect("the Request's Reply")
        .to_vec();
    assert_eq!(
        kind_and_xid(&reply),
        (MessageType::REPLY, request[0].message.xid)
    );
    let saved = lab.saved.clone().expect("binding saved");
    assert_eq!(saved.reply.as_deref(), Some(reply.as_slice()));
    // The binding file carries it, so a restarted agent still answers.
    let text = lease_file::encode(&saved);
    assert_eq!(lease_file::decode(text.as_bytes()), Ok(saved.clone()));

    // At T1 the Renew's Reply replaces it.
    lab.run_until(f64::from(T1) + 10.0);
    let renew = lab.sent_of(MessageType::RENEW);
    assert_eq!(renew.len(), 1);
    let renewed = lab.client.last_reply().expect("the Renew's Reply");
    assert_eq!(
        kind_and_xid(renewed),
        (MessageType::REPLY, renew[0].message.xid)
    );

    // A restart from the file confirms: the Confirm's Reply carries no configuration and the
    // saved one stays.
    let saved = lab.saved.clone().expect("binding saved");
    let mut again = Lab::new(config(), Some(saved.clone()), good_server());
    again.run_until(again.now + 5.0);
    assert_eq!(again.sent_of(MessageType::CONFIRM).len(), 1);
    assert_eq!(again.client.state(), State::Bound);
    assert_eq!(again.client.last_reply(), saved.reply.as_deref());

    // Released: nothing is held, nothing answered.
    again.host(again.now + 1.0, HostEvent::Release);
    again.run_until(again.now + 5.0);
    assert!(again.client.last_reply().is_none());
}

#[test]
fn information_only_keeps_the_information_requests_reply() {
    let mut c = config();
    c.information_only = true;
    let mut lab = Lab::new(c, None, good_server());
    lab.run_until(2.0);
    let inform = lab.sent_of(MessageType::INFORMATION_REQUEST);
    assert_eq!(inform.len(), 1);
    let reply = lab.client.last_reply().expect("the Reply");
    assert_eq!(
        kind_and_xid(reply),
        (MessageType::REPLY, inform[0].message.xid)
    );
    let m = Message::decode(reply).expect("decodes");
    assert!(m.options().get(code::DNS_SERVERS).is_some());
}

#[test]
fn a_damaged_reply_line_is_reported_with_its_line() {
    let text = "dhcplab-binding6 1\nserver 0001\nia na 1 renew infinite rebind infinite\nlease 2001:db8::5/128 preferred infinite valid infinite\nreply 0g\n";
    let e = lease_file::decode(text.as_bytes()).expect_err("bad hex");
    assert!(e.to_string().starts_with("line 5: reply:"), "{e}");
}
