//! Outbound mail: the email verification codes, over SMTP (`--smtp-url`).
//!
//! One [`Mailer`] per process, built at start so a bad URL or sender address
//! is refused before the server listens. The transport is lettre's: `smtps://`
//! (TLS), `smtp://...?tls=required` (STARTTLS) or `smtp://` (plain, for a
//! relay on the same host or a test server).

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why mail could not be set up or sent. Never carries the message body (it
/// holds the code).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `--smtp-url` is not an SMTP URL lettre can use.
    #[error("invalid SMTP URL: {0}")]
    InvalidUrl(String),
    /// `--mail-from` or a recipient is not a mail address.
    #[error("invalid mail address `{address}`: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The SMTP server refused or could not be reached.
    #[error("sending mail failed: {0}")]
    Send(String),
}

/// Sends the mail the app needs.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The server's host and port, for logs (never the credentials in the URL).
    relay: String,
}

/// Shows where mail goes, never the URL's credentials.
impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("relay", &self.relay).field("from", &self.from.to_string()).finish()
    }
}

/// How long one SMTP conversation may take before sending gives up.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    /// A mailer for `smtp_url` sending as `from` (`Name <address>` or an address).
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| MailError::InvalidUrl(e.to_string()))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let relay = smtp_url.rsplit_once('@').map_or(smtp_url, |(_, host)| host).to_owned();
        Ok(Mailer { transport, from: mailbox(from)?, relay })
    }

    /// Mails `code` to a new account, for auth/verifyEmail.
    pub async fn send_verification_code(
        &self,
        name: &str,
        email: &str,
        code: &str,
        valid_for: Duration,
    ) -> Result<(), MailError> {
        let to = Mailbox::new(Some(name.to_owned()), email.parse().map_err(|e| invalid(email, e))?);
        let minutes = valid_for.as_secs().div_ceil(60);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("Your verification code: {code}"))
            .header(ContentType::TEXT_PLAIN)
            .body(format!(
                "Your verification code is {code}\r\n\r\nIt is valid for {minutes} minutes. \
                 If you did not register, ignore this mail.\r\n"
            ))
            .map_err(|e| MailError::Send(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|e| invalid(address, e))
}

fn invalid(address: &str, reason: impl fmt::Display) -> MailError {
    MailError::InvalidAddress { address: address.to_owned(), reason: reason.to_string() }
}
