//! Expired leases processing in virtual time: leases are reclaimed at the first reclamation
//! run after they expire, reclaimed leases are flushed after the hold time, declined addresses
//! come back after probation, and each run is bounded by max-reclaim-leases.

mod common;

use common::*;
use dhcplab_memfile::{STATE_DECLINED, STATE_EXPIRED_RECLAIMED};
use dhcplab_server::stats::Counter;
use dhcplab_server::{Action, Server};
use std::net::Ipv4Addr;
use std::time::SystemTime;

const SID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const V600: &str = r#""valid-lifetime": 600"#;

fn expiry(reclaim: u32, flush: u32, hold: u32, max: u32) -> String {
    format!(
        r#""expired-leases-processing": {{ "reclaim-timer-wait-time": {reclaim},
            "flush-reclaimed-timer-wait-time": {flush}, "hold-reclaimed-time": {hold}, "max-reclaim-leases": {max} }}"#
    )
}

/// Runs every timer up to `until`, jumping from deadline to deadline; returns each run's time
/// and the rows it wrote.
fn advance(s: &mut Server, until: SystemTime) -> Vec<(SystemTime, Outcome)> {
    let mut runs = Vec::new();
    while let Some(t) = s.poll_timeout().filter(|t| *t <= until) {
        s.handle_timeout(t);
        let out = drain(s);
        if !out.rows.is_empty() {
            runs.push((t, out));
        }
    }
    runs
}

#[test]
fn reclaimed_at_the_first_run_after_expiry_then_flushed_after_the_hold_time() {
    let mut s = server(&config(
        "192.0.2.100 - 192.0.2.109",
        V600,
        &expiry(10, 25, 3600, 100),
    ));
    assert_eq!(s.poll_timeout(), Some(at(10)));
    let c = Client::new(1);
    let a = c.dora(&mut s, at(3)).yiaddr; // expires at 603
    let runs = advance(&mut s, at(5000));
    assert_eq!(runs.len(), 2, "{runs:?}");
    // Runs are at 10, 20, ...: 603 < 610, so the run at 610 reclaims it.
    let (t, out) = &runs[0];
    assert_eq!(*t, at(610));
    assert_eq!(out.rows[0].state, STATE_EXPIRED_RECLAIMED);
    assert_eq!(out.rows[0].expire, T0 + 603);
    // Flush runs are at 25, 50, ...: the first with 603 < now - 3600 is 4225.
    let (t, out) = &runs[1];
    assert_eq!(*t, at(4225));
    assert_eq!(out.rows[0].valid_lifetime, 0);
    assert!(s.lease(a).is_none());
    assert_eq!(s.stats().get(Counter::ReclaimedLeases), 1);
}

#[test]
fn a_reclaimed_lease_keeps_its_client_affinity() {
    let mut s = server(&config(
        "192.0.2.100 - 192.0.2.109",
        V600,
        &expiry(10, 25, 3600, 100),
    ));
    let c = Client::new(1);
    let a = c.dora(&mut s, at(0)).yiaddr;
    advance(&mut s, at(700));
    assert_eq!(s.lease(a).map(|l| l.state), Some(STATE_EXPIRED_RECLAIMED));
    Client::new(2).dora(&mut s, at(701));
    let mut again = c.clone();
    again.xid += 1;
    assert_eq!(again.dora(&mut s, at(702)).yiaddr, a);
}

#[test]
fn without_affinity_reclaimed_leases_are_deleted_at_once() {
    let mut s = server(&config(
        "192.0.2.100 - 192.0.2.109",
        V600,
        &expiry(10, 0, 3600, 100),
    ));
    let a = Client::new(1).dora(&mut s, at(0)).yiaddr;
    let runs = advance(&mut s, at(2000));
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, at(610));
    assert_eq!(runs[0].1.rows[0].valid_lifetime, 0);
    assert!(s.lease(a).is_none());
}

#[test]
fn declined_addresses_return_after_probation() {
    let mut s = server(&config(
        "192.0.2.100 - 192.0.2.100",
        V600,
        &expiry(10, 25, 3600, 100),
    ));
    let c = Client::new(1);
    let a = c.dora(&mut s, at(0)).yiaddr;
    send(&mut s, at(5), &c.decline(a, SID));
    assert_eq!(s.lease(a).map(|l| l.state), Some(STATE_DECLINED));
    assert!(
        send(&mut s, at(6), &Client::new(2).discover()).silent(),
        "the only address rests"
    );
    let runs = advance(&mut s, at(5 + 86_400 + 10));
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, at(86_410));
    assert!(s.lease(a).is_none());
    assert_eq!(s.stats().get(Counter::ReclaimedDeclinedAddresses), 1);
    assert_eq!(Client::new(2).dora(&mut s, at(86_411)).yiaddr, a);
}

#[test]
fn each_run_reclaims_at_most_max_reclaim_leases() {
    let mut s = server(&config(
        "192.0.2.100 - 192.0.2.109",
        V600,
        &expiry(10, 25, 3600, 2),
    ));
    for n in 1..=5 {
        Client::new(n).dora(&mut s, at(0));
    }
    let runs = advance(&mut s, at(640));
    let sizes: Vec<(SystemTime, usize)> = runs.iter().map(|(t, o)| (*t, o.rows.len())).collect();
    assert_eq!(sizes, vec![(at(610), 2), (at(620), 2), (at(630), 1)]);
}

#[test]
fn zero_wait_time_disables_the_timer_and_leases_reclaim_does_it_on_demand() {
    let mut s = server(&config(
        "192.0.2.100 - 192.0.2.109",
        V600,
        &expiry(0, 0, 0, 100),
    ));
    assert_eq!(s.poll_timeout(), None);
    let a = Client::new(1).dora(&mut s, at(0)).yiaddr;
    let answer = s.handle_command(
        at(900),
        r#"{"command": "leases-reclaim", "arguments": {"remove": true}}"#,
    );
    assert_eq!(
        answer,
        dhcplab_server::CommandOutcome::Answer(
            serde_json::json!({"result": 0, "text": "Reclamation of expired leases is complete."})
        )
    );
    let out = drain(&mut s);
    assert_eq!(out.rows.len(), 1);
    assert!(s.lease(a).is_none());
}

#[test]
fn lease_file_cleanup_is_asked_for_every_lfc_interval() {
    let text = config("192.0.2.100 - 192.0.2.109", "", "")
        .replace(r#""lfc-interval": 0"#, r#""lfc-interval": 3600"#);
    let mut s = server(&text);
    let mut asked = Vec::new();
    while let Some(t) = s.poll_timeout().filter(|t| *t <= at(7200)) {
        s.handle_timeout(t);
        while let Some(a) = s.poll_action() {
            if a == Action::CompactLeaseFile {
                asked.push(t);
            }
        }
    }
    assert_eq!(asked, vec![at(3600), at(7200)]);
}
