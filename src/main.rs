//! The `specserve` command line. Errors stop here as `anyhow` reports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// An AsyncAPI-first WebSocket API server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write `generated/`: api.rs (a readable copy of the build output) and one
    /// JSON Schema per message.
    Gen {
        /// The spec to generate from.
        #[arg(long, default_value = "asyncapi.yaml", env = "SPECSERVE_SPEC")]
        spec: PathBuf,
        /// Where to write.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Gen { spec, out } => generate(&spec, &out),
    }
}

fn generate(spec: &Path, out: &Path) -> Result<()> {
    let api = specserve_codegen::load(spec).map_err(|e| anyhow::anyhow!("{e}"))?;
    let files = specserve_codegen::generated_files(&api).map_err(|e| anyhow::anyhow!("{e}"))?;
    let schemas = out.join("schemas");
    if schemas.exists() {
        // Routes may have been removed from the spec: start the schema folder afresh.
        std::fs::remove_dir_all(&schemas).with_context(|| format!("clearing {}", schemas.display()))?;
    }
    for (relative, contents) in &files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} files under {}", files.len(), out.display());
    Ok(())
}
