//! Notifications by e-mail: plain text over SMTP (lettre, rustls), to every address of the
//! connection in one message.

use std::time::Duration;

use ledgerlink_core::Email;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::config::SmtpConfig;

/// How the connection to the mail server is secured (`smtp.tls`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same machine or network.
    None,
    /// Upgrades a plain connection (port 587); refuses to go on without TLS.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Message ids are made in the sender's domain.
    domain: String,
}

impl Mailer {
    pub(crate) fn new(smtp: &SmtpConfig, timeout: Duration) -> anyhow::Result<Mailer> {
        type Smtp = AsyncSmtpTransport<Tokio1Executor>;
        let builder = match smtp.tls {
            SmtpTls::None => Smtp::builder_dangerous(&smtp.host),
            SmtpTls::Starttls => Smtp::starttls_relay(&smtp.host)?,
            SmtpTls::Tls => Smtp::relay(&smtp.host)?,
        }
        .port(smtp.port())
        .timeout(Some(timeout));
        let builder = match (&smtp.username, &smtp.password) {
            (Some(username), Some(password)) => builder.credentials(Credentials::new(
                username.clone(),
                password.expose_secret().to_string(),
            )),
            _ => builder,
        };
        Ok(Mailer {
            transport: builder.build(),
            from: mailbox(&smtp.from).map_err(|e| anyhow::anyhow!("`smtp.from`: {e}"))?,
            domain: smtp.from.domain().to_string(),
        })
    }

    /// The message, made once: every retry sends it with the same Message-ID, so a mail that
    /// did arrive before a connection broke can be recognised as the same one.
    pub(crate) fn compose(
        &self,
        to: &[Email],
        subject: &str,
        text: &str,
    ) -> Result<Message, String> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!(
                "<{}@{}>",
                uuid::Uuid::new_v4().simple(),
                self.domain
            )))
            .header(ContentType::TEXT_PLAIN);
        for address in to {
            message = message.to(mailbox(address)?);
        }
        // Quoted-printable: readable as it is, and safe for any character and line length.
        let body =
            Body::new_with_encoding(text.to_string(), ContentTransferEncoding::QuotedPrintable)
                .map_err(|_| "the text cannot be encoded".to_string())?;
        message.body(body).map_err(|e| e.to_string())
    }

    pub(crate) async fn send(&self, message: &Message) -> Result<(), String> {
        self.transport
            .send(message.clone())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// An address as SMTP takes it; checked when the settings are loaded.
pub(crate) fn mailbox(email: &Email) -> Result<Mailbox, String> {
    email
        .as_str()
        .parse::<lettre::Address>()
        .map(|address| Mailbox::new(None, address))
        .map_err(|e| format!("`{}` cannot be written to over SMTP: {e}", email.as_str()))
}
