//! Email verification: the code an unverified account must present before
//! it logs in, its attempts and its resends.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::PrimitiveDateTime;

use super::sql::{Dialect, SqlStore};
use super::{NewUser, StoreResult};

/// An email verification code to store (its SHA-256 only).
#[derive(Debug, Clone)]
pub struct VerificationCode {
    /// SHA-256 of the code.
    pub hash: [u8; 32],
    /// When it stops being accepted (UTC).
    pub expires_at: PrimitiveDateTime,
    /// When it is mailed (UTC): resends are throttled from it.
    pub sent_at: PrimitiveDateTime,
}

/// What presenting an email verification code did ([`Store::verify_email`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The code was right: the account is verified now.
    Verified,
    /// A wrong code; counted against the attempts.
    Wrong,
    /// The code expired: ask for a new one.
    Expired,
    /// Too many wrong codes: ask for a new one.
    Exhausted,
    /// Nothing to verify: no such user, or already verified.
    NotPending,
}

/// How many wrong codes an account may enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptBudget {
    /// Against one code (a resend brings a new code and starts this over).
    pub per_code: u32,
    /// In a day, across resends (what bounds guessing in the end).
    pub per_day: u32,
}

/// Email verification codes. Every query is parameterized.
#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// Inserts a user who must verify their email before logging in, with the
    /// first code, in one transaction; `Conflict` if the email is taken.
    async fn create_unverified_user(&self, user: NewUser, code: VerificationCode) -> StoreResult<i64>;
    /// Whether the user has yet to verify their email.
    async fn is_unverified(&self, user_id: i64) -> StoreResult<bool>;
    /// Checks a verification code: a right one verifies the account (once); a
    /// wrong one is counted, and none is accepted once `budget` is spent.
    async fn verify_email(
        &self,
        user_id: i64,
        hash: [u8; 32],
        now: PrimitiveDateTime,
        budget: AttemptBudget,
    ) -> StoreResult<Verification>;
    /// Replaces the pending verification code of the account with this email
    /// (its own attempts start over, the day's do not) unless the current one
    /// was sent after `sent_before`; whether it did, so the caller mails the
    /// new code only then. An unknown or verified email changes nothing.
    async fn renew_verification_code(
        &self,
        email: &str,
        code: VerificationCode,
        sent_before: PrimitiveDateTime,
    ) -> StoreResult<bool>;
    /// Marks the user's email verified (an admin's word for it); whether it was pending.
    async fn mark_email_verified(&self, user_id: i64) -> StoreResult<bool>;
}

#[async_trait]
impl<DB> VerificationStore for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> i64: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> String: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> PrimitiveDateTime: Encode<'r, DB> + Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: Encode<'r, DB> + Type<DB>,
    for<'r> &'r [u8]: Encode<'r, DB> + Type<DB>,
    for<'r> u32: Encode<'r, DB> + Type<DB>,
    for<'r> Option<i64>: Encode<'r, DB>,
    for<'r> Option<String>: Encode<'r, DB>,
    for<'r> Option<&'r str>: Encode<'r, DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    async fn create_unverified_user(&self, user: NewUser, code: VerificationCode) -> StoreResult<i64> {
        let mut connection = self.connections.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let id = Self::insert_user_row(&mut *tx, &user).await?;
        sqlx::query(
            "INSERT INTO email_verifications (user_id, code_hash, expires_at, attempts, sent_at)
             VALUES (?, ?, ?, 0, ?)",
        )
        .bind(id)
        .bind(&code.hash[..])
        .bind(code.expires_at)
        .bind(code.sent_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn is_unverified(&self, user_id: i64) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM email_verifications WHERE user_id = ?")
            .bind(user_id)
            .fetch_optional(&mut *self.connections.acquire().await?)
            .await?;
        Ok(row.is_some())
    }

    async fn verify_email(
        &self,
        user_id: i64,
        hash: [u8; 32],
        now: PrimitiveDateTime,
        budget: AttemptBudget,
    ) -> StoreResult<Verification> {
        use Verification;
        use sqlx::Row;
        let mut connection = self.connections.acquire().await?;
        let day_ago = now - time::Duration::DAY;
        // Each statement decides atomically: the right code within both
        // budgets is taken once; a wrong one counts only while both
        // remain. Concurrent guesses cannot exceed either. The daily
        // count starts over a day after its first wrong code.
        let verified = sqlx::query(
            "DELETE FROM email_verifications
             WHERE user_id = ? AND code_hash = ? AND expires_at > ? AND attempts < ?
               AND (day_started_at IS NULL OR day_started_at <= ? OR day_attempts < ?)",
        )
        .bind(user_id)
        .bind(&hash[..])
        .bind(now)
        .bind(budget.per_code)
        .bind(day_ago)
        .bind(budget.per_day)
        .execute(&mut *connection)
        .await?;
        if DB::rows_affected(&verified) > 0 {
            return Ok(Verification::Verified);
        }
        // MySQL assigns left to right with the new values, SQLite with
        // the old: `day_attempts` is set before `day_started_at` for both.
        let counted = sqlx::query(
            "UPDATE email_verifications SET attempts = attempts + 1,
               day_attempts = CASE WHEN day_started_at IS NULL OR day_started_at <= ? THEN 1
                                   ELSE day_attempts + 1 END,
               day_started_at = CASE WHEN day_started_at IS NULL OR day_started_at <= ? THEN ?
                                     ELSE day_started_at END
             WHERE user_id = ? AND expires_at > ? AND attempts < ?
               AND (day_started_at IS NULL OR day_started_at <= ? OR day_attempts < ?)",
        )
        .bind(day_ago)
        .bind(day_ago)
        .bind(now)
        .bind(user_id)
        .bind(now)
        .bind(budget.per_code)
        .bind(day_ago)
        .bind(budget.per_day)
        .execute(&mut *connection)
        .await?;
        if DB::rows_affected(&counted) > 0 {
            return Ok(Verification::Wrong);
        }
        let row = sqlx::query("SELECT expires_at FROM email_verifications WHERE user_id = ?")
            .bind(user_id)
            .fetch_optional(&mut *connection)
            .await?;
        Ok(match row {
            None => Verification::NotPending,
            Some(row) if row.try_get::<PrimitiveDateTime, _>("expires_at")? <= now => Verification::Expired,
            Some(_) => Verification::Exhausted,
        })
    }

    async fn renew_verification_code(
        &self,
        email: &str,
        code: VerificationCode,
        sent_before: PrimitiveDateTime,
    ) -> StoreResult<bool> {
        // One statement whether or not the email has an account, so
        // the two take alike.
        let result = sqlx::query(
            "UPDATE email_verifications SET code_hash = ?, expires_at = ?, attempts = 0, sent_at = ?
             WHERE user_id = (SELECT id FROM users WHERE email = ?) AND sent_at <= ?",
        )
        .bind(&code.hash[..])
        .bind(code.expires_at)
        .bind(code.sent_at)
        .bind(email)
        .bind(sent_before)
        .execute(&mut *self.connections.acquire().await?)
        .await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn mark_email_verified(&self, user_id: i64) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM email_verifications WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *self.connections.acquire().await?)
            .await?;
        Ok(DB::rows_affected(&result) > 0)
    }
}
