//! `dhcplab info [-c] [-i IF] [-n LIMIT] CODE|NAME`: prints a value of the current lease, in
//! the manner of dhcpinfo(1). NAME is an option name from Solaris /etc/dhcp/inittab
//! (`ServerID`, `LeaseTim`, `Router`, `DNSserv`, `Subnet`, ...; any case) or one of the
//! packet's fields `Yiaddr`, `Ciaddr`, `Siaddr`, `Giaddr`; CODE is an option number. Values
//! are printed as dhcpinfo prints them: addresses one per line (pairs for `StaticRt`),
//! numbers in decimal, text as it is, raw bytes as `0xNN`. An option the lease does not
//! carry prints nothing.
//!
//! Exit codes, dhcplab's (dhcpinfo's in brackets): 0 success (0); 1 the agent cannot be
//! reached or holds no lease (2); 2 bad arguments or an unknown name (3).

use dhcplab_client::inittab;
use dhcplab_wire::v4::Message;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dhcplab info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print raw bytes (`0xNN`, one per line) whatever the option's type.
    #[arg(short = 'c')]
    canonical: bool,
    /// The interface [default: the first one of the agent that holds a lease].
    #[arg(short = 'i', value_name = "IF")]
    interface: Option<String>,
    /// Print at most this many lines.
    #[arg(short = 'n', value_name = "LIMIT")]
    limit: Option<usize>,
    /// The agent's control socket.
    #[arg(long, value_name = "PATH", default_value = dhcplab_client_daemon::CONTROL_SOCKET)]
    control: PathBuf,
    /// An option code or name, or a packet field.
    #[arg(value_name = "CODE|NAME")]
    what: String,
}

/// What is asked for.
enum Wanted {
    Option(u8),
    Field(&'static str),
}

fn wanted(text: &str) -> Option<Wanted> {
    if let Ok(code) = text.parse::<u8>() {
        return (1..=254).contains(&code).then_some(Wanted::Option(code));
    }
    if let Some(e) = inittab::by_name(text) {
        return Some(Wanted::Option(e.code));
    }
    ["Yiaddr", "Ciaddr", "Siaddr", "Giaddr"]
        .into_iter()
        .find(|f| f.eq_ignore_ascii_case(text))
        .map(Wanted::Field)
}

/// Runs the subcommand.
pub fn run(args: &Args) -> ExitCode {
    let Some(what) = wanted(&args.what) else {
        eprintln!(
            "dhcplab info: unknown identifier {:?}: give an option code (1-254), an inittab name such as LeaseTim, or Yiaddr, Ciaddr, Siaddr, Giaddr",
            args.what
        );
        return ExitCode::from(2);
    };
    let mut request = serde_json::json!({"command": "lease"});
    if let Some(i) = &args.interface {
        request["interface"] = i.clone().into();
    }
    let answer = match dhcplab_adapters::exchange(
        &args.control,
        std::time::Duration::from_secs(10),
        &format!("{request}\n"),
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "dhcplab info: the agent is not reachable at {}: {e}",
                args.control.display()
            );
            return ExitCode::from(1);
        }
    };
    let answer: serde_json::Value = match serde_json::from_str(&answer) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("dhcplab info: the agent's answer is not JSON: {e}");
            return ExitCode::from(1);
        }
    };
    if answer.get("result").and_then(serde_json::Value::as_i64) != Some(0) {
        let text = answer.get("text").and_then(serde_json::Value::as_str);
        eprintln!("dhcplab info: {}", text.unwrap_or("the agent refused"));
        return ExitCode::from(1);
    }
    let ack = answer
        .pointer("/arguments/ack")
        .and_then(serde_json::Value::as_str)
        .and_then(|h| dhcplab_client::hex::decode(h).ok());
    let Some(message) = ack.as_deref().and_then(|b| Message::decode(b).ok()) else {
        eprintln!("dhcplab info: the agent's lease holds no readable ACK");
        return ExitCode::from(1);
    };
    let lines = match what {
        Wanted::Field(name) => {
            let address = match name {
                "Yiaddr" => message.yiaddr,
                "Ciaddr" => message.ciaddr,
                "Siaddr" => message.siaddr,
                _ => message.giaddr,
            };
            vec![address.to_string()]
        }
        Wanted::Option(code) => {
            let Some(data) = message.option(code) else {
                return ExitCode::SUCCESS;
            };
            let values = if args.canonical {
                data.data.iter().map(|b| format!("0x{b:02X}")).collect()
            } else {
                match inittab::values(code, &data.data) {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("dhcplab info: {e}");
                        return ExitCode::from(1);
                    }
                }
            };
            if args.canonical {
                values
                    .into_iter()
                    .take(args.limit.unwrap_or(usize::MAX))
                    .collect()
            } else {
                inittab::lines(code, &values, args.limit)
            }
        }
    };
    for line in lines {
        println!("{line}");
    }
    ExitCode::SUCCESS
}
