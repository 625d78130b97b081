//! `dhcplab server -t FILE` checks a Kea configuration like `kea-dhcp4 -t`: exit 0 and a
//! summary when it is accepted; every fault as `FILE:line:column: path: message` and exit 2
//! when not.

use std::process::Command;

fn server(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .arg("server")
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_a_kea_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea4.json");
    std::fs::write(
        &file,
        r#"// comment
{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] },
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ] } ] } }"#,
    )
    .expect("write");
    let (code, stdout, stderr) = server(&["-t", file.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.ends_with("configuration OK (1 subnets, 1 pools, 0 reservations)\n"),
        "{stdout}"
    );
}

#[test]
fn check_reports_every_fault_with_file_line_column_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        "{ \"Dhcp4\": {\n  \"valid-lifetime\": -1,\n  \"colour\": 1 } }",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8 path");
    let (code, _, stderr) = server(&["-t", path]);
    assert_eq!(code, Some(2));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{path}:2:21: Dhcp4.valid-lifetime: expected an integer from 0 to 4294967295, found -1"
            ),
            format!("{path}:3:3: Dhcp4.colour: unknown key"),
            format!("{path}: 2 faults; configuration not accepted"),
        ]
    );
    let (code, _, stderr) = server(&["-t", "/nonexistent/kea.json"]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn running_with_a_missing_or_faulty_configuration_exits_2() {
    let (code, _, stderr) = server(&["-c", "/nonexistent/kea.json"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/kea.json"), "{stderr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea4.json");
    std::fs::write(&file, "{ \"Dhcp4\": { \"subnet4\": 7 } }").expect("write");
    let (code, _, stderr) = server(&["-c", file.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("kea4.json:1:25: Dhcp4.subnet4: expected an array"),
        "{stderr}"
    );
}

#[test]
fn check_opens_each_hooks_library_and_checks_run_script_without_running_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dhcplab_testkit::hooks::example("trace");
    let script = dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\n").expect("write");
    let cases = [
        // Loads: the trace library's load() is not run, so its missing "file" is no fault.
        (format!(r#"{{ "library": "{}" }}"#, trace.display()), None),
        (
            r#"{ "library": "/etc/passwd" }"#.to_string(),
            Some("not a loadable shared object"),
        ),
        (
            r#"{ "library": "/lab/libdhcp_run_script.so" }"#.to_string(),
            Some("the 'name' parameter is mandatory"),
        ),
        (
            format!(
                r#"{{ "library": "libdhcp_run_script.so", "parameters": {{ "name": "{}" }} }}"#,
                script.display()
            ),
            Some("File not executable"),
        ),
        (
            r#"{ "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so" }"#.to_string(),
            Some("failed to configure High Availability hooks library: high-availability: missing parameter 'high-availability'"),
        ),
        (
            r#"{ "library": "libdhcp_ha.so", "parameters": { "high-availability": [ {
                 "this-server-name": "server1", "mode": "hot-standby", "heartbeat-delay": 70000,
                 "peers": [ { "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" },
                            { "name": "server2", "url": "http://192.0.2.2:8000/", "role": "standby" } ] } ] } }"#
                .to_string(),
            Some("high-availability[0]/heartbeat-delay: 'heartbeat-delay' must not be greater than 65535"),
        ),
    ];
    for (entry, fault) in cases {
        let file = dir.path().join("kea4.json");
        std::fs::write(
            &file,
            format!("{{ \"Dhcp4\": {{\n  \"hooks-libraries\": [\n    {entry} ] }} }}"),
        )
        .expect("write");
        let path = file.to_str().expect("utf-8 path");
        let (code, _, stderr) = server(&["-t", path]);
        match fault {
            None => assert_eq!(code, Some(0), "{entry}: {stderr}"),
            Some(f) => {
                assert_eq!(code, Some(2), "{entry}");
                let first = stderr.lines().next().unwrap_or_default();
                assert!(
                    first.starts_with(&format!("{path}:3:5: Dhcp4.hooks-libraries[0] (")),
                    "{first}"
                );
                assert!(first.contains(f), "{entry}: {first}");
            }
        }
    }
}

#[test]
fn check_takes_a_dhcp6_file_as_kea_dhcp6_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea6.json");
    std::fs::write(
        &file,
        r#"# comment
{ "Dhcp6": { "interfaces-config": { "interfaces": [ "eth0" ] },
  "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64",
                 "pools": [ { "pool": "2001:db8:1::100 - 2001:db8:1::1ff" } ],
                 "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 40, "delegated-len": 56 } ],
                 "reservations": [ { "duid": "00:03:00:01:02:00:5e:00:53:01", "ip-addresses": [ "2001:db8:1::5" ] } ] } ] } }"#,
    )
    .expect("write");
    let (code, stdout, stderr) = server(&["-t", file.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.ends_with("configuration OK (1 subnets, 1 pools, 1 pd-pools, 1 reservations)\n"),
        "{stdout}"
    );
}

#[test]
fn check_reports_dhcp6_faults_with_file_line_column_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad6.json");
    std::fs::write(
        &file,
        "{ \"Dhcp6\": {\n  \"preferred-lifetime\": -1,\n  \"colour\": 1 } }",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8 path");
    let (code, _, stderr) = server(&["-t", path]);
    assert_eq!(code, Some(2));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("{path}:2:25: Dhcp6.preferred-lifetime: ")),
        "{stderr}"
    );
    assert_eq!(lines[1], format!("{path}:3:3: Dhcp6.colour: unknown key"));
    assert_eq!(
        lines[2],
        format!("{path}: 2 faults; configuration not accepted")
    );
    // Running with it refuses it the same way, exit 2.
    let (code, _, stderr) = server(&["-c", path]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("{path}:3:3: Dhcp6.colour")),
        "{stderr}"
    );
}
