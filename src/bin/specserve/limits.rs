//! The user API's own limits as flags and environment variables, beside the
//! server's (`specserve_runtime::cli::LimitArgs`). The defaults live in
//! [`AppConfig::default`] only; the flags show them and convert once.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use specserve::handlers::{Announcers, AppConfig, EmailVerification};
use specserve::mail::Mailer;
use specserve::presence::Visibility;
use specserve::security::secret::Secret;
use specserve_runtime::cli::{HumanDuration, at_least_one};

fn app() -> AppConfig {
    AppConfig::default()
}

/// Account and token limits of the user API (`specserve serve --help`, "Account limits").
/// Per-minute limits are sustained rates with bursts of a third of them.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Account limits")]
pub struct AccountArgs {
    /// Lifetime of a new API token.
    #[arg(long, env = "SPECSERVE_TOKEN_TTL", default_value_t = HumanDuration(app().token_ttl))]
    pub token_ttl: HumanDuration,
    /// Lifetime of an access token from a log-in that asked for a refresh token.
    #[arg(long, env = "SPECSERVE_ACCESS_TOKEN_TTL", default_value_t = HumanDuration(app().access_token_ttl))]
    pub access_token_ttl: HumanDuration,
    /// Lifetime of a refresh token (auth/refresh issues a new one each time).
    #[arg(long, env = "SPECSERVE_REFRESH_TOKEN_TTL", default_value_t = HumanDuration(app().refresh_token_ttl))]
    pub refresh_token_ttl: HumanDuration,
    /// How long a checked token is trusted before the database is asked again
    /// (how long a revocation from another process, such as `token revoke`, takes).
    #[arg(long, env = "SPECSERVE_TOKEN_CACHE_TTL", default_value_t = HumanDuration(app().token_cache_ttl))]
    pub token_cache_ttl: HumanDuration,
    /// Password hashing threads (argon2id, 19 MiB each); default: the number of cores.
    #[arg(long, env = "SPECSERVE_HASH_THREADS", default_value_t = app().hash_threads, value_parser = at_least_one)]
    pub hash_threads: usize,
    /// auth/* requests per minute per client IP.
    #[arg(long, env = "SPECSERVE_AUTH_PER_IP_PER_MINUTE", default_value_t = app().auth_per_ip_per_minute)]
    pub auth_per_ip_per_minute: f64,
    /// Failed log-ins per minute per account and client IP.
    #[arg(long, env = "SPECSERVE_LOGIN_FAILURES_PER_MINUTE", default_value_t = app().login_failures_per_minute)]
    pub login_failures_per_minute: f64,
    /// Failed log-ins per minute per account from addresses that never logged into it.
    #[arg(long, env = "SPECSERVE_LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE", default_value_t = app().login_failures_per_account_per_minute)]
    pub login_failures_per_account_per_minute: f64,
    /// user/create requests per minute per creator.
    #[arg(long, env = "SPECSERVE_CREATES_PER_MINUTE", default_value_t = app().creates_per_minute)]
    pub creates_per_minute: f64,
    /// Password changes (user/update with a password) per minute per caller.
    #[arg(long, env = "SPECSERVE_PASSWORD_CHANGES_PER_MINUTE", default_value_t = app().password_changes_per_minute)]
    pub password_changes_per_minute: f64,
    /// Searches (user/directory, room/discover) per minute per user.
    #[arg(long, env = "SPECSERVE_SEARCHES_PER_MINUTE", default_value_t = app().searches_per_minute)]
    pub searches_per_minute: f64,
    /// New accounts must verify their email with a 6-digit code mailed to them
    /// before they may log in (needs --smtp-url). Off: seed 000's flow.
    #[arg(long, env = "SPECSERVE_REQUIRE_EMAIL_VERIFICATION")]
    pub require_email_verification: bool,
    /// SMTP server for verification mail: smtps://user:pass@host:465 (TLS),
    /// smtp://host:587?tls=required (STARTTLS), or smtp://host:25 (plain, local relays).
    #[arg(long, env = "SPECSERVE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of verification mail.
    #[arg(long, env = "SPECSERVE_MAIL_FROM", default_value = "specserve <no-reply@localhost>")]
    pub mail_from: String,
    /// How long a verification code is accepted.
    #[arg(long, env = "SPECSERVE_VERIFICATION_CODE_TTL", default_value_t = HumanDuration(app().verification_code_ttl))]
    pub verification_code_ttl: HumanDuration,
    /// The least time between two verification mails to one account.
    #[arg(long, env = "SPECSERVE_VERIFICATION_RESEND_INTERVAL", default_value_t = HumanDuration(app().verification_resend_interval))]
    pub verification_resend_interval: HumanDuration,
    /// The server secret that keys stored verification codes (outside the
    /// database, so a copy of it cannot be searched for codes); or its value
    /// in SPECSERVE_SECRET. Every node of a cluster needs the same. Without
    /// either, a single node makes ./specserve-secret.key on first start.
    #[arg(long, env = "SPECSERVE_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
    /// Whom users may see in user/directory, presence/online, presence/list
    /// and presence/changed: all (everyone), contacts (users who share a
    /// room where both joined) or none (themselves only).
    #[arg(long, env = "SPECSERVE_USER_VISIBILITY", default_value_t = app().visibility, value_name = "all|contacts|none")]
    pub user_visibility: Visibility,
    /// Who may post announcements (announcement/post, to every signed-in
    /// connection): admins, or everyone (seed 002's broadcast).
    #[arg(long, env = "SPECSERVE_ANNOUNCERS", default_value_t = app().announcers, value_name = "admins|everyone")]
    pub announcers: Announcers,
}

/// Where a single node keeps the server secret it made itself.
pub const DEFAULT_SECRET_FILE: &str = "specserve-secret.key";

impl AccountArgs {
    /// The server secret: given, or (one node) made on first start.
    fn secret(&self, clustered: bool) -> anyhow::Result<Secret> {
        if let Some(secret) = Secret::from_file_or_env(self.secret_file.as_deref(), "SPECSERVE_SECRET")? {
            return Ok(secret);
        }
        if clustered {
            bail!(
                "--require-email-verification in a cluster needs --secret-file (or SPECSERVE_SECRET), the same on \
                 every node: a code mailed by one node is checked by another"
            );
        }
        let path = std::path::Path::new(DEFAULT_SECRET_FILE);
        let (secret, made) = Secret::read_or_create(path)?;
        if made {
            tracing::info!(path = %path.display(), "made the server secret (keep it with the database's backups, apart from them)");
        }
        Ok(secret)
    }

    /// The application's configuration; mail flags that cannot work are refused.
    /// `clustered`: nodes share codes, so a secret of one node's own will not do.
    pub fn to_app_config(&self, clustered: bool) -> anyhow::Result<AppConfig> {
        let mailer = match (self.require_email_verification, &self.smtp_url) {
            (false, None) => None,
            (true, Some(url)) => Some(Mailer::new(url, &self.mail_from).context("--smtp-url / --mail-from")?),
            (true, None) => bail!("--require-email-verification needs --smtp-url to send the codes"),
            (false, Some(_)) => bail!("--smtp-url is only used with --require-email-verification"),
        };
        let email_verification = match mailer {
            Some(mailer) => Some(EmailVerification { mailer, secret: self.secret(clustered)? }),
            None => None,
        };
        Ok(AppConfig {
            token_ttl: self.token_ttl.0,
            access_token_ttl: self.access_token_ttl.0,
            refresh_token_ttl: self.refresh_token_ttl.0,
            token_cache_ttl: self.token_cache_ttl.0,
            hash_threads: self.hash_threads,
            auth_per_ip_per_minute: self.auth_per_ip_per_minute,
            login_failures_per_minute: self.login_failures_per_minute,
            login_failures_per_account_per_minute: self.login_failures_per_account_per_minute,
            creates_per_minute: self.creates_per_minute,
            password_changes_per_minute: self.password_changes_per_minute,
            searches_per_minute: self.searches_per_minute,
            email_verification,
            verification_code_ttl: self.verification_code_ttl.0,
            verification_resend_interval: self.verification_resend_interval.0,
            visibility: self.user_visibility,
            announcers: self.announcers,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        account: AccountArgs,
    }

    fn parse(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("specserve").chain(args.iter().copied())).expect("flags parse")
    }

    #[test]
    fn without_flags_every_account_limit_is_the_documented_default() {
        let config = parse(&[]).account.to_app_config(false).unwrap();
        assert_eq!(format!("{config:?}"), format!("{:?}", AppConfig::default()));
    }

    #[test]
    fn every_account_flag_reaches_the_configuration() {
        let flags = parse(&[
            "--token-ttl=15m",
            "--access-token-ttl=23s",
            "--refresh-token-ttl=24h",
            "--token-cache-ttl=16s",
            "--hash-threads=17",
            "--auth-per-ip-per-minute=18",
            "--login-failures-per-minute=19",
            "--login-failures-per-account-per-minute=20",
            "--creates-per-minute=21",
            "--password-changes-per-minute=22",
            "--searches-per-minute=27",
            "--verification-code-ttl=25m",
            "--verification-resend-interval=26s",
            "--user-visibility=all",
            "--announcers=everyone",
        ]);
        let secs = Duration::from_secs;
        // A struct literal: a limit added without a flag fails to compile here.
        let expected = AppConfig {
            token_ttl: secs(15 * 60),
            access_token_ttl: secs(23),
            refresh_token_ttl: secs(24 * 3600),
            token_cache_ttl: secs(16),
            hash_threads: 17,
            auth_per_ip_per_minute: 18.0,
            login_failures_per_minute: 19.0,
            login_failures_per_account_per_minute: 20.0,
            creates_per_minute: 21.0,
            password_changes_per_minute: 22.0,
            searches_per_minute: 27.0,
            email_verification: None,
            verification_code_ttl: secs(25 * 60),
            verification_resend_interval: secs(26),
            visibility: Visibility::All,
            announcers: Announcers::Everyone,
        };
        assert_eq!(format!("{:?}", flags.account.to_app_config(false).unwrap()), format!("{expected:?}"));
    }

    #[test]
    fn an_unknown_visibility_is_refused_with_the_choices() {
        let Err(error) = Flags::try_parse_from(["specserve", "--user-visibility=friends"]) else {
            panic!("an unknown visibility was taken");
        };
        assert!(error.to_string().contains("all, contacts or none"), "{error}");
    }

    #[test]
    fn email_verification_flags_that_cannot_work_are_refused() {
        let refused = |args: &[&str]| parse(args).account.to_app_config(false).unwrap_err().to_string();
        assert!(refused(&["--require-email-verification"]).contains("needs --smtp-url"));
        assert!(refused(&["--smtp-url=smtp://127.0.0.1:25"]).contains("only used with --require-email-verification"));
        let bad_url = format!(
            "{:#}",
            parse(&["--require-email-verification", "--smtp-url=http://x"]).account.to_app_config(false).unwrap_err()
        );
        assert!(bad_url.contains("invalid SMTP URL"), "{bad_url}");
        let bad_from = format!(
            "{:#}",
            parse(&["--require-email-verification", "--smtp-url=smtp://127.0.0.1:25", "--mail-from=nobody"])
                .account
                .to_app_config(false)
                .unwrap_err()
        );
        assert!(bad_from.contains("invalid mail address `nobody`"), "{bad_from}");
        let dir = std::env::temp_dir().join(format!("specserve-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret_file = dir.join("secret.key");
        let _ = std::fs::remove_file(&secret_file);
        Secret::generate().unwrap().write_new(&secret_file).unwrap();
        let secret_flag = format!("--secret-file={}", secret_file.display());
        let verifying = ["--require-email-verification", "--smtp-url=smtp://user:hunter2@127.0.0.1:2525", &secret_flag];
        let config = parse(&verifying).account.to_app_config(false).unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("127.0.0.1:2525") && !shown.contains("hunter2"), "{shown}");
        let clustered = parse(&verifying[..2]).account.to_app_config(true).unwrap_err().to_string();
        assert!(clustered.contains("needs --secret-file"), "{clustered}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn zero_hashing_threads_are_refused() {
        assert!(Flags::try_parse_from(["specserve", "--hash-threads=0"]).is_err());
    }
}
