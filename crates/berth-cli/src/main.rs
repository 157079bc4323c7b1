//! `berth`: a Docker-compatible container engine. Without a daemon the engine runs in this process (daemonless);
//! containers are supervised by per-container shims, so they outlive the command that started them.

mod cli;
mod commands;
mod error;
mod format;
mod opts;
mod output;
mod progress;
mod registry_auth;
mod relay;
mod sortorder;
mod template;
mod terminal;

use berth_api::client::{Client, Endpoint};
use berth_api::server::listen::Address;
use berth_engine::{Engine, EngineOptions};
use berth_image::DriverChoice;
use clap::Parser;

use crate::cli::{Cli, Command, GlobalOpts};
use crate::error::{CmdResult, Failure};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The shim re-executes this binary; take that path before anything else to keep it lean.
    if args.get(1).map(String::as_str) == Some(berth_engine::shim::COMMAND) {
        std::process::exit(berth_engine::shim::main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some(berth_engine::exec_helper::COMMAND) {
        std::process::exit(berth_engine::exec_helper::main(&args[2..]));
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 125,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let is_run_like = matches!(
        cli.command,
        Command::Run(_) | Command::Create(_) | Command::Start(_)
    );
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("berth: {}", f.message.trim_end());
            // Docker's CLI exits 125 (or 126/127) for run/create/start and 1 for other commands' errors.
            if is_run_like { f.code } else { 1 }
        }
    };
    std::process::exit(code);
}

/// The engine options the global flags give.
fn engine_options(g: &GlobalOpts) -> Result<EngineOptions, Failure> {
    let storage_driver = match g.storage_driver.as_deref() {
        None => DriverChoice::Auto,
        Some("overlay2" | "overlay") => DriverChoice::Overlay,
        Some("vfs") => DriverChoice::Vfs,
        Some(other) => return Err(Failure::engine(format!("unknown storage driver: {other}"))),
    };
    Ok(EngineOptions {
        paths: berth_engine::paths::Paths::new(&g.data_root, &g.exec_root),
        storage_driver,
        cgroup_parent: g.cgroup_parent.clone(),
        network: network_options(g)?,
        registry: registry_settings(g)?,
    })
}

/// How registries are reached, from `--insecure-registry` and `--registry-mirror`.
fn registry_settings(g: &GlobalOpts) -> Result<berth_engine::RegistrySettings, Failure> {
    let options = berth_engine::RegistryOptions {
        insecure: g.insecure_registry.clone(),
    };
    Ok(berth_engine::RegistrySettings::new(options, &g.registry_mirror)?)
}

/// The default network's options from `--bridge`, `--bip` and `--default-address-pool`.
fn network_options(g: &GlobalOpts) -> Result<berth_engine::network::NetworkOptions, Failure> {
    use berth_network::subnet::{Pool, parse_cidr};
    let mut opts = berth_engine::network::NetworkOptions {
        explicit: g.bridge.is_some() || g.bip.is_some(),
        ..Default::default()
    };
    if let Some(bridge) = &g.bridge {
        let name_ok = bridge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if bridge.is_empty() || bridge.len() > 15 || !name_ok || bridge.starts_with('-') {
            return Err(Failure::engine(format!("invalid bridge name: {bridge:?}")));
        }
        opts.bridge = bridge.clone();
    }
    if let Some(bip) = &g.bip {
        opts.bip = Some(parse_cidr(bip).map_err(|e| Failure::engine(format!("invalid --bip: {e}")))?);
    }
    if !g.default_address_pool.is_empty() {
        opts.pools = g
            .default_address_pool
            .iter()
            .map(|p| p.parse::<Pool>())
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::engine(e.to_string()))?;
    }
    Ok(opts)
}

/// The API client for this invocation: the daemon at `-H`/`BERTH_HOST` (which must answer), else the daemon on the
/// exec root's default socket when one answers there, else an API server over the engine in this process (`starts`:
/// the command will start a container, so the engine gets cgroup v1's attach wait going at once).
fn client(g: &GlobalOpts, starts: bool) -> Result<Client, Failure> {
    let endpoint = match g.host.as_slice() {
        [] => {
            let socket = berth_api::server::daemon::default_socket(std::path::Path::new(&g.exec_root));
            if berth_engine::attach::connect(&socket).is_ok() {
                Endpoint::Unix(socket)
            } else {
                let engine = Engine::open(engine_options(g)?)?;
                if starts {
                    engine.warm_up_start();
                }
                Endpoint::in_process(engine)?
            }
        }
        [host] => {
            let endpoint = match berth_api::server::listen::parse(host)? {
                Address::Unix(p) => Endpoint::Unix(p),
                Address::Tcp(a) => match tls_client(g)? {
                    Some(config) => {
                        let name = host_name(host);
                        Endpoint::Tls(a, berth_api::client::tls::server_name(&name)?, config)
                    }
                    None => Endpoint::Tcp(a),
                },
            };
            if endpoint.connect().is_err() {
                return Err(Failure::engine(format!(
                    "Cannot connect to the Berth daemon at {host}. Is the berth daemon running?"
                )));
            }
            endpoint
        }
        _ => return Err(Failure::engine("Please specify only one -H")),
    };
    Ok(Client::new(endpoint)?)
}

/// The client's TLS configuration from `--tls`/`--tlsverify` and the certificate flags; the files default to
/// `ca.pem`, `cert.pem` and `key.pem` in `$BERTH_CERT_PATH` (else `~/.docker`, as the docker CLI's), when present.
fn tls_client(g: &GlobalOpts) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, Failure> {
    if !g.tls && !g.tlsverify {
        return Ok(None);
    }
    let dir = std::env::var_os("BERTH_CERT_PATH")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))
        .unwrap_or_default();
    let file = |given: &Option<String>, name: &str| {
        given
            .as_ref()
            .map(std::path::PathBuf::from)
            .or_else(|| Some(dir.join(name)).filter(|p| p.exists()))
    };
    let opts = berth_api::client::tls::TlsClientOptions {
        verify: g.tlsverify,
        ca: file(&g.tlscacert, "ca.pem"),
        cert: file(&g.tlscert, "cert.pem"),
        key: file(&g.tlskey, "key.pem"),
    };
    Ok(Some(berth_api::client::tls::client_config(&opts)?))
}

/// The host part of `tcp://HOST:PORT` (brackets of an IPv6 address removed).
fn host_name(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let host = match hostport.rsplit_once(':') {
        Some((h, _)) => h,
        None => hostport,
    };
    host.trim_matches(['[', ']']).to_string()
}

fn dispatch(cli: Cli) -> CmdResult {
    use commands::*;
    if let Command::Version = cli.command {
        println!("berth version {}", env!("CARGO_PKG_VERSION"));
        return Ok(0);
    }
    if let Command::Daemon(a) = cli.command {
        let opts = engine_options(&cli.global)?;
        return daemon::run(opts, &cli.global, a);
    }
    // Client-side verbs: no engine involved, as with Docker's CLI.
    if let Command::Logout(a) = cli.command {
        return login::logout(a);
    }
    if let Command::Manifest(c) = cli.command {
        return manifest::run(&cli.global, c);
    }
    let attached = match &cli.command {
        Command::Run(a) => !a.detach,
        Command::Start(a) => a.attach || a.interactive,
        Command::Exec(a) => !a.detach,
        _ => false,
    };
    if attached {
        relay::block_signals()?;
    }
    let starts = matches!(cli.command, Command::Run(_) | Command::Start(_));
    let e = client(&cli.global, starts)?;
    match cli.command {
        Command::Run(a) => run::run(&e, a),
        Command::Create(a) => create::run(&e, a),
        Command::Start(a) => start::run(&e, a),
        Command::Stop(a) => stop::run(&e, a, false),
        Command::Restart(a) => stop::run(&e, a, true),
        Command::Kill(a) => kill::run(&e, a),
        Command::Rm(a) => rm::run(&e, a),
        Command::Ps(a) => ps::run(&e, a),
        Command::Logs(a) => logs::run(&e, a),
        Command::Inspect(a) => inspect::run(&e, a),
        Command::Wait(a) => wait::run(&e, a),
        Command::Top(a) => top::run(&e, a),
        Command::Exec(a) => exec::run(&e, a),
        Command::Pause(a) => pause::run(&e, a, true),
        Command::Unpause(a) => pause::run(&e, a, false),
        Command::Rename(a) => rename::run(&e, a),
        Command::Images(a) => images::run(&e, a),
        Command::Import(a) => import::run(&e, a),
        Command::Pull(a) => pull::run(&e, a),
        Command::Push(a) => push::run(&e, a),
        Command::Login(a) => login::login(&e, a),
        Command::Search(a) => search::run(&e, a),
        Command::Tag(a) => tag::run(&e, a),
        Command::Rmi(a) => rmi::run(&e, a),
        Command::Image(c) => image::run(&e, c),
        Command::Network(c) => network::run(&e, c),
        Command::Port(a) => port::run(&e, a),
        Command::Version | Command::Daemon(_) | Command::Logout(_) | Command::Manifest(_) => {
            unreachable!("handled above")
        }
    }
}
