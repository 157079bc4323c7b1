//! `berth network …`: create, list, inspect, remove and prune networks, and connect containers to them or disconnect
//! them — one module per verb, each an Engine API client printing what Docker's CLI prints.

mod connect;
mod create;
mod inspect;
mod ls;
mod prune;
mod rm;

use clap::Subcommand;

use crate::error::CmdResult;
use berth_api::client::Client;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(create::CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Display detailed information on one or more networks
    Inspect(inspect::InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Remove all unused networks
    Prune(prune::PruneArgs),
    /// Connect a container to a network
    Connect(connect::ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(connect::DisconnectArgs),
}

pub fn run(c: &Client, cmd: NetworkCommand) -> CmdResult {
    match cmd {
        NetworkCommand::Create(a) => create::run(c, a),
        NetworkCommand::Ls(a) => ls::run(c, a),
        NetworkCommand::Inspect(a) => inspect::run(c, a),
        NetworkCommand::Rm(a) => rm::run(c, a),
        NetworkCommand::Prune(a) => prune::run(c, a),
        NetworkCommand::Connect(a) => connect::connect(c, a),
        NetworkCommand::Disconnect(a) => connect::disconnect(c, a),
    }
}
