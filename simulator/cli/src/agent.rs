//! `dhcplab agent [-a] [-d n] [-f] [-v] [-6 IF]... [IF...]`: the reference DHCP client daemon,
//! with dhcpagent's flags: DHCPv4 on each IF, DHCPv6 on each `-6 IF` (an interface named both
//! ways runs both). The files dhcpagent keeps under /etc can be put elsewhere, so a lab run
//! keeps everything in its own directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `dhcplab agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Adopt the saved lease's address when the interface already has it, and leave
    /// addresses and leases in place when stopping (dhcpagent's adopt, for hosts whose root
    /// file system depends on the address).
    #[arg(short = 'a')]
    adopt: bool,
    /// Debug level: 1 or more logs debug messages.
    #[arg(short = 'd', value_name = "N", default_value_t = 0)]
    debug: u8,
    /// Stay in the foreground and write messages to standard error (else: a daemon logging
    /// to syslog).
    #[arg(short = 'f')]
    foreground: bool,
    /// Log every datagram sent and received.
    #[arg(short = 'v')]
    verbose: bool,
    /// The configuration file, in the form of /etc/default/dhcpagent [default: that file,
    /// when it exists].
    #[arg(long, value_name = "FILE")]
    defaults: Option<PathBuf>,
    /// Where lease (IF.dhc, IF.dh6), DUID and IAID files are kept.
    #[arg(long, value_name = "DIR", default_value = dhcplab_client_daemon::STATE_DIR)]
    state_dir: PathBuf,
    /// The event program, run as PROGRAM IF EVENT.
    #[arg(long, value_name = "PATH", default_value = dhcplab_client_daemon::EVENT_PROGRAM)]
    event_program: PathBuf,
    /// The control socket that `dhcplab info` asks.
    #[arg(long, value_name = "PATH", default_value = dhcplab_client_daemon::CONTROL_SOCKET)]
    control: PathBuf,
    /// Seconds an event program may run before SIGTERM, and before SIGKILL after that
    /// (dhcpagent: 55 and 3).
    #[arg(long, value_name = "TERM,KILL", value_parser = timeouts)]
    event_timeouts: Option<(Duration, Duration)>,
    /// Run DHCPv6 (RFC 8415) on this interface; may be given more than once. Its settings
    /// are the `.v6.PARAM` and `IF.v6.PARAM` lines of the configuration file:
    /// RELEASE_ON_SIGTERM, PARAM_REQUEST_LIST (the ORO, codes or inittab6 names, default
    /// 23,24), and dhcplab's DHCPLAB_IA_NA (IA_NAs, default 1), DHCPLAB_IA_PD (IA_PDs,
    /// default 0), DHCPLAB_RAPID_COMMIT and DHCPLAB_INFORMATION_ONLY (yes/no, default no). Its
    /// binding is kept in IF.dh6.
    #[arg(short = '6', value_name = "IF")]
    v6: Vec<String>,
    /// The interfaces to configure with DHCPv4 (name one also with -6 to run both).
    #[arg(value_name = "IF", required_unless_present = "v6")]
    interfaces: Vec<String>,
}

fn timeouts(text: &str) -> Result<(Duration, Duration), String> {
    let secs = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{t:?} is not a number of seconds above 0"))
    };
    let (term, kill) = text
        .split_once(',')
        .ok_or("expected TERM,KILL in seconds, as 55,3")?;
    Ok((secs(term)?, secs(kill)?))
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let options = dhcplab_client_daemon::Options {
        interfaces: args.interfaces,
        interfaces6: args.v6,
        defaults: args.defaults,
        state_dir: args.state_dir,
        event_program: args.event_program,
        control_socket: args.control,
        adopt: args.adopt,
        debug: args.debug,
        foreground: args.foreground,
        verbose: args.verbose,
        program_timeouts: args.event_timeouts,
    };
    match dhcplab_client_daemon::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dhcplab agent: {e}");
            ExitCode::from(match e {
                dhcplab_client_daemon::AgentError::Defaults { .. }
                | dhcplab_client_daemon::AgentError::NoInterface
                | dhcplab_client_daemon::AgentError::NoSuchInterface(_)
                | dhcplab_client_daemon::AgentError::NoLinkLocal(_) => 2,
                _ => 1,
            })
        }
    }
}
