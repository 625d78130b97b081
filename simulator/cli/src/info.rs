//! `dhcplab info [-c] [-i IF] [-n LIMIT] [-v 4|6] CODE|NAME`: prints a value of the current
//! lease, in the manner of dhcpinfo(1). NAME is an option name from Solaris
//! /etc/dhcp/inittab (`ServerID`, `LeaseTim`, `Router`, `DNSserv`, `Subnet`, ...; any case) or
//! one of the packet's fields `Yiaddr`, `Ciaddr`, `Siaddr`, `Giaddr`; CODE is an option
//! number. Values are printed as dhcpinfo prints them: addresses one per line (pairs for
//! `StaticRt`), numbers in decimal, text as it is, raw bytes as `0xNN`. An option the lease
//! does not carry prints nothing.
//!
//! With `-v6` (dhcpinfo's `-v {4|6}`) it answers for DHCPv6 from the last Reply that carried
//! configuration on the interface: NAME is an option name from Solaris /etc/dhcp/inittab6
//! (`ClientID`, `ServerID`, `DNSAddresses`, `DNSSearch`, `SNTPServers`, `InfoRefresh`, ...;
//! any case) or the field `MsgType` or `TransId`, or dhcplab's `Addresses` (the IA_NA
//! addresses held) or `Prefixes` (the delegated prefixes held, as PREFIX/LEN); CODE is an
//! option number (1-65535). Values print one a line.
//!
//! Exit codes, dhcplab's (dhcpinfo's in brackets): 0 success (0); 1 the agent cannot be
//! reached or holds no lease (2); 2 bad arguments or an unknown name (3).

use dhcplab_client::inittab;
use dhcplab_client6::inittab6::{self, Entry6};
use dhcplab_wire::v4::Message;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dhcplab info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print raw bytes (`0xNN`, one per line) whatever the option's type.
    #[arg(short = 'c')]
    canonical: bool,
    /// The interface [default: the first one of the agent that holds a lease (with -v6: a
    /// binding or configuration)].
    #[arg(short = 'i', value_name = "IF")]
    interface: Option<String>,
    /// Print at most this many lines.
    #[arg(short = 'n', value_name = "LIMIT")]
    limit: Option<usize>,
    /// The protocol: 4 (DHCPv4) or 6 (DHCPv6), as dhcpinfo's `-v6`.
    #[arg(short = 'v', value_name = "4|6", default_value_t = 4, value_parser = version)]
    version: u8,
    /// The agent's control socket.
    #[arg(long, value_name = "PATH", default_value = dhcplab_client_daemon::CONTROL_SOCKET)]
    control: PathBuf,
    /// An option code or name (inittab; with -v6 inittab6), or a packet field; with -v6 also
    /// Addresses or Prefixes (what the agent holds).
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

fn version(text: &str) -> Result<u8, String> {
    match text {
        "4" => Ok(4),
        "6" => Ok(6),
        _ => Err(format!("{text:?}: the protocol is 4 or 6")),
    }
}

/// What is asked for of DHCPv6.
enum Wanted6 {
    Option(u16),
    Field(&'static Entry6),
    Addresses,
    Prefixes,
}

fn wanted6(text: &str) -> Option<Wanted6> {
    if let Ok(code) = text.parse::<u16>() {
        return (code > 0).then_some(Wanted6::Option(code));
    }
    if let Some(e) = inittab6::by_name(text) {
        return Some(Wanted6::Option(e.code));
    }
    if let Some(f) = inittab6::field_by_name(text) {
        return Some(Wanted6::Field(f));
    }
    if text.eq_ignore_ascii_case("Addresses") {
        return Some(Wanted6::Addresses);
    }
    text.eq_ignore_ascii_case("Prefixes")
        .then_some(Wanted6::Prefixes)
}

/// Sends `request` to the agent; its answer's arguments when it succeeded, else the exit code
/// (the reason is printed).
fn ask(args: &Args, mut request: Value) -> Result<Value, ExitCode> {
    if let Some(i) = &args.interface {
        request["interface"] = i.clone().into();
    }
    let answer = dhcplab_adapters::exchange(
        &args.control,
        std::time::Duration::from_secs(10),
        &format!("{request}\n"),
    )
    .map_err(|e| {
        eprintln!(
            "dhcplab info: the agent is not reachable at {}: {e}",
            args.control.display()
        );
        ExitCode::from(1)
    })?;
    let answer: Value = serde_json::from_str(&answer).map_err(|e| {
        eprintln!("dhcplab info: the agent's answer is not JSON: {e}");
        ExitCode::from(1)
    })?;
    if answer.get("result").and_then(Value::as_i64) != Some(0) {
        let text = answer.get("text").and_then(Value::as_str);
        eprintln!("dhcplab info: {}", text.unwrap_or("the agent refused"));
        return Err(ExitCode::from(1));
    }
    Ok(answer.get("arguments").cloned().unwrap_or(Value::Null))
}

/// `dhcplab info -v6`.
fn run6(args: &Args) -> ExitCode {
    let Some(what) = wanted6(&args.what) else {
        eprintln!(
            "dhcplab info: unknown identifier {:?}: give an option code (1-65535), an inittab6 name such as DNSAddresses, MsgType, TransId, Addresses or Prefixes",
            args.what
        );
        return ExitCode::from(2);
    };
    let found = match ask(args, serde_json::json!({"command": "lease6"})) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let leases = |kind: &str| -> Vec<String> {
        found["leases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["kind"] == kind)
            .filter_map(|l| {
                let address = l["address"].as_str()?;
                Some(if kind == "na" {
                    address.to_string()
                } else {
                    format!("{address}/{}", l["prefix_len"])
                })
            })
            .collect()
    };
    let lines = match what {
        Wanted6::Addresses => leases("na"),
        Wanted6::Prefixes => leases("pd"),
        Wanted6::Field(_) | Wanted6::Option(_) => {
            let reply = found["reply"]
                .as_str()
                .and_then(|h| dhcplab_client::hex::decode(h).ok());
            let Some(reply) = reply else {
                eprintln!("dhcplab info: the agent holds no DHCPv6 Reply for the interface");
                return ExitCode::from(1);
            };
            match values6(&what, &reply, args.canonical) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("dhcplab info: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    for line in lines.into_iter().take(args.limit.unwrap_or(usize::MAX)) {
        println!("{line}");
    }
    ExitCode::SUCCESS
}

/// The lines printed for `what` of DHCPv6 message `reply`: raw bytes (`0xNN`) when
/// `canonical`; nothing for an option the Reply does not carry.
fn values6(what: &Wanted6, reply: &[u8], canonical: bool) -> Result<Vec<String>, String> {
    let message = dhcplab_wire::v6::Message::decode(reply)
        .map_err(|e| format!("the agent's Reply does not decode: {e}"))?;
    let raw = |data: &[u8]| data.iter().map(|b| format!("0x{b:02X}")).collect();
    match what {
        Wanted6::Field(f) => {
            let start = usize::from(f.code);
            let width = match f.kind {
                inittab6::Kind6::Unsigned(w) => usize::from(w),
                _ => 1,
            };
            let bytes = reply
                .get(start..start + width)
                .ok_or_else(|| format!("the Reply is too short for {}", f.name))?;
            if canonical {
                return Ok(raw(bytes));
            }
            inittab6::read(f.kind, bytes).map_err(|w| format!("{}: not {w}", f.name))
        }
        Wanted6::Option(code) => {
            let mut out = Vec::new();
            for o in message.options().get_all(*code) {
                if canonical {
                    out.extend(raw(o.data));
                } else {
                    out.extend(inittab6::values6(*code, o.data).map_err(|e| e.to_string())?);
                }
            }
            Ok(out)
        }
        Wanted6::Addresses | Wanted6::Prefixes => Ok(Vec::new()),
    }
}

/// Runs the subcommand.
pub fn run(args: &Args) -> ExitCode {
    if args.version == 6 {
        return run6(args);
    }
    let Some(what) = wanted(&args.what) else {
        eprintln!(
            "dhcplab info: unknown identifier {:?}: give an option code (1-254), an inittab name such as LeaseTim, or Yiaddr, Ciaddr, Siaddr, Giaddr",
            args.what
        );
        return ExitCode::from(2);
    };
    let answer = match ask(args, serde_json::json!({"command": "lease"})) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let ack = answer
        .get("ack")
        .and_then(Value::as_str)
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
