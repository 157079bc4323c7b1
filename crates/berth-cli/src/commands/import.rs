//! `berth import`: make an image from a root filesystem tarball (a file or `-` for stdin).

use berth_engine::Engine;
use berth_image::ImportOptions;
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// file|URL|- (a file or - for stdin)
    pub file: String,
    /// [REPOSITORY[:TAG]]
    pub reference: Option<String>,
}

pub fn run(e: &Engine, a: ImportArgs) -> CmdResult {
    let opts = ImportOptions {
        reference: a.reference,
        changes: a.change,
        message: a.message,
        platform: a.platform,
    };
    let id = if a.file == "-" {
        e.images().import(std::io::stdin(), opts)?
    } else {
        let f = std::fs::File::open(&a.file)
            .map_err(|err| crate::error::Failure::engine(format!("open {}: {err}", a.file)))?;
        e.images().import(std::io::BufReader::new(f), opts)?
    };
    println!("{}", id.as_str());
    Ok(0)
}
