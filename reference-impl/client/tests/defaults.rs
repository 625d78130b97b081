//! /etc/default/dhcpagent: each parameter, per-interface qualification, the three CLIENT_ID
//! forms with RFC 4361 identifiers from DUID and IAID, and faults with line and column.

use dhcplab_client::defaults::{
    ClientIdSpec, Fault, LinkAddress, Settings, duid_time, new_duid, parse, rfc4361_client_id,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn mac_of(name: &str) -> Option<[u8; 6]> {
    (name == "eth0").then_some(MAC)
}

/// The client identifier `text` (a CLIENT_ID value) gives interface eth0 with IAID 7.
fn client_id(value: &str) -> Result<Option<Vec<u8>>, String> {
    let (d, faults) = parse(&format!("CLIENT_ID={value}\n"));
    if let Some(f) = faults.first() {
        return Err(f.message.clone());
    }
    d.settings("eth0")
        .client_identifier(now(), 7, &mut || unreachable!(), &mac_of)
}

#[test]
fn the_shipped_file_gives_dhcpagents_defaults() {
    let shipped = "#\n# This file contains tunable parameters for dhcpagent(8).\n#\n\
        # RELEASE_ON_SIGTERM=no\n\
        PARAM_REQUEST_LIST=1,3,6,12,15,28,43\n\
        .v6.PARAM_REQUEST_LIST=7,12,23,24,27,29\n";
    let (d, faults) = parse(shipped);
    assert_eq!(faults, []);
    assert_eq!(d.settings("eth0"), Settings::default());
}

#[test]
fn an_interface_line_wins_over_the_general_one() {
    let (d, faults) = parse(
        "OFFER_WAIT=5\n  eth1.offer_wait=7\nRELEASE_ON_SIGTERM=Yes\neth1.RELEASE_ON_SIGTERM=0\n\
         PARAM_REQUEST_LIST=1, Router,0x06,,LeaseTim\nREQUEST_HOSTNAME=true\n\
         V4_DEFAULT_IAID_DUID=no\nOFFER_WAIT=4\n",
    );
    assert_eq!(faults, []);
    let eth0 = d.settings("eth0");
    assert_eq!(
        eth0.offer_wait,
        Duration::from_secs(4),
        "the last line wins"
    );
    assert!(eth0.release_on_sigterm);
    assert!(eth0.request_hostname);
    assert_eq!(eth0.param_request_list, [1, 3, 6, 51]);
    let eth1 = d.settings("eth1");
    assert_eq!(eth1.offer_wait, Duration::from_secs(7));
    assert!(!eth1.release_on_sigterm);
    assert_eq!(
        d.settings("ETH1").offer_wait,
        Duration::from_secs(4),
        "interface names keep case"
    );
}

#[test]
fn bad_lines_are_faults_with_line_and_column_and_the_default_stays() {
    let (d, faults) = parse(
        "OFFER_WAIT=30\n\
         PARAM_REQUEST_LIST=1,Bogus\n\
         RELEASE_ON_SIGTERM=maybe\n\
         ARP_WAIT=1000\n\
         COLOUR=blue\n\
         just words\n\
         \x20\x20CLIENT_ID=1,1,,02:00:5e\n\
         CLIENT_ID=1,,,02:00:5e:00:53:01\n",
    );
    let f = |line, column, message: &str| Fault {
        line,
        column,
        message: message.into(),
    };
    assert_eq!(
        faults,
        [
            f(
                1,
                12,
                "OFFER_WAIT: \"30\" is not a number of seconds from 1 to 20; the default is used"
            ),
            f(
                2,
                20,
                "PARAM_REQUEST_LIST: unknown option name \"Bogus\"; the default is used"
            ),
            f(
                3,
                20,
                "RELEASE_ON_SIGTERM: \"maybe\" is not yes or no; the default is used"
            ),
            f(4, 1, "ARP_WAIT: obsolete in dhcpagent; line ignored"),
            f(5, 1, "COLOUR: unknown parameter; line ignored"),
            f(6, 1, "not PARAM=value; line ignored"),
            f(
                8,
                11,
                "CLIENT_ID: a MAC address needs a hardware type (only an interface name may omit it); the default is used"
            ),
        ]
    );
    // Line 7 is a well-formed DUID-LLT with a short (3-byte) link-layer address.
    assert_eq!(
        d.settings("eth0").client_id,
        Some(ClientIdSpec::Llt {
            hardware_type: Some(1),
            time: None,
            address: LinkAddress::Bytes(vec![2, 0, 0x5e])
        })
    );
    assert_eq!(d.settings("eth0").offer_wait, Duration::from_secs(3));
    assert_eq!(
        d.settings("eth0").param_request_list,
        Settings::default().param_request_list
    );
}

#[test]
fn client_id_in_its_three_forms() {
    // A string, quoted or not, and hex: raw identifiers ("Sun" is 0x53756E).
    assert_eq!(client_id("\"Sun\""), Ok(Some(b"Sun".to_vec())));
    assert_eq!(client_id("Sun"), Ok(Some(b"Sun".to_vec())));
    assert_eq!(client_id("0x53756E"), Ok(Some(b"Sun".to_vec())));
    // DUIDs become RFC 4361 identifiers: 255, IAID, DUID.
    let iaid = [255, 0, 0, 0, 7];
    let with = |duid: &[u8]| Ok(Some([&iaid[..], duid].concat()));
    assert_eq!(
        client_id("1,1,12345,02:00:5e:00:53:01"),
        with(&[0, 1, 0, 1, 0, 0, 0x30, 0x39, 2, 0, 0x5e, 0, 0x53, 1])
    );
    let t = duid_time(now()).to_be_bytes();
    assert_eq!(
        client_id("1,,,eth0"),
        with(&[&[0, 1, 0, 1][..], &t, &MAC].concat())
    );
    assert_eq!(
        client_id("3,1,eth0"),
        with(&[&[0, 3, 0, 1][..], &MAC].concat())
    );
    assert_eq!(
        client_id("2,42,c0ffee"),
        with(&[0, 2, 0, 0, 0, 42, 0xc0, 0xff, 0xee])
    );
    assert_eq!(client_id("4,abcd"), with(&[0, 4, 0xab, 0xcd]));
    assert_eq!(
        client_id("3,1,eth9"),
        Err("interface \"eth9\" has no link address".into())
    );
    assert_eq!(
        client_id("0x5"),
        Err("CLIENT_ID: \"5\" is not an even number of hex digits; the default is used".into())
    );
    assert_eq!(
        client_id("2,42"),
        Err("CLIENT_ID: DUID-EN is 2,enterprise,hex; the default is used".into())
    );
}

#[test]
fn v4_default_iaid_duid_uses_the_agents_duid() {
    let (d, _) = parse("V4_DEFAULT_IAID_DUID=yes\n");
    let duid = new_duid(MAC, now());
    assert_eq!(duid.len(), 14);
    let mut asked = 0;
    let id = d.settings("eth0").client_identifier(
        now(),
        2,
        &mut || {
            asked += 1;
            duid.clone()
        },
        &mac_of,
    );
    assert_eq!(id, Ok(Some(rfc4361_client_id(2, &duid))));
    assert_eq!(asked, 1);
    let (plain, _) = parse("");
    assert_eq!(
        plain
            .settings("eth0")
            .client_identifier(now(), 2, &mut || unreachable!(), &mac_of),
        Ok(None),
        "by default a plain v4 interface sends no client identifier"
    );
}

proptest::proptest! {
    #[test]
    fn any_text_parses_without_panic(text in "(([a-z0-9]{0,4}\\.)?(CLIENT_ID|OFFER_WAIT|PARAM_REQUEST_LIST|X)=[0-9a-fx,:\"\\. ]{0,30}\n){0,6}|\\PC{0,200}") {
        let (d, _) = parse(&text);
        let _ = d.settings("eth0").client_identifier(now(), 1, &mut Vec::new, &mac_of);
    }
}
