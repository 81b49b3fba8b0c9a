//! The SQL both stores run. MySQL and SQLite accept the same parameterized
//! statements here, so they are written once; a store supplies its pool type and
//! how its driver reports the inserted id.

/// Implements [`super::Store`] for `$store` (a struct with `pool` and `schema`).
macro_rules! sql_store {
    ($store:ty, $db:ty, $insert_id:expr) => {
        impl $crate::store::Store for $store {
            async fn init_schema(&self) -> $crate::store::StoreResult<()> {
                sqlx::raw_sql(self.schema).execute(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> bool {
                sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
            }

            async fn create_user(&self, user: $crate::store::NewUser) -> $crate::store::StoreResult<i64> {
                let result = sqlx::query(
                    "INSERT INTO users (name, email, password_hash, role, created_by, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&user.name)
                .bind(&user.email)
                .bind(&user.password_hash)
                .bind(user.role.as_str())
                .bind(user.created_by)
                .bind(user.now)
                .bind(user.now)
                .execute(&self.pool)
                .await?;
                Ok($insert_id(&result))
            }

            async fn user_by_id(&self, id: i64) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row = sqlx::query(
                    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
                     FROM users WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| user_from_row(&row)).transpose()
            }

            async fn user_by_email(&self, email: &str) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row = sqlx::query(
                    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
                     FROM users WHERE email = ?",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| user_from_row(&row)).transpose()
            }

            async fn list_users(&self) -> $crate::store::StoreResult<Vec<$crate::store::User>> {
                let rows = sqlx::query(
                    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
                     FROM users ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|row| user_from_row(row)).collect()
            }

            async fn update_user(
                &self,
                id: i64,
                changes: $crate::store::UserChanges,
                revoke: Option<$crate::store::RevokeTokens>,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<Option<u64>> {
                // Dropping `tx` without commit rolls back: an error in either
                // statement leaves the password and the tokens as they were.
                let mut tx = self.pool.begin().await?;
                let result = sqlx::query(
                    "UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email),
                     password_hash = COALESCE(?, password_hash), role = COALESCE(?, role), updated_at = ?
                     WHERE id = ?",
                )
                .bind(&changes.name)
                .bind(&changes.email)
                .bind(&changes.password_hash)
                .bind(changes.role.map(|r| r.as_str()))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if result.rows_affected() == 0 {
                    return Ok(None);
                }
                let revoked = match revoke {
                    Some(revoke) => revoke_user_tokens(&mut *tx, id, revoke.keep, now).await?,
                    None => 0,
                };
                tx.commit().await?;
                Ok(Some(revoked))
            }

            async fn delete_user(&self, id: i64) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("DELETE FROM users WHERE id = ?").bind(id).execute(&self.pool).await?;
                Ok(result.rows_affected() > 0)
            }

            async fn insert_token(&self, token: $crate::store::NewToken) -> $crate::store::StoreResult<i64> {
                let result = sqlx::query(
                    "INSERT INTO api_tokens (user_id, token_hash, client_ip, user_agent, created_at, expires_at)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(token.user_id)
                .bind(&token.hash[..])
                .bind(&token.client_ip)
                .bind(&token.user_agent)
                .bind(token.created_at)
                .bind(token.expires_at)
                .execute(&self.pool)
                .await?;
                Ok($insert_id(&result))
            }

            async fn token_by_hash(
                &self,
                hash: [u8; 32],
            ) -> $crate::store::StoreResult<Option<$crate::store::TokenRecord>> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT t.id, t.user_id, u.role, t.expires_at, t.revoked_at
                     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
                )
                .bind(&hash[..])
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::store::TokenRecord {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    role: role(&row.try_get::<String, _>("role")?)?,
                    expires_at: row.try_get("expires_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                }))
            }

            async fn touch_token(&self, id: i64, now: time::PrimitiveDateTime) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_token(&self, id: i64, now: time::PrimitiveDateTime) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn revoke_user_tokens(
                &self,
                user_id: i64,
                keep: Option<i64>,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<u64> {
                revoke_user_tokens(&self.pool, user_id, keep, now).await
            }
        }

        /// Revokes a user's live tokens except `keep`, on a pool or inside a transaction.
        async fn revoke_user_tokens<'e, E>(
            executor: E,
            user_id: i64,
            keep: Option<i64>,
            now: time::PrimitiveDateTime,
        ) -> $crate::store::StoreResult<u64>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let result = sqlx::query(
                "UPDATE api_tokens SET revoked_at = ?
                 WHERE user_id = ? AND revoked_at IS NULL AND id <> COALESCE(?, -1)",
            )
            .bind(now)
            .bind(user_id)
            .bind(keep)
            .execute(executor)
            .await?;
            Ok(result.rows_affected())
        }

        fn user_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::User> {
            use sqlx::Row;
            Ok($crate::store::User {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                password_hash: row.try_get("password_hash")?,
                role: role(&row.try_get::<String, _>("role")?)?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        /// A stored role; anything else means the table was edited by hand.
        fn role(value: &str) -> $crate::store::StoreResult<$crate::api::Role> {
            $crate::api::Role::from_wire(value).ok_or_else(|| {
                $crate::store::StoreError::Other(sqlx::Error::Decode(format!("unknown role `{value}`").into()))
            })
        }
    };
}
