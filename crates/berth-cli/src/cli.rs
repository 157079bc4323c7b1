//! The command line: global options and the Docker-style verbs, as clap definitions.

use clap::{Args, Parser, Subcommand};

use crate::commands;

/// A Docker-compatible container engine.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, disable_help_subcommand = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalOpts {
    /// Root of persistent state
    #[arg(long, global = true, default_value = berth_engine::paths::DEFAULT_DATA_ROOT, env = "BERTH_DATA_ROOT")]
    pub data_root: String,
    /// Root of runtime state
    #[arg(long, global = true, default_value = berth_engine::paths::DEFAULT_EXEC_ROOT, env = "BERTH_EXEC_ROOT")]
    pub exec_root: String,
    /// Daemon socket to connect to (the daemon: to listen on; repeatable)
    #[arg(short = 'H', long, global = true, env = "BERTH_HOST")]
    pub host: Vec<String>,
    /// Storage driver: overlay2 or vfs (default: overlay2 where it works)
    #[arg(long, global = true, env = "BERTH_STORAGE_DRIVER")]
    pub storage_driver: Option<String>,
    /// Parent cgroup of containers
    #[arg(
        long,
        global = true,
        default_value = "/berth",
        hide = true,
        env = "BERTH_CGROUP_PARENT"
    )]
    pub cgroup_parent: String,
    /// Bridge interface of the default network (created on demand; default berth0)
    #[arg(long, global = true, env = "BERTH_BRIDGE")]
    pub bridge: Option<String>,
    /// Address and prefix of the default bridge (e.g. 10.89.0.1/24)
    #[arg(long, global = true, env = "BERTH_BIP")]
    pub bip: Option<String>,
    /// Use TLS; implied by --tlsverify (the daemon: on its TCP listeners)
    #[arg(long, global = true)]
    pub tls: bool,
    /// Use TLS and verify the remote (the daemon: require client certificates signed by --tlscacert)
    #[arg(long, global = true, env = "BERTH_TLS_VERIFY", value_parser = clap::builder::FalseyValueParser::new())]
    pub tlsverify: bool,
    /// Trust certs signed only by this CA (client default: $BERTH_CERT_PATH/ca.pem)
    #[arg(long, global = true, value_name = "FILE")]
    pub tlscacert: Option<String>,
    /// Path to TLS certificate file (client default: $BERTH_CERT_PATH/cert.pem)
    #[arg(long, global = true, value_name = "FILE")]
    pub tlscert: Option<String>,
    /// Path to TLS key file (client default: $BERTH_CERT_PATH/key.pem)
    #[arg(long, global = true, value_name = "FILE")]
    pub tlskey: Option<String>,
    /// Pool new networks' subnets are carved from: base=CIDR,size=N (repeatable)
    #[arg(long = "default-address-pool", global = true)]
    pub default_address_pool: Vec<String>,
    /// Registry spoken to over plain HTTP: host[:port] or an IPv4 CIDR (repeatable; loopback ones always are)
    #[arg(long = "insecure-registry", global = true, value_name = "REGISTRY")]
    pub insecure_registry: Vec<String>,
    /// Mirror of Docker Hub tried before it: http(s)://host[:port] (repeatable)
    #[arg(long = "registry-mirror", global = true, value_name = "URL")]
    pub registry_mirror: Vec<String>,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and run a new container from an image
    Run(commands::run::RunArgs),
    /// Create a new container
    Create(commands::create::CreateArgs),
    /// Start one or more stopped containers
    Start(commands::start::StartArgs),
    /// Stop one or more running containers
    Stop(commands::stop::StopArgs),
    /// Restart one or more containers
    Restart(commands::stop::StopArgs),
    /// Kill one or more running containers
    Kill(commands::kill::KillArgs),
    /// Remove one or more containers
    Rm(commands::rm::RmArgs),
    /// List containers
    Ps(commands::ps::PsArgs),
    /// Fetch the logs of a container
    Logs(commands::logs::LogsArgs),
    /// Return low-level information on containers or images
    Inspect(commands::inspect::InspectArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(commands::wait::WaitArgs),
    /// Display the running processes of a container
    Top(commands::top::TopArgs),
    /// Execute a command in a running container
    Exec(commands::exec::ExecArgs),
    /// Pause all processes within one or more containers
    Pause(commands::pause::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(commands::pause::PauseArgs),
    /// Rename a container
    Rename(commands::rename::RenameArgs),
    /// List port mappings or a specific mapping for the container
    Port(commands::port::PortArgs),
    /// List images
    Images(commands::images::ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(commands::import::ImportArgs),
    /// Download an image from a registry
    Pull(commands::pull::PullArgs),
    /// Upload an image to a registry
    Push(commands::push::PushArgs),
    /// Authenticate to a registry
    Login(commands::login::LoginArgs),
    /// Log out from a registry
    Logout(commands::login::LogoutArgs),
    /// Search Docker Hub for images
    Search(commands::search::SearchArgs),
    /// Manage image manifests in registries
    #[command(subcommand)]
    Manifest(commands::manifest::ManifestCommand),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(commands::tag::TagArgs),
    /// Remove one or more images
    Rmi(commands::rmi::RmiArgs),
    /// Manage images
    #[command(subcommand)]
    Image(commands::image::ImageCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(commands::network::NetworkCommand),
    /// Show the berth version information
    Version,
    /// Serve the Docker Engine API (the berth daemon)
    Daemon(commands::daemon::DaemonArgs),
}
