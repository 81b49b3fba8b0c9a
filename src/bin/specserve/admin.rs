//! Operator commands: `db init|migrate|status`, `user create|list`, `token revoke`.

use std::borrow::Cow;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use specserve::api::{EmailVerified, Role, UserCreatePayload};
use specserve::handlers::{App, AppConfig};
use specserve::security::audit::AuditLog;
use specserve::store::{DEFAULT_DATABASE_URL, Database, DatabaseUrl, now_utc};
use specserve_runtime::error::Code;

use crate::Outcome;

/// Which database to use.
#[derive(Args, Clone, Debug)]
pub struct DatabaseArgs {
    /// mysql://user:pass@host/db (MySQL 8, MariaDB 10.11), sqlite://file.db, or sqlite::memory:.
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub url: String,
}

impl DatabaseArgs {
    /// Opens the database; a URL that names nothing usable is refused with the reason.
    pub async fn connect(&self) -> anyhow::Result<Database> {
        Database::connect(&self.url).await.context("opening the database")
    }
}

/// `specserve db ...`.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Create the database if it does not exist (MySQL/MariaDB), then apply the
    /// migrations it has not had (all of them to a new one; run it after upgrading).
    Init(DatabaseArgs),
    /// Apply the migrations the database has not had, keeping its data (the
    /// database must exist: `db init` creates it).
    Migrate(DatabaseArgs),
    /// List every migration and whether the database has had it; exit 1 while
    /// any is pending (for deploy scripts: the server refuses to start then).
    Status(DatabaseArgs),
}

/// `specserve user ...`.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user through the same checks as user/create, audited. The
    /// password is read from stdin, or prompted for on a terminal; never a flag.
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make the user an admin (how the first admin is made).
        #[arg(long)]
        admin: bool,
        /// Mark the email verified (audited): under --require-email-verification
        /// the account logs in without a mailed code. Without it the account
        /// waits for a code it asks for with auth/resendVerification.
        #[arg(long)]
        verified: bool,
        /// Audit log file (JSON lines), or `-` for stdout.
        #[arg(long, env = "SPECSERVE_AUDIT_LOG", default_value = "specserve-audit.jsonl")]
        audit_log: PathBuf,
    },
    /// List users (control characters in names and emails are shown escaped).
    List(DatabaseArgs),
}

/// `specserve token ...`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Revoke every live token of a user (a running server notices within --token-cache-ttl).
    Revoke {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The user's id.
        #[arg(long = "user")]
        user_id: i64,
    },
}

/// Runs a `db` command.
pub async fn db(command: DbCommand) -> anyhow::Result<Outcome> {
    let database = match command {
        DbCommand::Init(database) => database,
        DbCommand::Migrate(database) => {
            let store = database.connect().await?;
            let pending = pending(&store).await?;
            store.migrate().await.context("applying the migrations")?;
            for migration in &pending {
                println!("applied {:>4} {}", migration.version, migration.description);
            }
            println!("migrations applied ({} new)", pending.len());
            return Ok(Outcome::Passed);
        }
        DbCommand::Status(database) => {
            let migrations = database.connect().await?.migrations().await.context("reading the migrations")?;
            for migration in &migrations {
                let state = if migration.applied { "applied" } else { "PENDING" };
                println!("{:>4}  {state:<7}  {}", migration.version, migration.description);
            }
            let waiting = migrations.iter().filter(|m| !m.applied).count();
            if waiting > 0 {
                println!("{waiting} pending: `specserve db migrate` applies them");
                return Ok(Outcome::Failed);
            }
            println!("up to date");
            return Ok(Outcome::Passed);
        }
    };
    match Database::create_if_missing(&database.url).await {
        Ok(true) => println!("database created"),
        Ok(false) => {}
        Err(error) => {
            let name = match DatabaseUrl::parse(&database.url) {
                Ok(DatabaseUrl::MySql(url)) => {
                    url.rsplit('/').next().unwrap_or_default().split('?').next().map(str::to_owned)
                }
                _ => None,
            };
            let fix = name.map_or_else(String::new, |name| {
                format!(
                    "\nask an administrator to run: CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; then run `specserve db init` again"
                )
            });
            bail!("the database does not exist and cannot be created: {error}{fix}");
        }
    }
    database.connect().await?.migrate().await.context("applying the migrations")?;
    println!("migrations applied");
    Ok(Outcome::Passed)
}

/// The migrations `store` has not had.
async fn pending(store: &Database) -> anyhow::Result<Vec<specserve::store::Migration>> {
    let migrations = store.migrations().await.context("reading the migrations")?;
    Ok(migrations.into_iter().filter(|m| !m.applied).collect())
}

/// Runs a `user` command (password prompts happen before the runtime starts work).
pub fn user(command: UserCommand, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Outcome> {
    match command {
        UserCommand::Create { database, email, name, admin, verified, audit_log } => {
            let password = read_password()?;
            runtime.block_on(async {
                let store = database.connect().await?;
                let audit = AuditLog::open(&audit_log).with_context(|| format!("opening {}", audit_log.display()))?;
                let config = AppConfig { hash_threads: 1, ..AppConfig::default() };
                let app =
                    App::new(store, config, audit, specserve_runtime::hub::Hub::new()).map_err(|e| anyhow!("{e}"))?;
                let role = if admin { Role::Admin } else { Role::User };
                let email_verified = verified.then_some(EmailVerified);
                let request =
                    UserCreatePayload { name, email, password: Some(password), role: Some(role), email_verified };
                let id = match app.create_user_as_operator(request).await {
                    Ok(id) => id,
                    Err(error) => {
                        let details: Vec<String> = error
                            .details()
                            .iter()
                            .map(|d| format!("\n  {} [{}] {}", d.pointer, d.keyword, d.message))
                            .collect();
                        let said = format!("{}{}", error.message(), details.concat());
                        // What the operator typed is refused (exit 1, README's "no");
                        // the database failing is an error (exit 2).
                        let code = error.code();
                        if code == Code::INTERNAL || code == Code::UNAVAILABLE {
                            bail!("{said}");
                        }
                        eprintln!("user not created: {said}");
                        return Ok(Outcome::Failed);
                    }
                };
                println!("created user {id} ({role})");
                Ok(Outcome::Passed)
            })
        }
        UserCommand::List(database) => runtime.block_on(async {
            let users = database.connect().await?.list_users().await.context("listing users")?;
            let mut rows = vec![["id".to_owned(), "role".into(), "manager".into(), "email".into(), "name".into()]];
            for user in users {
                let manager = user.created_by.map_or_else(|| "-".to_owned(), |id| id.to_string());
                let (email, name) = (for_terminal(&user.email), for_terminal(&user.name));
                rows.push([user.id.to_string(), user.role.to_string(), manager, email.into(), name.into()]);
            }
            print!("{}", table(&rows));
            Ok(Outcome::Passed)
        }),
    }
}

/// Runs a `token` command.
pub async fn token(command: TokenCommand) -> anyhow::Result<Outcome> {
    let TokenCommand::Revoke { database, user_id } = command;
    let revoked = database.connect().await?.revoke_user_tokens(user_id, None, now_utc()).await?;
    println!("revoked {revoked} token(s) of user {user_id}");
    Ok(Outcome::Passed)
}

/// The password from stdin (piped) or a no-echo prompt (terminal).
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password("password: ")?);
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// Rows as columns as wide as their widest cell (in characters), the first
/// column right-aligned (ids), the last not padded.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let width = |column: usize| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..N).map(width).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| match i {
                0 => format!("{cell:>w$}", w = widths[0]),
                i if i + 1 == N => cell.clone(),
                i => format!("{cell:<w$}", w = widths[i]),
            })
            .collect();
        out += &cells.join("  ");
        out.push('\n');
    }
    out
}

/// Text stored by users, made safe for an operator's terminal: control
/// characters (newlines that forge rows, ANSI and OSC escapes) and bidirectional
/// overrides are shown as `\u{..}` escapes.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars().map(|c| if unsafe_char(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::{for_terminal, table};

    #[test]
    fn a_table_lines_up_whatever_the_widths() {
        let row = |cells: [&str; 3]| cells.map(str::to_owned);
        let rows = [
            row(["id", "email", "name"]),
            row(["7", "a-rather-long-address@example.com", "Zoë"]),
            row(["1234", "zoë@example.com", "Al"]),
        ];
        let printed = table(&rows);
        // Where (in characters) each line's last column starts.
        let last_column =
            |line: &str| line.chars().count() - line.rsplit("  ").next().unwrap_or_default().chars().count();
        let starts: Vec<usize> = printed.lines().map(last_column).collect();
        assert_eq!(starts, [starts[0]; 3], "{printed}");
        let ids: Vec<String> = printed.lines().map(|line| line.chars().take(4).collect()).collect();
        assert_eq!(ids, ["  id", "   7", "1234"], "ids are right-aligned: {printed}");
    }

    #[test]
    fn control_characters_cannot_forge_rows_or_drive_the_terminal() {
        let forged = "Eve\n    99  admin   -   ceo@example.com   CEO";
        assert_eq!(for_terminal(forged), "Eve\\u{a}    99  admin   -   ceo@example.com   CEO");
        assert_eq!(for_terminal("\u{1b}]0;owned\u{7}x\u{1b}[2J"), "\\u{1b}]0;owned\\u{7}x\\u{1b}[2J");
        assert_eq!(for_terminal("abc\u{202E}gpj.exe"), "abc\\u{202e}gpj.exe");
        assert_eq!(for_terminal("Zoë O'Brien"), "Zoë O'Brien");
    }
}
