//! Designer commands: `gen`.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;

use crate::Outcome;

/// `specserve gen`.
#[derive(Args)]
pub struct GenArgs {
    /// The spec to generate from.
    #[arg(long, default_value = "asyncapi.yaml", env = "SPECSERVE_SPEC")]
    spec: PathBuf,
    /// Where to write.
    #[arg(long, default_value = "generated")]
    out: PathBuf,
}

/// Writes every generated file under `--out`.
pub fn generate(args: &GenArgs) -> anyhow::Result<Outcome> {
    let api = specserve_codegen::load(&args.spec).map_err(|e| anyhow!("{e}"))?;
    let files = specserve_codegen::generated_files(&api).map_err(|e| anyhow!("{e}"))?;
    let schemas = args.out.join("schemas");
    if schemas.exists() {
        // Routes may have been removed from the spec: start the schema folder afresh.
        std::fs::remove_dir_all(&schemas).with_context(|| format!("clearing {}", schemas.display()))?;
    }
    for (relative, contents) in &files {
        let path = args.out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} files under {}", files.len(), args.out.display());
    Ok(Outcome::Passed)
}
