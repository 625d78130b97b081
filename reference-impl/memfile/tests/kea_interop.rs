//! Lease files cross between Kea 2.2 and this crate both ways: leases kea-dhcp4 writes (through
//! its lease commands) load here as Kea reports them, and a file written here loads in
//! kea-dhcp4 as this crate reads it. Needs kea-dhcp4-server (ci/test installs it).

use dhcplab_memfile::{HEADER4, Lease4, load4};
use dhcplab_testkit::kea::{KeaDhcp4, kea_available};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A lease as Kea's `lease4-get-all` shows it.
fn as_kea_json(l: &Lease4) -> Value {
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let mut v = json!({
        "ip-address": l.address.to_string(),
        "hw-address": hex(&l.hwaddr),
        "valid-lft": l.valid_lifetime,
        "cltt": l.cltt(),
        "subnet-id": l.subnet_id,
        "fqdn-fwd": l.fqdn_fwd,
        "fqdn-rev": l.fqdn_rev,
        "hostname": l.hostname,
        "state": l.state,
    });
    if !l.client_id.is_empty() {
        v["client-id"] = json!(hex(&l.client_id));
    }
    if let Some(ctx) = &l.user_context {
        v["user-context"] = serde_json::from_str(ctx).expect("JSON map");
    }
    v
}

fn kea_leases(kea: &KeaDhcp4) -> BTreeMap<String, Value> {
    let answer = kea.command(&json!({ "command": "lease4-get-all" }));
    let leases = answer["arguments"]["leases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    leases
        .into_iter()
        .map(|l| (l["ip-address"].as_str().unwrap_or_default().to_string(), l))
        .collect()
}

fn ours(leases: &BTreeMap<Ipv4Addr, Lease4>) -> BTreeMap<String, Value> {
    leases
        .values()
        .map(|l| (l.address.to_string(), as_kea_json(l)))
        .collect()
}

#[test]
fn leases_written_by_kea_load_here() {
    if !kea_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases4.csv");
    let kea = KeaDhcp4::start(dir.path(), &file);
    let adds = [
        json!({ "ip-address": "192.0.2.101", "hw-address": "02:00:5e:00:53:01", "client-id": "01:02:00:5e:00:53:01",
                "valid-lft": 3600, "expire": 2_000_000_000u64, "hostname": "a,b&c.example", "fqdn-fwd": true,
                "user-context": { "note": "x,y", "n": [1, 2] } }),
        json!({ "ip-address": "192.0.2.102", "hw-address": "02:00:5e:00:53:02", "valid-lft": 600, "expire": 2_000_000_000u64 }),
        json!({ "ip-address": "192.0.2.103", "hw-address": "02:00:5e:00:53:03", "valid-lft": 86400, "expire": 2_000_000_000u64,
                "state": 1 }),
        json!({ "ip-address": "192.0.2.104", "hw-address": "02:00:5e:00:53:04", "valid-lft": 60, "expire": 2_000_000_000u64 }),
    ];
    for args in adds {
        let answer = kea.command(&json!({ "command": "lease4-add", "arguments": args }));
        assert_eq!(answer["result"], 0, "{answer}");
    }
    let update = json!({ "command": "lease4-update", "arguments": {
        "ip-address": "192.0.2.102", "hw-address": "02:00:5e:00:53:22", "valid-lft": 1200, "expire": 2_000_000_100u64, "hostname": "renamed" } });
    assert_eq!(kea.command(&update)["result"], 0);
    let delete = json!({ "command": "lease4-del", "arguments": { "ip-address": "192.0.2.104" } });
    assert_eq!(kea.command(&delete)["result"], 0);
    let expected = kea_leases(&kea);
    drop(kea);
    let text = std::fs::read_to_string(&file).expect("Kea wrote the file");
    assert!(text.starts_with(&format!("{HEADER4}\n")), "{text}");
    let load = load4(&text).expect("loads");
    assert!(load.errors.is_empty(), "{:?}", load.errors);
    assert_eq!(load.rows, 6);
    assert_eq!(ours(&load.leases), expected);
    // Rows written here are the rows Kea wrote.
    let rewritten: Vec<String> = load.leases.values().map(Lease4::to_row).collect();
    for row in rewritten {
        assert!(
            text.lines().any(|l| l == row),
            "{row} not in Kea's file:\n{text}"
        );
    }
}

#[test]
fn files_written_here_load_in_kea() {
    if !kea_available() {
        return;
    }
    let lease = |last: u8, valid: u32, hostname: &str| Lease4 {
        address: Ipv4Addr::new(192, 0, 2, last),
        hwaddr: vec![0x02, 0, 0x5e, 0, 0x53, last],
        client_id: if last % 2 == 0 {
            vec![1, 2, 0, 0x5e, 0, 0x53, last]
        } else {
            Vec::new()
        },
        valid_lifetime: valid,
        expire: 2_000_000_000,
        subnet_id: 1,
        fqdn_fwd: last % 3 == 0,
        fqdn_rev: false,
        hostname: hostname.to_string(),
        state: 0,
        user_context: (last == 120)
            .then(|| json!({ "written-by": "dhcplab, with commas & more" }).to_string()),
    };
    let rows = [
        lease(110, 3600, "one"),
        lease(111, 7200, "two,with comma"),
        lease(110, 1800, "one-renewed"),
        lease(112, 600, "gone"),
        lease(112, 0, ""),
        lease(120, 86400, "ctx&amp"),
    ];
    let mut text = format!("{HEADER4}\n");
    for r in &rows {
        text.push_str(&r.to_row());
        text.push('\n');
    }
    let expected = ours(&load4(&text).expect("loads").leases);
    assert_eq!(expected.len(), 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dhcplab-leases4.csv");
    std::fs::write(&file, &text).expect("write");
    let kea = KeaDhcp4::start(dir.path(), &file);
    assert_eq!(kea_leases(&kea), expected);
}
