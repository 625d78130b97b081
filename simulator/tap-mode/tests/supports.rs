//! What TAP mode runs and what it skips, with the reason, before any namespace is made.

use dhcplab_adapters::clients::{Client, RealClient};
use dhcplab_adapters::servers::Server;
use dhcplab_scenario::parse;
use dhcplab_tap_mode::{Stacks, supports};
use std::path::Path;
use std::time::Duration;

const SERVER: &str = r#"
[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } }'
"#;

fn check(extra: &str, server: Server, longest: Duration) -> Result<(), String> {
    check_with(extra, server, Client::Reference, longest)
}

fn check_with(
    extra: &str,
    server: Server,
    client: Client,
    longest: Duration,
) -> Result<(), String> {
    let s = parse(&format!("{SERVER}{extra}"), Path::new("t/x.toml")).expect("parses");
    let stacks = Stacks {
        server,
        client,
        dhcplab: "dhcplab".into(),
    };
    supports(&s, &stacks, longest).map_err(|e| e.0)
}

const CLIENT: &str = "[[host]]\nname = \"c1\"\nrole = \"client\"\n";
const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn a_short_scenario_on_the_reference_server_or_kea_runs() {
    let steps =
        format!("{CLIENT}[[step]]\nexpect = \"message\"\nfrom = \"srv\"\nwithin = \"10s\"\n");
    assert_eq!(check(&steps, Server::Reference, MINUTE), Ok(()));
    assert_eq!(check(&steps, Server::Kea, MINUTE), Ok(()));
}

#[test]
fn what_tap_mode_cannot_do_is_skipped_with_the_reason() {
    let long = format!("{CLIENT}[[step]]\nexpect = \"nothing\"\nfrom = \"c1\"\nwithin = \"2m\"\n");
    let why = check(&long, Server::Reference, MINUTE).expect_err("too long");
    assert!(
        why.contains("2m") && why.contains("--max-real-time"),
        "{why}"
    );

    // dhcpd and dnsmasq run a translation of the configuration, without what only Kea has.
    assert_eq!(check(CLIENT, Server::Dhcpd, MINUTE), Ok(()));
    assert_eq!(check(CLIENT, Server::Dnsmasq, MINUTE), Ok(()));
    let reclaimed = format!(
        "{CLIENT}[[step]]\nexpect = \"lease\"\nhost = \"srv\"\naddress = \"192.0.2.100\"\nstate = \"reclaimed\"\n"
    );
    let why = check(&reclaimed, Server::Dhcpd, MINUTE).expect_err("reclaimed");
    assert!(
        why.contains("expired or reclaimed") && why.contains("dhcpd"),
        "{why}"
    );

    let churn =
        "[[host]]\nname = \"c1\"\nrole = \"client\"\n[host.churn]\nup = \"1h\"\ndown = \"1h\"\n";
    // Churn is given to the reference agent (released or dropped, stopped, started again on
    // its lease file), not yet to the real clients.
    assert_eq!(check(churn, Server::Kea, MINUTE), Ok(()));
    let why = check_with(
        churn,
        Server::Kea,
        Client::Real(RealClient::Dhclient),
        MINUTE,
    )
    .expect_err("churn on dhclient");
    assert!(
        why.contains("churn") && why.contains("real client"),
        "{why}"
    );

    // A namespace per client: up to MAX_CLIENTS of them.
    let group = |n: usize| format!("[[host]]\nname = \"c\"\nrole = \"client\"\ncount = {n}\n");
    let most = dhcplab_tap_mode::MAX_CLIENTS;
    assert_eq!(check(&group(most), Server::Kea, MINUTE), Ok(()));
    let why = check(&group(most + 1), Server::Kea, MINUTE).expect_err("too many clients");
    assert!(why.contains(&format!("{} clients", most + 1)), "{why}");

    let release = format!("{CLIENT}[[step]]\ndo = \"release\"\nhost = \"c1\"\n");
    let dhclient = Client::Real(RealClient::Dhclient);
    assert_eq!(check(&release, Server::Kea, MINUTE), Ok(()));
    assert_eq!(check_with(&release, Server::Kea, dhclient, MINUTE), Ok(()));
    let drop = format!("{CLIENT}[[step]]\ndo = \"drop\"\nhost = \"c1\"\n");
    assert_eq!(check(&drop, Server::Kea, MINUTE), Ok(()));
    let why = check_with(&drop, Server::Kea, dhclient, MINUTE).expect_err("drop");
    assert!(
        why.contains("drop") && why.contains("line") && why.contains("dhclient"),
        "{why}"
    );

    // DHCPv6 runs in TAP mode; DAD against a defending peer does not yet.
    let v6 = format!("[scenario]\nrequires = [\"v6\"]\n{CLIENT}");
    assert_eq!(check(&v6, Server::Reference, MINUTE), Ok(()));
    let dad = format!("[scenario]\nrequires = [\"v6\", \"dad\"]\n{CLIENT}");
    let why = check(&dad, Server::Reference, MINUTE).expect_err("dad");
    assert!(why.contains("dad") && why.contains("TAP mode"), "{why}");
}
