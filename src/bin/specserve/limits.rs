//! Every limit of the server and the application as a flag and an environment
//! variable. The defaults live in [`Limits::default`] and [`AppConfig::default`]
//! only; the flags show them and convert once into those structs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use specserve::handlers::AppConfig;
use specserve::server::Limits;

/// A duration written the way operators do (`10s`, `500ms`, `7days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl FromStr for HumanDuration {
    type Err = humantime::DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(HumanDuration)
    }
}

/// A count that must be at least 1 (a queue of 0 would never let a reply out).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

fn server() -> Limits {
    Limits::default()
}

fn app() -> AppConfig {
    AppConfig::default()
}

/// Connection and transport limits (`specserve serve --help`, "Limits").
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Connection limits")]
pub struct LimitArgs {
    /// Largest WebSocket message or frame in bytes; larger closes with 1009.
    #[arg(long, env = "SPECSERVE_MAX_MESSAGE_BYTES", default_value_t = server().max_message_bytes)]
    pub max_message_bytes: usize,
    /// Deadline for the TLS handshake.
    #[arg(long, env = "SPECSERVE_TLS_HANDSHAKE_TIMEOUT", default_value_t = HumanDuration(server().tls_handshake_timeout))]
    pub tls_handshake_timeout: HumanDuration,
    /// Deadline for the HTTP request (upgrade) after TLS.
    #[arg(long, env = "SPECSERVE_UPGRADE_TIMEOUT", default_value_t = HumanDuration(server().upgrade_timeout))]
    pub upgrade_timeout: HumanDuration,
    /// How often to ping each socket.
    #[arg(long, env = "SPECSERVE_PING_INTERVAL", default_value_t = HumanDuration(server().ping_interval))]
    pub ping_interval: HumanDuration,
    /// Close a socket that has not answered a ping within this (1001).
    #[arg(long, env = "SPECSERVE_PONG_TIMEOUT", default_value_t = HumanDuration(server().pong_timeout))]
    pub pong_timeout: HumanDuration,
    /// Replies queued per connection; while full, the connection stops reading.
    #[arg(long, env = "SPECSERVE_OUTBOUND_QUEUE", default_value_t = server().outbound_queue, value_parser = at_least_one)]
    pub outbound_queue: usize,
    /// Close a client (1008) whose socket accepts nothing for this long while replies wait.
    #[arg(long, env = "SPECSERVE_SEND_TIMEOUT", default_value_t = HumanDuration(server().send_timeout))]
    pub send_timeout: HumanDuration,
    /// Frames dispatched concurrently per connection (replies stay in order).
    #[arg(long, env = "SPECSERVE_MAX_IN_FLIGHT", default_value_t = server().max_in_flight, value_parser = at_least_one)]
    pub max_in_flight: usize,
    /// Open WebSocket connections in all; more get 503.
    #[arg(long, env = "SPECSERVE_MAX_CONNECTIONS", default_value_t = server().max_connections)]
    pub max_connections: usize,
    /// Open WebSocket connections per client IP; more get 503.
    #[arg(long, env = "SPECSERVE_MAX_CONNECTIONS_PER_IP", default_value_t = server().max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// Sustained frames (text, binary or ping) per second per connection.
    #[arg(long, env = "SPECSERVE_FRAMES_PER_SECOND", default_value_t = server().frames_per_second)]
    pub frames_per_second: f64,
    /// Frames per connection allowed in a burst.
    #[arg(long, env = "SPECSERVE_FRAME_BURST", default_value_t = server().frame_burst)]
    pub frame_burst: f64,
    /// Refused frames within --rate-limit-window before the connection is closed (1008).
    #[arg(long, env = "SPECSERVE_RATE_LIMIT_STRIKES", default_value_t = server().rate_limit_strikes)]
    pub rate_limit_strikes: u32,
    /// The window of --rate-limit-strikes.
    #[arg(long, env = "SPECSERVE_RATE_LIMIT_WINDOW", default_value_t = HumanDuration(server().rate_limit_window))]
    pub rate_limit_window: HumanDuration,
    /// How long graceful shutdown may take.
    #[arg(long, env = "SPECSERVE_SHUTDOWN_TIMEOUT", default_value_t = HumanDuration(server().shutdown_timeout))]
    pub shutdown_timeout: HumanDuration,
    /// After sending a close frame, how long to wait for the client's close reply.
    #[arg(long, env = "SPECSERVE_CLOSE_TIMEOUT", default_value_t = HumanDuration(server().close_timeout))]
    pub close_timeout: HumanDuration,
}

impl LimitArgs {
    /// The server's limits.
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            tls_handshake_timeout: self.tls_handshake_timeout.0,
            upgrade_timeout: self.upgrade_timeout.0,
            ping_interval: self.ping_interval.0,
            pong_timeout: self.pong_timeout.0,
            outbound_queue: self.outbound_queue,
            send_timeout: self.send_timeout.0,
            max_in_flight: self.max_in_flight,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            frames_per_second: self.frames_per_second,
            frame_burst: self.frame_burst,
            rate_limit_strikes: self.rate_limit_strikes,
            rate_limit_window: self.rate_limit_window.0,
            shutdown_timeout: self.shutdown_timeout.0,
            close_timeout: self.close_timeout.0,
        }
    }
}

/// Account and token limits of the user API (`specserve serve --help`, "Account limits").
/// Per-minute limits are sustained rates with bursts of a third of them.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Account limits")]
pub struct AccountArgs {
    /// Lifetime of a new API token.
    #[arg(long, env = "SPECSERVE_TOKEN_TTL", default_value_t = HumanDuration(app().token_ttl))]
    pub token_ttl: HumanDuration,
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
}

impl AccountArgs {
    /// The application's configuration.
    pub fn to_app_config(&self) -> AppConfig {
        AppConfig {
            token_ttl: self.token_ttl.0,
            token_cache_ttl: self.token_cache_ttl.0,
            hash_threads: self.hash_threads,
            auth_per_ip_per_minute: self.auth_per_ip_per_minute,
            login_failures_per_minute: self.login_failures_per_minute,
            login_failures_per_account_per_minute: self.login_failures_per_account_per_minute,
            creates_per_minute: self.creates_per_minute,
            password_changes_per_minute: self.password_changes_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Both {
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        account: AccountArgs,
    }

    fn parse(args: &[&str]) -> Both {
        Both::try_parse_from(std::iter::once("specserve").chain(args.iter().copied())).expect("flags parse")
    }

    #[test]
    fn without_flags_every_limit_is_the_documented_default() {
        let both = parse(&[]);
        assert_eq!(both.limits.to_limits(), Limits::default());
        assert_eq!(format!("{:?}", both.account.to_app_config()), format!("{:?}", AppConfig::default()));
    }

    #[test]
    fn every_limit_flag_reaches_the_configuration() {
        let both = parse(&[
            "--max-message-bytes=1000",
            "--tls-handshake-timeout=1s",
            "--upgrade-timeout=2s",
            "--ping-interval=3s",
            "--pong-timeout=4s",
            "--outbound-queue=5",
            "--send-timeout=6s",
            "--max-in-flight=7",
            "--max-connections=8",
            "--max-connections-per-ip=9",
            "--frames-per-second=10",
            "--frame-burst=11",
            "--rate-limit-strikes=12",
            "--rate-limit-window=13s",
            "--shutdown-timeout=14s",
            "--close-timeout=1500ms",
            "--token-ttl=15m",
            "--token-cache-ttl=16s",
            "--hash-threads=17",
            "--auth-per-ip-per-minute=18",
            "--login-failures-per-minute=19",
            "--login-failures-per-account-per-minute=20",
            "--creates-per-minute=21",
            "--password-changes-per-minute=22",
        ]);
        let secs = Duration::from_secs;
        // Struct literals: a limit added without a flag fails to compile here.
        assert_eq!(
            both.limits.to_limits(),
            Limits {
                max_message_bytes: 1000,
                tls_handshake_timeout: secs(1),
                upgrade_timeout: secs(2),
                ping_interval: secs(3),
                pong_timeout: secs(4),
                outbound_queue: 5,
                send_timeout: secs(6),
                max_in_flight: 7,
                max_connections: 8,
                max_connections_per_ip: 9,
                frames_per_second: 10.0,
                frame_burst: 11.0,
                rate_limit_strikes: 12,
                rate_limit_window: secs(13),
                shutdown_timeout: secs(14),
                close_timeout: Duration::from_millis(1500),
            }
        );
        let expected = AppConfig {
            token_ttl: secs(15 * 60),
            token_cache_ttl: secs(16),
            hash_threads: 17,
            auth_per_ip_per_minute: 18.0,
            login_failures_per_minute: 19.0,
            login_failures_per_account_per_minute: 20.0,
            creates_per_minute: 21.0,
            password_changes_per_minute: 22.0,
        };
        assert_eq!(format!("{:?}", both.account.to_app_config()), format!("{expected:?}"));
    }

    #[test]
    fn a_queue_or_in_flight_limit_of_zero_is_refused() {
        for flag in ["--outbound-queue=0", "--max-in-flight=0", "--hash-threads=0"] {
            assert!(Both::try_parse_from(["specserve", flag]).is_err(), "{flag}");
        }
    }
}
