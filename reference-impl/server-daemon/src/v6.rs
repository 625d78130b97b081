//! The DHCPv6 daemon: the v6 core ([`dhcplab_server6::Server`]) with UDP sockets on port 547
//! ([`crate::net6`]), Kea's v6 memfile lease file and the server DUID file, in the loop of
//! [`crate::driver`].
//!
//! Files, as kea-dhcp6 keeps them but never under /var unless the configuration says so: the
//! lease file is `lease-database.name`, else `kea-leases6.csv` in the data directory; the
//! server DUID is `kea-dhcp6-serverid` in the data directory. The data directory is
//! `data-directory` when configured, else the configuration file's directory (kea-dhcp6's
//! default is /var/lib/kea).

use crate::driver::{self, Core, Io, Step, Surroundings};
use crate::{DaemonError, Options, lease_file, net6};
use dhcplab_kea_config::dhcp6::{self, Dhcp6, SERVER_ID_FILE};
use dhcplab_server6::{Action, CommandOutcome, Datagram, Lease6, Server, Transmit};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// Kea's default name of the DHCPv6 lease file (in its data directory).
pub const LEASE_FILE: &str = "kea-leases6.csv";

/// The directory where the server keeps its files: `data-directory`, else the configuration
/// file's directory.
pub fn data_directory(config_path: &Path, config: &Dhcp6) -> PathBuf {
    config.data_directory.clone().unwrap_or_else(|| {
        config_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    })
}

/// Where the lease file is: `lease-database.name`, else [`LEASE_FILE`] in the
/// [`data_directory`].
pub fn lease_file_path(config_path: &Path, config: &Dhcp6) -> PathBuf {
    config
        .lease_database
        .name
        .clone()
        .unwrap_or_else(|| data_directory(config_path, config).join(LEASE_FILE))
}

/// Where the server DUID file is: [`SERVER_ID_FILE`] in the [`data_directory`].
pub fn server_id_path(config_path: &Path, config: &Dhcp6) -> PathBuf {
    data_directory(config_path, config).join(SERVER_ID_FILE)
}

/// The server DUID file's text when the configuration keeps the DUID in a file and the file
/// is there; a missing file is `None` (the core then makes a DUID and asks to write it).
pub fn read_server_id(path: &Path, config: &Dhcp6) -> Result<Option<String>, DaemonError> {
    if !config.server_id.persist {
        return Ok(None);
    }
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DaemonError::ServerIdFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// What `-t` prints for a configuration both the reader and the core accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `subnet6` entries.
    pub subnets: usize,
    /// Address pools.
    pub pools: usize,
    /// Prefix delegation pools.
    pub pd_pools: usize,
    /// Host reservations.
    pub reservations: usize,
}

/// Checks a `Dhcp6` configuration's text as `kea-dhcp6 -t` does: the reader's faults (each
/// `line:column: JSON path: what`), then what the core refuses. Nothing is opened or written.
pub fn check(text: &str) -> Result<Checked, Vec<String>> {
    let (config, json) = dhcp6::parse_document(text)
        .map_err(|f| f.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let checked = Checked {
        subnets: config.subnets.len(),
        pools: config.subnets.iter().map(|s| s.pools.len()).sum(),
        pd_pools: config.subnets.iter().map(|s| s.pd_pools.len()).sum(),
        reservations: config.subnets.iter().map(|s| s.reservations.len()).sum(),
    };
    // The core's own refusals (what the reader accepts but the server does not implement);
    // the leases and the DUID file play no part in them.
    Server::new(config, json, Vec::new(), None, SystemTime::UNIX_EPOCH)
        .map_err(|e| vec![e.to_string()])?;
    Ok(checked)
}

impl Core for Server {
    type Received = net6::Received;
    type Transmit = Transmit;
    type Lease = Lease6;
    type Effect = Action;
    type PeerAnswer = Infallible;

    driver::core_methods!(Server, Datagram, Action, CommandOutcome);
}

driver::link_socket!(net6::Link, net6::Received, Transmit);

/// The server DUID file.
struct Around {
    server_id_path: PathBuf,
}

impl Surroundings<Server> for Around {
    fn effect(&mut self, effect: Action) {
        if let Action::WriteServerId(text) = effect {
            // Kea logs a failure to write the DUID file and goes on serving with the DUID
            // (`DUIDFactory::set`); so does this daemon.
            match lease_file::replace_file(&self.server_id_path, &text) {
                Ok(()) => tracing::info!(
                    "server DUID {} written to {}",
                    text.trim_end(),
                    self.server_id_path.display()
                ),
                Err(e) => tracing::error!("{}: {e}", self.server_id_path.display()),
            }
        }
    }
}

/// Serves a `Dhcp6` configuration until stopped.
pub(crate) async fn serve(
    options: &Options,
    config: Dhcp6,
    json: serde_json::Value,
) -> Result<(), DaemonError> {
    let lease_path = lease_file_path(&options.config, &config);
    let server_id_path = server_id_path(&options.config, &config);
    let server_id = read_server_id(&server_id_path, &config)?;
    let (leases, writer) =
        driver::open_lease_file::<Lease6>(config.lease_database.persist, &lease_path)?;
    let links = net6::open(&config.interfaces)?;
    let control_path = config.control_socket.as_ref().map(|c| c.path.clone());
    let mut server = Server::new(
        config,
        json,
        leases,
        server_id.as_deref(),
        SystemTime::now(),
    )
    .map_err(|e| DaemonError::Config {
        path: options.config.clone(),
        faults: vec![format!("{}:{e}", options.config.display())],
    })?;
    server.set_process_id(std::process::id());
    tracing::info!("server DUID {}", hex_colon(server.server_duid()));
    for l in &links {
        tracing::info!(
            "serving {} ({}, index {}, udp)",
            l.interface.name,
            l.interface.link_local,
            l.interface.index
        );
        server.attach(l.interface.clone());
    }
    let (cmd_tx, commands) = mpsc::channel(16);
    // There is no HA for DHCPv6: a channel that is closed at once.
    let (_, peer_answers) = mpsc::channel(1);
    let io = Io {
        links,
        writer,
        control: control_path,
        command_sender: cmd_tx,
        commands,
        peer_answers,
    };
    driver::serve(
        &options.config,
        &mut server,
        &mut Around { server_id_path },
        io,
    )
    .await
}

/// Bytes as colon-separated hex, as Kea writes DUIDs.
fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(text: &str) -> Dhcp6 {
        dhcp6::parse(text).expect("configuration")
    }

    #[test]
    fn files_default_to_the_configuration_directory_never_var() {
        let c = config(r#"{ "Dhcp6": { "subnet6": [] } }"#);
        let path = Path::new("/tmp/lab/dhcplab6.json");
        assert_eq!(
            lease_file_path(path, &c),
            PathBuf::from("/tmp/lab/kea-leases6.csv")
        );
        assert_eq!(
            server_id_path(path, &c),
            PathBuf::from("/tmp/lab/kea-dhcp6-serverid")
        );
        assert_eq!(
            lease_file_path(Path::new("dhcplab6.json"), &c),
            PathBuf::from("./kea-leases6.csv")
        );
    }

    #[test]
    fn data_directory_and_lease_name_are_followed() {
        let c = config(
            r#"{ "Dhcp6": { "data-directory": "/tmp/lab/data",
                 "lease-database": { "type": "memfile", "name": "/tmp/lab/l6.csv" } } }"#,
        );
        let path = Path::new("/tmp/lab/dhcplab6.json");
        assert_eq!(lease_file_path(path, &c), PathBuf::from("/tmp/lab/l6.csv"));
        assert_eq!(
            server_id_path(path, &c),
            PathBuf::from("/tmp/lab/data/kea-dhcp6-serverid")
        );
        let c = config(r#"{ "Dhcp6": { "data-directory": "/tmp/lab/data" } }"#);
        assert_eq!(
            lease_file_path(path, &c),
            PathBuf::from("/tmp/lab/data/kea-leases6.csv")
        );
    }

    #[test]
    fn the_server_id_file_is_read_only_when_it_persists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SERVER_ID_FILE);
        let keep = config(r#"{ "Dhcp6": {} }"#);
        assert_eq!(read_server_id(&path, &keep).expect("missing is fine"), None);
        std::fs::write(&path, "00:01:00:01:2c:00:00:01:02:00:00:00:00:01\n").expect("write");
        assert_eq!(
            read_server_id(&path, &keep).expect("read").as_deref(),
            Some("00:01:00:01:2c:00:00:01:02:00:00:00:00:01\n")
        );
        let forget = config(r#"{ "Dhcp6": { "server-id": { "type": "LLT", "persist": false } } }"#);
        assert_eq!(read_server_id(&path, &forget).expect("not read"), None);
    }

    #[test]
    fn a_written_server_id_is_what_the_next_start_reads() {
        // The DUID made at the first start is written where the second start reads it, and
        // the second core uses it unchanged (Kea's DUIDFactory: the file's DUID when it agrees
        // with `server-id`).
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("dhcplab6.json");
        let c = config(r#"{ "Dhcp6": {} }"#);
        let json = serde_json::json!({ "Dhcp6": {} });
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut first = Server::new(c.clone(), json.clone(), Vec::new(), None, now).expect("first");
        let text = std::iter::from_fn(|| first.poll_action())
            .find_map(|a| match a {
                Action::WriteServerId(t) => Some(t),
                _ => None,
            })
            .expect("a new DUID is to be written");
        let mut around = Around {
            server_id_path: server_id_path(&config_path, &c),
        };
        around.effect(Action::WriteServerId(text.clone()));
        let read = read_server_id(&server_id_path(&config_path, &c), &c).expect("read");
        assert_eq!(read.as_deref(), Some(text.as_str()));
        let mut second = Server::new(
            c,
            json,
            Vec::new(),
            read.as_deref(),
            now + Duration::from_secs(60),
        )
        .expect("second");
        assert_eq!(second.server_duid(), first.server_duid());
        assert!(
            std::iter::from_fn(|| second.poll_action())
                .all(|a| !matches!(a, Action::WriteServerId(_))),
            "the file's DUID is not written again"
        );
        // Kea's DUIDFactory writes the DUID's text with no line end.
        assert_eq!(hex_colon(first.server_duid()), text);
    }

    #[test]
    fn check_reports_line_and_column() {
        let text = concat!(
            "{ \"Dhcp6\": {\n",
            "  \"subnet6\": [ { \"id\": 1, \"subnet\": \"2001:db8:1::/64\",\n",
            "    \"pools\": [ { \"pool\": \"2001:db8:2::1 - 2001:db8:2::9\" } ] } ]\n",
            "} }"
        );
        let faults = check(text).expect_err("the pool is outside its subnet");
        assert!(
            faults.iter().any(|f| f.starts_with("3:")),
            "the fault is on line 3: {faults:?}"
        );
        let ok = check(
            r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64",
                "pools": [ { "pool": "2001:db8:1::100 - 2001:db8:1::1ff" } ],
                "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 40,
                                "delegated-len": 56 } ] } ] } }"#,
        )
        .expect("accepted");
        assert_eq!(
            ok,
            Checked {
                subnets: 1,
                pools: 1,
                pd_pools: 1,
                reservations: 0
            }
        );
    }

    #[test]
    fn family_follows_the_top_level_map() {
        use crate::{Family, family};
        assert_eq!(family(r#"{ "Dhcp6": {} }"#), Family::V6);
        assert_eq!(family("# comment\n{ \"Dhcp6\": {} }"), Family::V6);
        assert_eq!(family(r#"{ "Dhcp4": {} }"#), Family::V4);
        assert_eq!(family(r#"{ "Dhcp4": {}, "Dhcp6": {} }"#), Family::V4);
        assert_eq!(family("not json"), Family::V4);
    }
}
