//! The `vipd` command line. Only argument handling lives here.

use std::net::IpAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vipd::proto::{Advert, Auth, Endpoints};

#[derive(Parser)]
#[command(
    name = "vipd",
    version,
    about = "A VRRP daemon that keeps a virtual IP on the healthiest host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode one VRRP advertisement given as hex (the IP payload, as
    /// `tcpdump -x` shows it after the IP header) and print its fields.
    Decode {
        /// The VRRP message in hex; spaces and colons are ignored.
        hex: String,
        /// IP source address (v3's checksum covers it).
        #[arg(long)]
        src: IpAddr,
        /// IP destination address [default: the VRRP group of src's family].
        #[arg(long)]
        dst: Option<IpAddr>,
        /// TTL / hop limit the packet arrived with.
        #[arg(long, default_value_t = 255)]
        ttl: u8,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Decode { hex, src, dst, ttl } => decode(&hex, src, dst, ttl),
    }
}

fn decode(hex: &str, src: IpAddr, dst: Option<IpAddr>, ttl: u8) -> ExitCode {
    let bytes = match parse_hex(hex) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("vipd decode: {message}");
            return ExitCode::FAILURE;
        }
    };
    let endpoints = match dst {
        Some(dst) => Endpoints::new(src, dst),
        None => Endpoints::multicast_from(src),
    };
    match Advert::decode_received(&bytes, &endpoints, ttl) {
        Ok(advert) => {
            println!("version    {}", advert.version);
            println!("vrid       {}", advert.vrid);
            println!("priority   {}", advert.priority);
            println!("interval   {}", advert.interval);
            let auth = match advert.auth {
                Auth::None => "none".to_string(),
                Auth::Pass(_) => "PASS (password not shown)".to_string(),
                Auth::Other { kind, .. } => format!("type {kind} (unsupported)"),
            };
            println!("auth       {auth}");
            let addresses = match &advert.addresses {
                vipd::proto::AddressList::V4(list) => {
                    list.iter().map(ToString::to_string).collect::<Vec<_>>()
                }
                vipd::proto::AddressList::V6(list) => {
                    list.iter().map(ToString::to_string).collect()
                }
            };
            println!("addresses  {}", addresses.join(" "));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("vipd decode: not a valid advert from {src}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("not hex at byte {i}: {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}
