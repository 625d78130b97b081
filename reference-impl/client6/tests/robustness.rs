//! No input panics the client: arbitrary datagrams (random bytes, and spoiled answers that
//! carry the right transaction id and Client ID), host events and timer firings in any order.

mod common;

use common::*;
use dhcplab_client6::{Action, Client, HostEvent, lease_file};
use dhcplab_wire::v6::{Message, MessageType, RawBuilder, code};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Random bytes.
    Noise(Vec<u8>),
    /// An answer to the last message sent, of this type, with these raw options after the
    /// Server and Client IDs.
    Answer(u8, Vec<(u16, Vec<u8>)>),
    /// A well-formed granting answer to the last message sent (Advertise or Reply).
    Grant(bool),
    Host(u8),
    Wait(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(Step::Noise),
        (
            1u8..14,
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just(code::IA_NA),
                        Just(code::IA_PD),
                        Just(code::STATUS_CODE),
                        Just(code::PREFERENCE),
                        Just(code::UNICAST),
                        Just(code::RAPID_COMMIT),
                        Just(code::SOL_MAX_RT),
                        Just(code::INFORMATION_REFRESH_TIME),
                        any::<u16>()
                    ],
                    proptest::collection::vec(any::<u8>(), 0..60)
                ),
                0..4
            )
        )
            .prop_map(|(t, o)| Step::Answer(t, o)),
        any::<bool>().prop_map(Step::Grant),
        (0u8..8).prop_map(Step::Host),
        (0u32..5000).prop_map(Step::Wait),
    ]
}

fn host(n: u8) -> HostEvent {
    match n {
        0 => HostEvent::LinkDown,
        1 => HostEvent::LinkUp,
        2 => HostEvent::Suspend,
        3 => HostEvent::Resume,
        4 => HostEvent::Release,
        5 => HostEvent::Drop,
        6 => HostEvent::DadDone(ADDR),
        _ => HostEvent::Duplicate(ADDR),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_input_never_panics(
        steps in proptest::collection::vec(step(), 1..40),
        rapid in any::<bool>(),
        pd in any::<bool>(),
    ) {
        let mut c = config();
        c.rapid_commit = rapid;
        if pd {
            c.pd_iaids = vec![1, 2];
        }
        let mut client = Client::new(c, 3, None, t0());
        let mut now = 0.0f64;
        let mut last: Option<Sent> = None;
        for s in steps {
            while let Some(a) = client.poll_action() {
                if let Action::Transmit(t) = a {
                    if let Ok(Message::Client(m)) = Message::decode(&t.payload) {
                        last = Some(Sent { at: now, transmit: t, message: m });
                    }
                }
            }
            match s {
                Step::Noise(bytes) => client.handle_datagram(at(now), &bytes),
                Step::Answer(t, opts) => {
                    if let Some(l) = &last {
                        client.handle_datagram(at(now), &answer(l, MessageType(t), &opts));
                    }
                }
                Step::Grant(advertise) => {
                    if let Some(l) = &last {
                        let kind = if advertise { MessageType::ADVERTISE } else { MessageType::REPLY };
                        client.handle_datagram(at(now), &answer(l, kind, &granted(l)));
                    }
                }
                Step::Host(n) => client.handle_host(at(now), host(n)),
                Step::Wait(ms) => {
                    now += f64::from(ms) / 10.0;
                    if let Some(t) = client.poll_timeout() {
                        if t <= at(now) {
                            client.handle_timeout(t.max(at(0.0)));
                        }
                    }
                    client.handle_timeout(at(now));
                }
            }
            // What is on the interface is always held in the binding.
            for c in client.configured() {
                let held = client.binding().is_some_and(|b| {
                    b.leases().any(|(k, _, l)| k == c.kind && l.address == c.address && l.prefix_len == c.prefix_len)
                });
                prop_assert!(held, "{:?} configured but not held", c);
            }
            // The binding held is always one the file can carry.
            if let Some(b) = client.binding() {
                let decoded = lease_file::decode(lease_file::encode(b).as_bytes());
                prop_assert_eq!(decoded, Ok(b.clone()));
            }
        }
    }

    #[test]
    fn binding_file_garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut text = b"dhcplab-binding6 1\n".to_vec();
        text.extend_from_slice(&bytes);
        let _ = lease_file::decode(&text);
        let _ = lease_file::decode(&bytes);
    }
}

#[test]
fn malformed_options_in_a_reply_are_ignored_and_counted() {
    let mut client = Client::new(config(), 3, None, t0());
    let mut sent = None;
    for _ in 0..3 {
        client.handle_timeout(at(1.0));
        while let Some(a) = client.poll_action() {
            if let Action::Transmit(t) = a {
                sent = Some(t);
            }
        }
    }
    let t = sent.expect("a Solicit");
    let Ok(Message::Client(m)) = Message::decode(&t.payload) else {
        panic!("client message");
    };
    let cid = m
        .options
        .view_at(4)
        .get(code::CLIENT_ID)
        .expect("cid")
        .data
        .to_vec();
    // An IA_NA whose length cuts its IA Address in half.
    let spoiled = RawBuilder::new(MessageType::ADVERTISE, m.xid)
        .option(code::CLIENT_ID, &cid)
        .option(code::SERVER_ID, &SERVER_DUID)
        .option(
            code::IA_NA,
            &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24, 1, 2],
        )
        .build();
    client.handle_datagram(at(1.01), &spoiled);
    assert_eq!(client.ignored(), 1);
    let logged = std::iter::from_fn(|| client.poll_action())
        .any(|a| matches!(a, Action::Log { text, .. } if text.contains("ignored")));
    assert!(logged);
}
