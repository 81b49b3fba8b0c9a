//! Designer commands: `gen` (the committed generated files) and `new` (a project for any spec).

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;

use specserve_tools::Outcome;

use crate::qa_commands::PerspectiveArg;

/// `specserve-tools gen`.
#[derive(Args)]
pub struct GenArgs {
    /// The spec to generate from.
    #[arg(long, default_value = "asyncapi.yaml", env = "SPECSERVE_SPEC")]
    spec: PathBuf,
    /// Where to write.
    #[arg(long, default_value = "generated")]
    out: PathBuf,
    /// Whose side the document describes; `client` generates the server a client's document talks to.
    #[arg(long, value_enum, default_value_t)]
    perspective: PerspectiveArg,
}

/// Writes every generated file under `--out`.
pub fn generate(args: &GenArgs) -> anyhow::Result<Outcome> {
    let Some(api) = args.perspective.load_or_report(&args.spec)? else { return Ok(Outcome::Failed) };
    eprint!("{}", specserve_codegen::report::not_served(&api));
    let files = specserve_codegen::generated_files_of(&args.spec, &api).map_err(|e| anyhow!("{e}"))?;
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

/// `specserve-tools new`.
#[derive(Args)]
pub struct NewArgs {
    /// Where to make the project; it must not exist, or be empty.
    dir: PathBuf,
    /// The AsyncAPI 3.0/3.1 document to serve (the files it references are copied too).
    #[arg(long)]
    spec: PathBuf,
    /// The package name; default: the spec's title in kebab case.
    #[arg(long)]
    name: Option<String>,
    /// A checkout of specserve, whose `runtime` and `codegen` crates the project
    /// depends on by path (they are not on crates.io); default: the one this
    /// binary was built from.
    #[arg(long, env = "SPECSERVE_HOME", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    specserve_path: PathBuf,
    /// Whose side the document describes; `client` makes the server a client's
    /// document talks to (its build.rs reads the document that way).
    #[arg(long, value_enum, default_value_t)]
    perspective: PerspectiveArg,
}

/// Makes a Cargo project that serves `--spec`: it builds, runs and passes its
/// tests at once, with every operation answering `not_implemented`, on the
/// dependency versions of the specserve checkout it depends on (its `Cargo.lock`).
pub fn new_project(args: &NewArgs) -> anyhow::Result<Outcome> {
    if args.dir.exists() && std::fs::read_dir(&args.dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        anyhow::bail!("{} exists and is not empty: choose a new folder", args.dir.display());
    }
    let Some(api) = args.perspective.load_or_report(&args.spec)? else { return Ok(Outcome::Failed) };
    if !api.warnings.is_empty() {
        eprintln!("{}", api.warnings.located());
    }
    // The spec's files, the root renamed `asyncapi.yaml`, the rest where its references expect them.
    let docs = specserve_codegen::spec::Documents::load(&args.spec).map_err(|e| anyhow!("{e}"))?;
    let mut copies = vec![("asyncapi.yaml".to_owned(), args.spec.clone())];
    for (name, path) in specserve_codegen::spec::referenced_files(&docs) {
        if std::path::Path::new(&name).components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            anyhow::bail!("{name} is outside the spec's folder: put the spec and what it references in one folder");
        }
        copies.push((name, path));
    }
    let checkout = args.specserve_path.canonicalize().unwrap_or_else(|_| args.specserve_path.clone());
    let dependency = |krate: &str| {
        let path = checkout.join(krate).display().to_string();
        format!("{{ path = {} }}", serde_json::Value::from(path))
    };
    let options = specserve_codegen::emit::scaffold::Options {
        name: args.name.clone(),
        runtime_dep: dependency("runtime"),
        codegen_dep: dependency("codegen"),
        spec_files: copies.iter().map(|(name, _)| name.clone()).collect(),
    };
    let files = specserve_codegen::emit::scaffold::files(&api, &options).map_err(|e| anyhow!("{e}"))?;
    let write = |relative: &str, contents: &[u8]| -> anyhow::Result<()> {
        let path = args.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
    };
    for (name, source) in &copies {
        write(name, &std::fs::read(source).with_context(|| format!("reading {}", source.display()))?)?;
    }
    for (relative, contents) in &files {
        write(relative, contents.as_bytes())?;
    }
    // The versions specserve is tested with, not whatever is newest today:
    // a newer dependency can warn (a deprecation) or break the build of
    // code the newcomer did not write. Cargo trims what the project does not use.
    let lock = checkout.join("Cargo.lock");
    if lock.is_file() {
        write("Cargo.lock", &std::fs::read(&lock).with_context(|| format!("reading {}", lock.display()))?)?;
    }
    println!(
        "made {} for {} ({} files). Next:\n  cd {}\n  cargo run    # serve it\n  cargo test",
        args.dir.display(),
        api.info.title,
        copies.len() + files.len(),
        args.dir.display()
    );
    Ok(Outcome::Passed)
}
