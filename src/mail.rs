//! Outbound mail: the email verification codes, over SMTP (`--smtp-url`).
//!
//! One [`Mailer`] per process, built at start so a bad URL or sender address
//! is refused before the server listens. The transport is lettre's: `smtps://`
//! (TLS), `smtp://...?tls=required` (STARTTLS) or `smtp://` (plain, for a
//! relay on the same host or a test server).
//!
//! Requests never wait for SMTP: they hand their [`Mail`] to the [`Outbox`],
//! whose one task sends it after the reply. A reply therefore takes as long
//! for an account that exists (and gets mail) as for one that does not, and
//! a slow or dead mail server slows no request. The queue is in memory: mail
//! queued when the process stops is lost, and the user asks for another code.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::mpsc;

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

    /// Sends `mail` now.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let (name, email, subject, body) = match mail {
            Mail::VerificationCode { name, email, code, valid_for } => {
                let minutes = valid_for.as_secs().div_ceil(60);
                let body = format!(
                    "Your verification code is {code}\r\n\r\nIt is valid for {minutes} minutes. \
                     If you did not register, ignore this mail.\r\n"
                );
                (name.clone(), email, format!("Your verification code: {code}"), body)
            }
            Mail::AlreadyRegistered { name, email } => {
                let body = "Someone tried to register a new account with this address, which has one \
                            already. If it was you, log in instead (or ask for a new verification code if \
                            you never verified it). If it was not you, nothing changed: ignore this mail.\r\n";
                (Some(name.clone()), email, "Your address is registered already".to_owned(), body.to_owned())
            }
        };
        let to = Mailbox::new(name, email.parse().map_err(|e| invalid(email, e))?);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Send(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}

/// A mail the app sends.
#[derive(Clone, PartialEq, Eq)]
pub enum Mail {
    /// A verification code for `email` (auth/verifyEmail).
    VerificationCode {
        /// Whom to greet, when known.
        name: Option<String>,
        /// The account's address.
        email: String,
        /// The 6 digits.
        code: String,
        /// How long they are accepted.
        valid_for: Duration,
    },
    /// Someone tried to register `email`, which has an account already: its
    /// owner hears of it, the one who tried learns nothing (OWASP's advice).
    AlreadyRegistered {
        /// The owner's name.
        name: String,
        /// The account's address.
        email: String,
    },
}

/// Never prints a code.
impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mail::VerificationCode { .. } => f.write_str("Mail::VerificationCode(..)"),
            Mail::AlreadyRegistered { .. } => f.write_str("Mail::AlreadyRegistered(..)"),
        }
    }
}

/// Mail waiting for the SMTP server, sent by one task in the order queued.
#[derive(Debug)]
pub struct Outbox {
    mailer: Mailer,
    queue: OnceLock<mpsc::Sender<Mail>>,
}

/// Mails waiting at most; past it a mail is dropped (and logged): the user
/// asks for another code.
const OUTBOX_QUEUE: usize = 1024;

impl Outbox {
    /// An outbox sending through `mailer`. Its task starts with the first mail.
    pub fn new(mailer: Mailer) -> Outbox {
        Outbox { mailer, queue: OnceLock::new() }
    }

    /// Queues `mail`; it is sent after the caller's reply.
    pub fn queue(&self, mail: Mail) {
        let queue = self.queue.get_or_init(|| {
            let (sender, mut mails) = mpsc::channel::<Mail>(OUTBOX_QUEUE);
            let mailer = self.mailer.clone();
            tokio::spawn(async move {
                while let Some(mail) = mails.recv().await {
                    if let Err(error) = mailer.send(&mail).await {
                        tracing::warn!(%error, ?mail, "mail not sent");
                    }
                }
            });
            sender
        });
        if queue.try_send(mail).is_err() {
            tracing::warn!("the mail queue is full: a mail was dropped");
        }
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|e| invalid(address, e))
}

fn invalid(address: &str, reason: impl fmt::Display) -> MailError {
    MailError::InvalidAddress { address: address.to_owned(), reason: reason.to_string() }
}
