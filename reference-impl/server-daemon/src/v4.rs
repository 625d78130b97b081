//! The DHCPv4 daemon: the v4 core ([`dhcplab_server::Server`]) with raw or UDP sockets on
//! port 67, the HA service's peer commands over HTTP and the run-script hook's scripts, in the
//! loop of [`crate::driver`].

use crate::driver::{self, Core, Io, Step, Surroundings};
use crate::scripts::{Bounds, Reaper};
use crate::{DaemonError, Options, net, peers};
use dhcplab_kea_config::dhcp4;
use dhcplab_server::{Action, CommandOutcome, Datagram, Server, Transmit};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// Where the lease file is: the configuration's `name`, else beside the configuration file
/// (never Kea's default under /var).
fn lease_file_path(config_path: &Path, config: &dhcp4::Dhcp4) -> PathBuf {
    config.lease_database.name.clone().unwrap_or_else(|| {
        config_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("dhcplab-leases4.csv")
    })
}

impl Core for Server {
    type Received = net::Received;
    type Transmit = Transmit;
    type Lease = dhcplab_memfile::Lease4;
    type Effect = Action;
    type PeerAnswer = peers::PeerAnswer;

    driver::core_methods!(Server, Datagram, Action, CommandOutcome);
    fn reloaded_by_command(&mut self, answer: &serde_json::Value) {
        self.command_processed("config-reload", None, answer);
    }
    fn handle_peer_answer(&mut self, now: SystemTime, answer: peers::PeerAnswer) {
        Server::handle_peer_answer(self, now, answer.id, answer.result);
    }
}

driver::link_socket!(net::Link, net::Received, Transmit);

/// The HA peer endpoint and requester, and the scripts of run-script.
pub(crate) struct Around {
    /// Where the partner's commands arrive; `None` where nothing listens (tests).
    endpoint: Option<peers::Endpoint>,
    requester: peers::Requester,
}

impl Around {
    /// Peer commands sent with `requester`, no endpoint of this server's own.
    #[cfg(test)]
    pub(crate) fn requester_only(requester: peers::Requester) -> Self {
        Self {
            endpoint: None,
            requester,
        }
    }
}

impl Surroundings<Server> for Around {
    fn effect(&mut self, effect: Action) {
        match effect {
            Action::RunScript(script) => run_script(&script),
            Action::PeerRequest(request) => self.requester.send(request),
            // The core logs HA_STATE_TRANSITION itself, through tracing, at INFO; the generic
            // actions never get here.
            _ => {}
        }
    }
    /// Moves or closes the HA peer endpoint as the configuration in force asks; a failure is
    /// logged and the endpoint listens nowhere until the next reload.
    async fn config_changed(&mut self, server: &Server) {
        if let Some(endpoint) = self.endpoint.as_mut() {
            endpoint.require(peers::endpoint_credentials(server));
            if let Err(e) = endpoint.follow(peers::endpoint_address(server)).await {
                tracing::error!("{e}");
            }
        }
    }
}

/// Serves a `Dhcp4` configuration until stopped.
pub(crate) async fn serve(
    options: &Options,
    config: dhcp4::Dhcp4,
    json: serde_json::Value,
) -> Result<(), DaemonError> {
    let lease_path = lease_file_path(&options.config, &config);
    let (leases, writer) = driver::open_lease_file::<dhcplab_memfile::Lease4>(
        config.lease_database.persist,
        &lease_path,
    )?;
    let links = net::open(&config.interfaces)?;
    let control_path = config.control_socket.as_ref().map(|c| c.path.clone());
    let loader = dhcplab_hook_loader::NativeLoader::new(dhcplab_hook_loader::Scripts::Run);
    let mut server = Server::with_loader(config, json, leases, SystemTime::now(), Box::new(loader))
        .map_err(|e| DaemonError::Config {
            path: options.config.clone(),
            faults: vec![format!("{}:{e}", options.config.display())],
        })?;
    server.set_process_id(std::process::id());
    for l in &links {
        tracing::info!(
            "serving {} ({}, index {}{})",
            l.interface.name,
            l.interface.address,
            l.interface.index,
            if l.interface.direct_response {
                ", raw"
            } else {
                ", udp"
            }
        );
        server.attach(l.interface.clone());
    }
    let (cmd_tx, commands) = mpsc::channel(16);
    let mut endpoint = peers::Endpoint::new(cmd_tx.clone());
    endpoint.require(peers::endpoint_credentials(&server));
    endpoint.follow(peers::endpoint_address(&server)).await?;
    let (requester, peer_answers) = peers::Requester::new();
    let mut around = Around {
        endpoint: Some(endpoint),
        requester,
    };
    let io = Io {
        links,
        writer,
        control: control_path,
        command_sender: cmd_tx,
        commands,
        peer_answers,
    };
    driver::serve(&options.config, &mut server, &mut around, io).await
}

/// Starts the run-script hook's script as Kea does: the path as given (not looked up in
/// PATH), the hook point's name as its argument, Kea's variables as its whole environment,
/// the server's standard streams, not waited for; unlike Kea, bounded in time and number
/// ([`crate::scripts`]).
fn run_script(script: &dhcplab_server::hooks::Script) {
    static REAPER: std::sync::OnceLock<Reaper> = std::sync::OnceLock::new();
    let program = if script.program.contains('/') {
        PathBuf::from(&script.program)
    } else {
        Path::new(".").join(&script.program)
    };
    let mut command = std::process::Command::new(program);
    command
        .args(&script.args)
        .env_clear()
        .envs(script.env.iter().map(|(k, v)| (k, v)));
    if let Err(e) = REAPER
        .get_or_init(|| Reaper::new(Bounds::default()))
        .start(command)
    {
        tracing::error!("run-script {}: {e}", script.program);
    }
}
