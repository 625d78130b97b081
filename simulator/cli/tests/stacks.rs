//! `dhcplab stacks` lists every stack with its role, presence, version and features; the real
//! stacks CI installs are found with the versions they print.

use std::process::Command;

#[test]
fn every_stack_is_listed_and_installed_ones_have_versions() {
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(["stacks", "--json", "-"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = rows.as_array().expect("a list");
    let row = |role: &str, name: &str| {
        rows.iter()
            .find(|r| r["role"] == role && r["name"] == name)
            .unwrap_or_else(|| panic!("{role} {name} listed"))
            .clone()
    };
    for role in ["server", "client"] {
        let r = row(role, "reference");
        assert_eq!(r["installed"], true);
        assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
    }
    let ci = std::env::var_os("CI").is_some();
    for (role, name, pattern) in [
        ("server", "kea", "2."),
        ("server", "dhcpd", "4."),
        ("server", "dnsmasq", "2."),
        ("client", "dhclient", "4."),
        ("client", "udhcpc", "1."),
        ("client", "dhcpcd", ""),
    ] {
        let r = row(role, name);
        if r["installed"] == true {
            let v = r["version"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} printed a version"));
            assert!(v.starts_with(pattern) && v.contains('.'), "{name}: {v}");
            assert!(
                r["path"].as_str().is_some_and(|p| p.starts_with('/')),
                "{name}"
            );
        } else {
            assert!(!ci, "ci/test installs {name}");
        }
        assert!(
            r["features"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "v4")),
            "{name}"
        );
    }
    let table = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("stacks")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&table.stdout);
    assert_eq!(text.lines().count(), rows.len() + 1, "{text}");
    assert!(text.lines().next().is_some_and(|h| h.starts_with("stack")));
}
