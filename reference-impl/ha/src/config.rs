//! The `high-availability` parameters of libdhcp_ha.so, read with Kea 2.2's defaults, limits
//! and error texts (ha_config_parser.cc and HAConfig::validate).

use serde_json::{Map, Value};
use std::net::IpAddr;
use std::time::Duration;

/// How the pair shares the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Both serve, each the clients the RFC 3074 hash gives it.
    LoadBalancing,
    /// The primary serves; the standby takes over when it fails.
    HotStandby,
    /// The primary serves and sends lease updates to backups; no failover.
    PassiveBackup,
}

impl Mode {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::LoadBalancing => "load-balancing",
            Mode::HotStandby => "hot-standby",
            Mode::PassiveBackup => "passive-backup",
        }
    }
}

/// A peer's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The primary server.
    Primary,
    /// The other active server of a load-balancing pair.
    Secondary,
    /// The standby of a hot-standby pair.
    Standby,
    /// A server that only receives lease updates.
    Backup,
}

impl Role {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
            Role::Standby => "standby",
            Role::Backup => "backup",
        }
    }
}

/// One server of the HA setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its name, which is also the name of the scope it serves.
    pub name: String,
    /// Where its peer commands go, as written.
    pub url: String,
    /// The URL's host, which Kea requires to be an address.
    pub host: IpAddr,
    /// The URL's port (80 when none is written).
    pub port: u16,
    /// Its role.
    pub role: Role,
    /// It takes over its partner's scope by itself in partner-down.
    pub auto_failover: bool,
    /// HTTP basic authentication (`basic-auth-user`, `basic-auth-password` or
    /// `basic-auth-password-file`): the credentials sent with every command to this peer,
    /// and, in this server's own entry, the credentials its peer endpoint requires.
    pub basic_auth: Option<BasicAuth>,
}

/// A user and password for HTTP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The user, which has no colon.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    /// The user only: a configuration printed for debugging does not show the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl BasicAuth {
    /// The `Authorization` header's value: `Basic` and the base64 of `user:password`.
    pub fn header(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// Whether `header`, an `Authorization` header's value, carries these credentials
    /// (compared in time independent of where they differ).
    pub fn admits(&self, header: Option<&str>) -> bool {
        let want = self.header();
        let got = header.unwrap_or_default().trim();
        want.len() == got.len()
            && want
                .bytes()
                .zip(got.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The HA configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaConfig {
    /// This server's name among [`HaConfig::peers`].
    pub this_server_name: String,
    /// The mode.
    pub mode: Mode,
    /// Time between heartbeats (0: none).
    pub heartbeat_delay: Duration,
    /// Time without contact after which communication counts as interrupted.
    pub max_response_delay: Duration,
    /// A client whose `secs` says it waited longer than this is unacked.
    pub max_ack_delay: Duration,
    /// More unacked clients than this mean the partner is down (0: at once).
    pub max_unacked_clients: u32,
    /// Lease updates kept while in communication-recovery (load balancing only).
    pub delayed_updates_limit: u32,
    /// Send lease updates to the partner.
    pub send_lease_updates: bool,
    /// Fetch the partner's leases when coming back.
    pub sync_leases: bool,
    /// How long each lease page may take.
    pub sync_timeout: Duration,
    /// Leases per page.
    pub sync_page_limit: u32,
    /// Replies wait for backups' acknowledgements too.
    pub wait_backup_ack: bool,
    /// The servers: the primary, then the secondary or standby, then backups.
    pub peers: Vec<Peer>,
    /// Where this server is in `peers`.
    this: usize,
}

/// A fault in the HA parameters: where (a JSON path under the library's `parameters`) and
/// Kea's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The JSON path, e.g. `high-availability[0]/peers[1]/role`.
    pub path: String,
    /// What is wrong, in Kea's words where Kea has some.
    pub message: String,
}

fn fault(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

impl HaConfig {
    /// Reads the hook library's `parameters` map.
    pub fn parse(parameters: &Value) -> Result<Self, ConfigError> {
        let list = parameters
            .get("high-availability")
            .ok_or_else(|| fault("high-availability", "missing parameter 'high-availability'"))?;
        let maps = list
            .as_array()
            .filter(|l| l.len() == 1)
            .ok_or_else(|| {
                fault(
                    "high-availability",
                    "invalid number of configurations in the HA configuration list. Expected exactly one configuration",
                )
            })?;
        let base = "high-availability[0]";
        let m = maps[0]
            .as_object()
            .ok_or_else(|| fault(base, "the HA configuration must be a map"))?;
        let r = Reader { m, base };
        let this_server_name = r
            .string("this-server-name")?
            .ok_or_else(|| fault(base, "missing parameter 'this-server-name'"))?;
        if this_server_name.is_empty() {
            return Err(r.at(
                "this-server-name",
                "'this-server-name' value must not be empty",
            ));
        }
        let mode = match r.string("mode")?.as_deref() {
            Some("load-balancing") => Mode::LoadBalancing,
            Some("hot-standby") => Mode::HotStandby,
            Some("passive-backup") => Mode::PassiveBackup,
            Some(other) => {
                return Err(r.at(
                    "mode",
                    format!("unsupported value '{other}' for mode parameter"),
                ));
            }
            None => return Err(fault(base, "missing parameter 'mode'")),
        };
        let lb_default = if mode == Mode::LoadBalancing { 100 } else { 0 };
        let config = HaConfig {
            heartbeat_delay: r.millis16("heartbeat-delay", 10_000)?,
            max_response_delay: r.millis16("max-response-delay", 60_000)?,
            max_ack_delay: r.millis16("max-ack-delay", 10_000)?,
            max_unacked_clients: r.uint32("max-unacked-clients", 10)?,
            delayed_updates_limit: r.uint32("delayed-updates-limit", lb_default)?,
            send_lease_updates: r.boolean("send-lease-updates", true)?,
            sync_leases: r.boolean("sync-leases", true)?,
            sync_timeout: Duration::from_millis(r.uint32("sync-timeout", 60_000)?.into()),
            sync_page_limit: r.uint32("sync-page-limit", 10_000)?,
            wait_backup_ack: r.boolean("wait-backup-ack", false)?,
            peers: peers(&r)?,
            this: 0,
            this_server_name,
            mode,
        };
        for key in [
            "state-machine",
            "multi-threading",
            "trust-anchor",
            "cert-file",
            "key-file",
        ] {
            if m.contains_key(key) {
                return Err(r.at(
                    key,
                    format!("'{key}' is not implemented by the reference server"),
                ));
            }
        }
        let mut config = config;
        config.this = config
            .peers
            .iter()
            .position(|p| p.name == config.this_server_name)
            .ok_or_else(|| {
                fault(
                    format!("{base}/this-server-name"),
                    format!(
                        "no peer configuration specified for the '{}'",
                        config.this_server_name
                    ),
                )
            })?;
        config.validate(base)?;
        Ok(config)
    }

    /// This server's entry in [`HaConfig::peers`].
    pub fn this_server(&self) -> &Peer {
        &self.peers[self.this]
    }

    /// The other active server of the pair (the failover peer), if there is one.
    pub fn partner(&self) -> Option<&Peer> {
        let me = self.this_server();
        if me.role == Role::Backup || self.mode == Mode::PassiveBackup {
            return None;
        }
        self.peers
            .iter()
            .find(|p| p.name != me.name && p.role != Role::Backup)
    }

    fn validate(&self, base: &str) -> Result<(), ConfigError> {
        let count = |role| self.peers.iter().filter(|p| p.role == role).count();
        let at = |m: &str| Err(fault(format!("{base}/peers"), m));
        for (role, name) in [
            (Role::Primary, "primary"),
            (Role::Secondary, "secondary"),
            (Role::Standby, "standby"),
        ] {
            if count(role) > 1 {
                return at(&format!("multiple {name} servers specified"));
            }
        }
        let (primary, secondary, standby) = (
            count(Role::Primary),
            count(Role::Secondary),
            count(Role::Standby),
        );
        match self.mode {
            Mode::LoadBalancing => {
                if standby > 0 {
                    return at("standby servers not allowed in the load balancing configuration");
                }
                if secondary == 0 {
                    return at("secondary server required in the load balancing configuration");
                }
                if primary == 0 {
                    return at("primary server required in the load balancing configuration");
                }
                if self.wait_backup_ack {
                    return at(
                        "'wait-backup-ack' must be set to false in the load balancing configuration",
                    );
                }
            }
            Mode::HotStandby => {
                if secondary > 0 {
                    return at("secondary servers not allowed in the hot standby configuration");
                }
                if standby == 0 {
                    return at("standby server required in the hot standby configuration");
                }
                if primary == 0 {
                    return at("primary server required in the hot standby configuration");
                }
                if self.wait_backup_ack {
                    return at(
                        "'wait-backup-ack' must be set to false in the hot standby configuration",
                    );
                }
                if self.delayed_updates_limit > 0 {
                    return at(
                        "'delayed-updates-limit' must be set to 0 in the hot standby configuration",
                    );
                }
            }
            Mode::PassiveBackup => {
                if secondary > 0 {
                    return at("secondary servers not allowed in the passive backup configuration");
                }
                if standby > 0 {
                    return at("standby servers not allowed in the passive backup configuration");
                }
                if primary == 0 {
                    return at("primary server required in the passive backup configuration");
                }
                if self.delayed_updates_limit > 0 {
                    return at(
                        "'delayed-updates-limit' must be set to 0 in the passive backup configuration",
                    );
                }
            }
        }
        Ok(())
    }
}

fn peers(r: &Reader<'_>) -> Result<Vec<Peer>, ConfigError> {
    let list =
        r.m.get("peers")
            .ok_or_else(|| fault(r.base, "'peers' parameter missing in HA configuration"))?
            .as_array()
            .ok_or_else(|| r.at("peers", "'peers' parameter must be a list"))?;
    let mut peers: Vec<Peer> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let base = format!("{}/peers[{i}]", r.base);
        let m = v
            .as_object()
            .ok_or_else(|| fault(&base, "peer configuration must be a map"))?;
        let p = Reader { m, base: &base };
        let name = p
            .string("name")?
            .ok_or_else(|| fault(&base, "missing parameter 'name'"))?;
        if name.is_empty() {
            return Err(p.at("name", "peer name must not be empty"));
        }
        if peers.iter().any(|q| q.name == name) {
            return Err(p.at("name", format!("peer with name '{name}' already specified")));
        }
        let url = p
            .string("url")?
            .ok_or_else(|| fault(&base, "missing parameter 'url'"))?;
        let (host, port) = parse_url(&url)
            .map_err(|why| p.at("url", format!("bad url '{url}': {why} for server {name}")))?;
        let role = match p.string("role")?.as_deref() {
            Some("primary") => Role::Primary,
            Some("secondary") => Role::Secondary,
            Some("standby") => Role::Standby,
            Some("backup") => Role::Backup,
            Some(other) => {
                return Err(p.at(
                    "role",
                    format!("unsupported value '{other}' for role parameter"),
                ));
            }
            None => return Err(fault(&base, "missing parameter 'role'")),
        };
        let basic_auth = basic_auth(&p)?;
        for key in ["trust-anchor", "cert-file", "key-file"] {
            if m.contains_key(key) {
                return Err(p.at(
                    key,
                    format!("'{key}' is not implemented by the reference server"),
                ));
            }
        }
        peers.push(Peer {
            auto_failover: p.boolean("auto-failover", true)?,
            name,
            url,
            host,
            port,
            role,
            basic_auth,
        });
    }
    // Kea keeps the peers ordered primary, secondary or standby, then backups.
    peers.sort_by_key(|p| p.role);
    Ok(peers)
}

/// A peer's basic authentication, if it has a user: the password written, or read from
/// `basic-auth-password-file` (its first line), or empty.
fn basic_auth(p: &Reader<'_>) -> Result<Option<BasicAuth>, ConfigError> {
    let user = p.string("basic-auth-user")?.filter(|u| !u.is_empty());
    let password = p.string("basic-auth-password")?;
    let file = p.string("basic-auth-password-file")?;
    let Some(user) = user else {
        return match (password, file) {
            (None, None) => Ok(None),
            (Some(_), _) => Err(p.at(
                "basic-auth-password",
                "basic-auth-password without basic-auth-user",
            )),
            (None, Some(_)) => Err(p.at(
                "basic-auth-password-file",
                "basic-auth-password-file without basic-auth-user",
            )),
        };
    };
    if user.contains(':') {
        return Err(p.at(
            "basic-auth-user",
            format!("user '{user}' must not contain a ':'"),
        ));
    }
    let password = match (password, file) {
        (Some(_), Some(_)) => {
            return Err(p.at(
                "basic-auth-password-file",
                "only one of basic-auth-password and basic-auth-password-file",
            ));
        }
        (Some(pw), None) => pw,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| p.at("basic-auth-password-file", format!("{path}: {e}")))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        (None, None) => String::new(),
    };
    Ok(Some(BasicAuth { user, password }))
}

/// The address and port of an `http://ADDRESS[:PORT]/` URL, or why it is not one.
fn parse_url(url: &str) -> Result<(IpAddr, u16), String> {
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err("https scheme is not supported where TLS is disabled".into());
    } else {
        return Err("invalid URL".into());
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("invalid URL")?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host: IpAddr = host
        .parse()
        .map_err(|_| format!("Failed to convert string to address '{host}': Invalid argument"))?;
    let port = match port {
        Some(p) => p.parse().map_err(|_| "invalid URL".to_string())?,
        None => 80,
    };
    Ok((host, port))
}

struct Reader<'a> {
    m: &'a Map<String, Value>,
    base: &'a str,
}

impl Reader<'_> {
    fn at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        fault(format!("{}/{key}", self.base), message)
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.m.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.at(key, format!("'{key}' must be a string"))),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.m.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.at(key, format!("'{key}' must be a boolean"))),
        }
    }

    fn integer(&self, key: &str, default: u32, max: u64) -> Result<u32, ConfigError> {
        match self.m.get(key) {
            None => Ok(default),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) if i < 0 => Err(self.at(key, format!("'{key}' must not be negative"))),
                (_, Some(u)) if u <= max => Ok(u as u32),
                _ => Err(self.at(key, format!("'{key}' must not be greater than {max}"))),
            },
            Some(_) => Err(self.at(key, format!("'{key}' must be an integer"))),
        }
    }

    fn uint32(&self, key: &str, default: u32) -> Result<u32, ConfigError> {
        self.integer(key, default, u64::from(u32::MAX))
    }

    /// A time in milliseconds that Kea holds in 16 bits.
    fn millis16(&self, key: &str, default: u32) -> Result<Duration, ConfigError> {
        let ms = self.integer(key, default, u64::from(u16::MAX))?;
        Ok(Duration::from_millis(ms.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pair(extra: Value) -> Value {
        let mut m = json!({
            "this-server-name": "server1", "mode": "hot-standby",
            "peers": [
                { "name": "server2", "url": "http://192.0.2.2:8000/", "role": "standby" },
                { "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" } ] });
        if let (Some(m), Value::Object(e)) = (m.as_object_mut(), extra) {
            m.extend(e);
        }
        json!({ "high-availability": [ m ] })
    }

    #[test]
    fn kea_defaults_apply() {
        let c = HaConfig::parse(&pair(json!({}))).expect("valid");
        assert_eq!(c.heartbeat_delay, Duration::from_secs(10));
        assert_eq!(c.max_response_delay, Duration::from_secs(60));
        assert_eq!(c.max_ack_delay, Duration::from_secs(10));
        assert_eq!(c.max_unacked_clients, 10);
        assert_eq!(c.delayed_updates_limit, 0);
        assert!(c.send_lease_updates && c.sync_leases && !c.wait_backup_ack);
        assert_eq!(c.sync_page_limit, 10_000);
        assert_eq!(c.sync_timeout, Duration::from_secs(60));
        // Ordered primary first, as Kea orders them.
        assert_eq!(c.peers[0].name, "server1");
        assert_eq!(c.this_server().role, Role::Primary);
        assert_eq!(c.partner().map(|p| p.name.as_str()), Some("server2"));
        assert_eq!(c.peers[1].port, 8000);
        let lb = HaConfig::parse(&json!({ "high-availability": [ {
            "this-server-name": "a", "mode": "load-balancing",
            "peers": [ { "name": "a", "url": "http://192.0.2.1/", "role": "primary" },
                       { "name": "b", "url": "http://192.0.2.2/", "role": "secondary" } ] } ] }))
        .expect("valid");
        assert_eq!(lb.delayed_updates_limit, 100);
        assert_eq!(lb.peers[1].port, 80);
    }

    #[test]
    fn faults_name_the_key_with_keas_text() {
        let cases = [
            (
                json!({ "heartbeat-delay": 70000 }),
                "high-availability[0]/heartbeat-delay: 'heartbeat-delay' must not be greater than 65535",
            ),
            (
                json!({ "max-unacked-clients": -1 }),
                "high-availability[0]/max-unacked-clients: 'max-unacked-clients' must not be negative",
            ),
            (
                json!({ "mode": "foo" }),
                "high-availability[0]/mode: unsupported value 'foo' for mode parameter",
            ),
            (
                json!({ "this-server-name": "server9" }),
                "high-availability[0]/this-server-name: no peer configuration specified for the 'server9'",
            ),
            (
                json!({ "delayed-updates-limit": 5 }),
                "high-availability[0]/peers: 'delayed-updates-limit' must be set to 0 in the hot standby configuration",
            ),
            (
                json!({ "wait-backup-ack": true }),
                "high-availability[0]/peers: 'wait-backup-ack' must be set to false in the hot standby configuration",
            ),
            (
                json!({ "peers": [ { "name": "server1", "url": "http://peer.example:8000/", "role": "primary" } ] }),
                "high-availability[0]/peers[0]/url: bad url 'http://peer.example:8000/': Failed to convert string to address 'peer.example': Invalid argument for server server1",
            ),
            (
                json!({ "peers": [ { "name": "server1", "url": "http://192.0.2.1/", "role": "tertiary" } ] }),
                "high-availability[0]/peers[0]/role: unsupported value 'tertiary' for role parameter",
            ),
            (
                json!({ "peers": [ { "name": "server1", "url": "http://192.0.2.1/", "role": "primary" },
                                { "name": "server1", "url": "http://192.0.2.2/", "role": "standby" } ] }),
                "high-availability[0]/peers[1]/name: peer with name 'server1' already specified",
            ),
            (
                json!({ "peers": [ { "name": "server1", "url": "http://192.0.2.1/", "role": "primary" },
                                { "name": "server2", "url": "http://192.0.2.2/", "role": "secondary" } ] }),
                "high-availability[0]/peers: secondary servers not allowed in the hot standby configuration",
            ),
            (
                json!({ "peers": [ { "name": "server1", "url": "http://192.0.2.1/", "role": "primary" } ] }),
                "high-availability[0]/peers: standby server required in the hot standby configuration",
            ),
        ];
        for (extra, want) in cases {
            let e = HaConfig::parse(&pair(extra.clone())).expect_err("refused");
            assert_eq!(e.to_string(), want, "{extra}");
        }
        let two = json!({ "high-availability": [ {}, {} ] });
        assert!(
            HaConfig::parse(&two)
                .expect_err("refused")
                .message
                .contains("exactly one")
        );
    }

    /// `pair` with the primary's peer entry extended by `auth`.
    fn with_auth(auth: Value) -> Result<HaConfig, ConfigError> {
        let mut c = pair(json!({}));
        if let (Some(peer), Value::Object(a)) =
            (c["high-availability"][0]["peers"][1].as_object_mut(), auth)
        {
            peer.extend(a);
        }
        HaConfig::parse(&c)
    }

    #[test]
    fn basic_auth_is_read_from_the_peer_entry_or_its_password_file() {
        let c = with_auth(json!({ "basic-auth-user": "ha", "basic-auth-password": "pw" }))
            .expect("valid");
        assert_eq!(
            c.this_server().basic_auth,
            Some(BasicAuth {
                user: "ha".into(),
                password: "pw".into()
            })
        );
        assert_eq!(c.partner().and_then(|p| p.basic_auth.clone()), None);
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").expect("write");
        let c = with_auth(json!({ "basic-auth-user": "ha",
                                  "basic-auth-password-file": file.display().to_string() }))
        .expect("valid");
        assert_eq!(
            c.this_server()
                .basic_auth
                .as_ref()
                .map(|a| a.password.as_str()),
            Some("from-file")
        );
        // An empty user is no authentication, as in Kea.
        let c = with_auth(json!({ "basic-auth-user": "" })).expect("valid");
        assert_eq!(c.this_server().basic_auth, None);
    }

    #[test]
    fn bad_basic_auth_is_refused_at_its_key() {
        for (auth, key, words) in [
            (
                json!({ "basic-auth-user": "h:a" }),
                "basic-auth-user",
                "must not contain a ':'",
            ),
            (
                json!({ "basic-auth-password": "pw" }),
                "basic-auth-password",
                "without basic-auth-user",
            ),
            (
                json!({ "basic-auth-user": "ha", "basic-auth-password": "pw",
                        "basic-auth-password-file": "/nonexistent" }),
                "basic-auth-password-file",
                "only one of",
            ),
            (
                json!({ "basic-auth-user": "ha", "basic-auth-password-file": "/nonexistent/pw" }),
                "basic-auth-password-file",
                "/nonexistent/pw: No such file",
            ),
        ] {
            let e = with_auth(auth.clone()).expect_err("refused");
            assert!(
                e.path.ends_with(&format!("peers[1]/{key}")),
                "{auth}: {e:?}"
            );
            assert!(e.message.contains(words), "{auth}: {e:?}");
        }
    }
}
