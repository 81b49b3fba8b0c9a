//! The SQL both stores run (users, tokens, and the chat's rooms, members and
//! messages). MySQL and SQLite accept the same parameterized statements here,
//! so they are written once; a store supplies its connection type and how its driver
//! reports the inserted id.

/// Implements [`super::Store`] and [`super::ChatStore`] for `$store` (a struct
/// with `connections`), whose migrations are `$migrator`.
macro_rules! sql_store {
    ($store:ty, $db:ty, $migrator:expr, $insert_id:expr) => {
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> $crate::store::StoreResult<()> {
                // `run_direct`: `run` over a connection is "not general enough" for a Send future.
                let mut connection = self.connections.acquire().await?;
                $migrator.run_direct(None, &mut *connection, false).await.map_err($crate::store::StoreError::Migrate)
            }

            async fn ping(&self) -> bool {
                let ping = async {
                    sqlx::query("SELECT 1").execute(&mut *self.connections.acquire().await?).await?;
                    Ok::<_, $crate::store::StoreError>(())
                };
                // Through `StoreError`, which records a broken connection as one.
                ping.await.is_ok()
            }

            async fn create_user(&self, user: $crate::store::NewUser) -> $crate::store::StoreResult<i64> {
                insert_user(&mut *self.connections.acquire().await?, &user).await
            }

            async fn user_by_id(&self, id: i64) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row = sqlx::query(
                    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
                     FROM users WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&mut *self.connections.acquire().await?)
                .await?;
                row.map(|row| user_from_row(&row)).transpose()
            }

            async fn user_by_email(&self, email: &str) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row = sqlx::query(
                    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
                     FROM users WHERE email = ?",
                )
                .bind(email)
                .fetch_optional(&mut *self.connections.acquire().await?)
                .await?;
                row.map(|row| user_from_row(&row)).transpose()
            }

            async fn list_users(&self) -> $crate::store::StoreResult<Vec<$crate::store::User>> {
                let rows = sqlx::query(
                    "SELECT id, name, email, password_hash, role, created_by, created_at, updated_at
                     FROM users ORDER BY id",
                )
                .fetch_all(&mut *self.connections.acquire().await?)
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
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
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
                let result = sqlx::query("DELETE FROM users WHERE id = ?").bind(id).execute(&mut *self.connections.acquire().await?).await?;
                Ok(result.rows_affected() > 0)
            }

            async fn insert_token(&self, token: $crate::store::NewToken) -> $crate::store::StoreResult<i64> {
                insert_token(&mut *self.connections.acquire().await?, &token).await
            }

            async fn token_by_hash(
                &self,
                hash: [u8; 32],
            ) -> $crate::store::StoreResult<Option<$crate::store::TokenRecord>> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT t.id, t.user_id, u.role, t.expires_at, t.revoked_at, c.scopes
                     FROM api_tokens t JOIN users u ON u.id = t.user_id
                     LEFT JOIN client_tokens c ON c.token_id = t.id WHERE t.token_hash = ?",
                )
                .bind(&hash[..])
                .fetch_optional(&mut *self.connections.acquire().await?)
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::store::TokenRecord {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    role: role(&row.try_get::<String, _>("role")?)?,
                    expires_at: row.try_get("expires_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                    scopes: row.try_get::<Option<String>, _>("scopes")?.map(|s| scope_list(&s)),
                }))
            }

            async fn touch_token(&self, id: i64, now: time::PrimitiveDateTime) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self.connections.acquire().await?)
                    .await?;
                Ok(())
            }

            async fn revoke_token(&self, id: i64, now: time::PrimitiveDateTime) -> $crate::store::StoreResult<bool> {
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let result = sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                revoke_login_refresh_tokens(&mut *tx, id, now).await?;
                tx.commit().await?;
                Ok(result.rows_affected() > 0)
            }

            async fn insert_refresh_token(
                &self,
                token: $crate::store::NewRefreshToken,
            ) -> $crate::store::StoreResult<i64> {
                insert_refresh_token(&mut *self.connections.acquire().await?, &token).await
            }

            async fn claim_refresh_token(
                &self,
                hash: [u8; 32],
                next: $crate::store::NextTokens,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<$crate::store::RefreshClaim> {
                use sqlx::Row;
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                // The write first: two presenters of one token are serialized on
                // it (InnoDB row lock; SQLite's write lock), so only one claims it.
                let claimed = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = ?
                     WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
                )
                .bind(now)
                .bind(&hash[..])
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let row = sqlx::query("SELECT user_id, family_id, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ?")
                    .bind(&hash[..])
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok($crate::store::RefreshClaim::Invalid) };
                let (user_id, family_id): (i64, i64) = (row.try_get("user_id")?, row.try_get("family_id")?);
                if claimed {
                    let access = $crate::store::NewToken {
                        user_id,
                        hash: next.access_hash,
                        client_ip: next.client_ip,
                        user_agent: next.user_agent,
                        created_at: next.created_at,
                        expires_at: next.access_expires_at,
                    };
                    let access_token_id = insert_token(&mut *tx, &access).await?;
                    let refresh = $crate::store::NewRefreshToken {
                        user_id,
                        family_id,
                        hash: next.refresh_hash,
                        access_token_id,
                        created_at: next.created_at,
                        expires_at: next.refresh_expires_at,
                    };
                    insert_refresh_token(&mut *tx, &refresh).await?;
                    tx.commit().await?;
                    return Ok($crate::store::RefreshClaim::Claimed { user_id, access_token_id });
                }
                let used: Option<time::PrimitiveDateTime> = row.try_get("used_at")?;
                let revoked: Option<time::PrimitiveDateTime> = row.try_get("revoked_at")?;
                if used.is_none() || revoked.is_some() {
                    return Ok($crate::store::RefreshClaim::Invalid);
                }
                // Used before: someone holds a copy. End the whole login.
                let revoked_access_tokens: Vec<i64> = sqlx::query_scalar(
                    "SELECT t.id FROM api_tokens t JOIN refresh_tokens r ON r.access_token_id = t.id
                     WHERE r.family_id = ? AND t.revoked_at IS NULL",
                )
                .bind(family_id)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL
                     AND id IN (SELECT access_token_id FROM refresh_tokens WHERE family_id = ?)",
                )
                .bind(now)
                .bind(family_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL")
                    .bind(now)
                    .bind(family_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok($crate::store::RefreshClaim::Reused { user_id, revoked_access_tokens })
            }

            async fn live_tokens(
                &self,
                user_id: i64,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<Vec<$crate::store::LiveToken>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT t.id, t.client_ip, t.user_agent, t.created_at, t.expires_at, t.last_used_at,
                            c.name, c.scopes
                     FROM api_tokens t LEFT JOIN client_tokens c ON c.token_id = t.id
                     WHERE t.user_id = ? AND t.revoked_at IS NULL AND t.expires_at > ?
                     ORDER BY t.id DESC LIMIT ?",
                )
                .bind(user_id)
                .bind(now)
                .bind($crate::store::LIVE_TOKENS_LISTED)
                .fetch_all(&mut *self.connections.acquire().await?)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::LiveToken {
                            id: row.try_get("id")?,
                            client_ip: row.try_get("client_ip")?,
                            user_agent: row.try_get("user_agent")?,
                            created_at: row.try_get("created_at")?,
                            expires_at: row.try_get("expires_at")?,
                            last_used_at: row.try_get("last_used_at")?,
                            client: match (row.try_get("name")?, row.try_get::<Option<String>, _>("scopes")?) {
                                (Some(name), Some(scopes)) => {
                                    Some($crate::store::ClientToken { name, scopes: scope_list(&scopes) })
                                }
                                _ => None,
                            },
                        })
                    })
                    .collect()
            }

            async fn revoke_user_token(
                &self,
                user_id: i64,
                id: i64,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<bool> {
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let result = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = ?
                     WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                )
                .bind(now)
                .bind(id)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if result.rows_affected() == 0 {
                    return Ok(false);
                }
                revoke_login_refresh_tokens(&mut *tx, id, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn revoke_user_tokens(
                &self,
                user_id: i64,
                keep: Option<i64>,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<u64> {
                revoke_user_tokens(&mut *self.connections.acquire().await?, user_id, keep, now).await
            }

            async fn insert_client_token(
                &self,
                token: $crate::store::NewToken,
                client: $crate::store::ClientToken,
            ) -> $crate::store::StoreResult<i64> {
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let id = insert_token(&mut *tx, &token).await?;
                sqlx::query("INSERT INTO client_tokens (token_id, name, scopes) VALUES (?, ?, ?)")
                    .bind(id)
                    .bind(&client.name)
                    .bind(client.scopes.join(" "))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn create_unverified_user(
                &self,
                user: $crate::store::NewUser,
                code: $crate::store::VerificationCode,
            ) -> $crate::store::StoreResult<i64> {
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let id = insert_user(&mut *tx, &user).await?;
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

            async fn is_unverified(&self, user_id: i64) -> $crate::store::StoreResult<bool> {
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
                now: time::PrimitiveDateTime,
                budget: $crate::store::AttemptBudget,
            ) -> $crate::store::StoreResult<$crate::store::Verification> {
                use $crate::store::Verification;
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
                if verified.rows_affected() > 0 {
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
                if counted.rows_affected() > 0 {
                    return Ok(Verification::Wrong);
                }
                let row = sqlx::query("SELECT expires_at FROM email_verifications WHERE user_id = ?")
                    .bind(user_id)
                    .fetch_optional(&mut *connection)
                    .await?;
                Ok(match row {
                    None => Verification::NotPending,
                    Some(row) if row.try_get::<time::PrimitiveDateTime, _>("expires_at")? <= now => Verification::Expired,
                    Some(_) => Verification::Exhausted,
                })
            }

            async fn renew_verification_code(
                &self,
                email: &str,
                code: $crate::store::VerificationCode,
                sent_before: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<bool> {
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
                Ok(result.rows_affected() > 0)
            }

            async fn mark_email_verified(&self, user_id: i64) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("DELETE FROM email_verifications WHERE user_id = ?")
                    .bind(user_id)
                    .execute(&mut *self.connections.acquire().await?)
                    .await?;
                Ok(result.rows_affected() > 0)
            }
        }

        impl $crate::store::ChatStore for $store {
            async fn direct_room(
                &self,
                caller: i64,
                other: i64,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<($crate::store::RoomRecord, bool)> {
                let key = format!("{}:{}", caller.min(other), caller.max(other));
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let inserted = sqlx::query(
                    "INSERT INTO rooms (kind, direct_key, created_by, created_at) VALUES ('direct', ?, ?, ?)",
                )
                .bind(&key)
                .bind(caller)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::StoreError::from);
                match inserted {
                    Ok(result) => {
                        let id = $insert_id(&result);
                        join_member(&mut *tx, id, caller, "member", now).await?;
                        invite_member(&mut *tx, id, other, now).await?;
                        tx.commit().await?;
                        let room = $crate::store::RoomRecord {
                            id,
                            kind: $crate::store::RoomKind::Direct,
                            name: None,
                            created_at: now,
                        };
                        Ok((room, true))
                    }
                    // The pair has its room already (perhaps made a moment ago
                    // by a concurrent call): the caller opening it joins it.
                    Err($crate::store::StoreError::Conflict) => {
                        drop(tx);
                        let mut connection = self.connections.acquire().await?;
                        let row = sqlx::query("SELECT id, kind, name, created_at FROM rooms WHERE direct_key = ?")
                            .bind(&key)
                            .fetch_one(&mut *connection)
                            .await?;
                        let room = room_from_row(&row)?;
                        join_member(&mut *connection, room.id, caller, "member", now).await?;
                        Ok((room, false))
                    }
                    Err(error) => Err(error),
                }
            }

            async fn create_group_room(
                &self,
                owner: i64,
                name: &str,
                members: &[i64],
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<$crate::store::RoomRecord> {
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let result = sqlx::query("INSERT INTO rooms (kind, name, created_by, created_at) VALUES ('group', ?, ?, ?)")
                    .bind(name)
                    .bind(owner)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let id = $insert_id(&result);
                join_member(&mut *tx, id, owner, "owner", now).await?;
                let mut invited = std::collections::HashSet::new();
                for member in members.iter().filter(|m| **m != owner) {
                    if invited.insert(*member) {
                        invite_member(&mut *tx, id, *member, now).await?;
                    }
                }
                tx.commit().await?;
                Ok($crate::store::RoomRecord {
                    id,
                    kind: $crate::store::RoomKind::Group,
                    name: Some(name.to_owned()),
                    created_at: now,
                })
            }

            async fn room(&self, id: i64) -> $crate::store::StoreResult<Option<$crate::store::RoomRecord>> {
                let row = sqlx::query("SELECT id, kind, name, created_at FROM rooms WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *self.connections.acquire().await?)
                    .await?;
                row.map(|row| room_from_row(&row)).transpose()
            }

            async fn membership(
                &self,
                room: i64,
                user: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::Membership>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT role, status FROM room_members WHERE room_id = ? AND user_id = ?")
                    .bind(room)
                    .bind(user)
                    .fetch_optional(&mut *self.connections.acquire().await?)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::store::Membership {
                    role: member_role(&row.try_get::<String, _>("role")?)?,
                    status: member_status(&row.try_get::<String, _>("status")?)?,
                }))
            }

            async fn add_member(
                &self,
                room: i64,
                user: i64,
                now: time::PrimitiveDateTime,
            ) -> $crate::store::StoreResult<bool> {
                invite_member(&mut *self.connections.acquire().await?, room, user, now).await
            }

            async fn join_room(&self, room: i64, user: i64) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query(
                    "UPDATE room_members SET status = 'joined' WHERE room_id = ? AND user_id = ? AND status = 'invited'",
                )
                .bind(room)
                .bind(user)
                .execute(&mut *self.connections.acquire().await?)
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn leave_room(&self, room: i64, user: i64) -> $crate::store::StoreResult<bool> {
                use sqlx::Row;
                let mut connection = self.connections.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                let role = sqlx::query("SELECT role FROM room_members WHERE room_id = ? AND user_id = ?")
                    .bind(room)
                    .bind(user)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(role) = role else { return Ok(false) };
                sqlx::query("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
                    .bind(room)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                if member_role(&role.try_get::<String, _>("role")?)? == $crate::store::MemberRole::Owner {
                    let heir = sqlx::query(
                        "SELECT user_id FROM room_members WHERE room_id = ? AND status = 'joined'
                         ORDER BY joined_at, user_id LIMIT 1",
                    )
                    .bind(room)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(heir) = heir {
                        sqlx::query("UPDATE room_members SET role = 'owner' WHERE room_id = ? AND user_id = ?")
                            .bind(room)
                            .bind(heir.try_get::<i64, _>("user_id")?)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn members(&self, room: i64) -> $crate::store::StoreResult<Vec<$crate::store::MemberRecord>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT m.user_id, u.name, m.role, m.status FROM room_members m JOIN users u ON u.id = m.user_id
                     WHERE m.room_id = ? ORDER BY m.joined_at, m.user_id",
                )
                .bind(room)
                .fetch_all(&mut *self.connections.acquire().await?)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::MemberRecord {
                            user_id: row.try_get("user_id")?,
                            name: row.try_get("name")?,
                            role: member_role(&row.try_get::<String, _>("role")?)?,
                            status: member_status(&row.try_get::<String, _>("status")?)?,
                        })
                    })
                    .collect()
            }

            async fn member_ids(&self, room: i64) -> $crate::store::StoreResult<Vec<(i64, $crate::store::MemberStatus)>> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT user_id, status FROM room_members WHERE room_id = ?")
                    .bind(room)
                    .fetch_all(&mut *self.connections.acquire().await?)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("user_id")?, member_status(&row.try_get::<String, _>("status")?)?)))
                    .collect()
            }

            async fn rooms_of(&self, user: i64) -> $crate::store::StoreResult<Vec<$crate::store::RoomSummaryRecord>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT r.id, r.kind, r.name, r.created_at, m.status,
                            (SELECT COUNT(*) FROM messages x
                             WHERE x.room_id = r.id AND x.id > m.last_read_message_id
                               AND (x.author_id IS NULL OR x.author_id <> ?)) AS unread,
                            l.id AS last_id, l.author_id AS last_author_id, l.text AS last_text,
                            l.client_msg_id AS last_client_msg_id, l.created_at AS last_created_at
                     FROM room_members m
                     JOIN rooms r ON r.id = m.room_id
                     LEFT JOIN messages l ON l.id = (SELECT MAX(y.id) FROM messages y WHERE y.room_id = r.id)
                     WHERE m.user_id = ?
                     ORDER BY COALESCE(l.id, 0) DESC, r.id DESC",
                )
                .bind(user)
                .bind(user)
                .fetch_all(&mut *self.connections.acquire().await?)
                .await?;
                rows.iter()
                    .map(|row| {
                        let room = room_from_row(row)?;
                        let last_message = match row.try_get::<Option<i64>, _>("last_id")? {
                            Some(id) => Some($crate::store::MessageRecord {
                                id,
                                room_id: room.id,
                                author_id: row.try_get("last_author_id")?,
                                text: row.try_get("last_text")?,
                                client_msg_id: row.try_get("last_client_msg_id")?,
                                created_at: row.try_get("last_created_at")?,
                            }),
                            None => None,
                        };
                        let status = member_status(&row.try_get::<String, _>("status")?)?;
                        Ok($crate::store::RoomSummaryRecord { room, last_message, unread: row.try_get("unread")?, status })
                    })
                    .collect()
            }

            async fn insert_message(
                &self,
                message: $crate::store::NewMessage,
            ) -> $crate::store::StoreResult<$crate::store::InsertedMessage> {
                use sqlx::Row;
                let insert = sqlx::query(
                    "INSERT INTO messages (room_id, author_id, client_msg_id, text, created_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(message.room_id)
                .bind(message.author_id)
                .bind(&message.client_msg_id)
                .bind(&message.text)
                .bind(message.now);
                let mut connection = self.connections.acquire().await?;
                let (inserted, previous) = if message.linked {
                    let mut tx = sqlx::Connection::begin(&mut *connection).await?;
                    // Locks the room's row until commit (an update that changes
                    // nothing still takes the lock, in InnoDB and in SQLite), so
                    // the room's inserts are serialized and "previous" is exact.
                    sqlx::query("UPDATE rooms SET id = id WHERE id = ?").bind(message.room_id).execute(&mut *tx).await?;
                    let previous = sqlx::query(
                        "SELECT id, created_at FROM messages WHERE room_id = ? ORDER BY id DESC LIMIT 1",
                    )
                    .bind(message.room_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| Ok::<_, sqlx::Error>((row.try_get("id")?, row.try_get("created_at")?)))
                    .transpose()?;
                    let inserted = insert.execute(&mut *tx).await.map_err($crate::store::StoreError::from);
                    if inserted.is_ok() {
                        tx.commit().await?;
                    }
                    (inserted, previous)
                } else {
                    (insert.execute(&mut *connection).await.map_err($crate::store::StoreError::from), None)
                };
                match inserted {
                    Ok(result) => {
                        let record = $crate::store::MessageRecord {
                            id: $insert_id(&result),
                            room_id: message.room_id,
                            author_id: Some(message.author_id),
                            text: message.text,
                            client_msg_id: message.client_msg_id,
                            created_at: message.now,
                        };
                        Ok($crate::store::InsertedMessage { record, new: true, previous })
                    }
                    // A retry: the sender used this client_msg_id already.
                    Err($crate::store::StoreError::Conflict) => {
                        let row = sqlx::query(
                            "SELECT id, room_id, author_id, text, client_msg_id, created_at FROM messages
                             WHERE author_id = ? AND room_id = ? AND client_msg_id = ?",
                        )
                        .bind(message.author_id)
                        .bind(message.room_id)
                        .bind(&message.client_msg_id)
                        .fetch_one(&mut *connection)
                        .await?;
                        Ok($crate::store::InsertedMessage { record: message_from_row(&row)?, new: false, previous: None })
                    }
                    Err(error) => Err(error),
                }
            }

            async fn history(
                &self,
                room: i64,
                before: Option<i64>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::MessageRecord>> {
                let rows = sqlx::query(
                    "SELECT id, room_id, author_id, text, client_msg_id, created_at FROM messages
                     WHERE room_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                )
                .bind(room)
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&mut *self.connections.acquire().await?)
                .await?;
                rows.iter().map(|row| message_from_row(row)).collect()
            }

            async fn message_in_room(&self, room: i64, message: i64) -> $crate::store::StoreResult<bool> {
                let row = sqlx::query("SELECT 1 FROM messages WHERE id = ? AND room_id = ?")
                    .bind(message)
                    .bind(room)
                    .fetch_optional(&mut *self.connections.acquire().await?)
                    .await?;
                Ok(row.is_some())
            }

            async fn mark_read(&self, room: i64, user: i64, message: i64) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query(
                    "UPDATE room_members SET last_read_message_id = ?
                     WHERE room_id = ? AND user_id = ? AND last_read_message_id < ?
                       AND EXISTS (SELECT 1 FROM messages WHERE id = ? AND room_id = ?)",
                )
                .bind(message)
                .bind(room)
                .bind(user)
                .bind(message)
                .bind(message)
                .bind(room)
                .execute(&mut *self.connections.acquire().await?)
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn peers_of(&self, user: i64) -> $crate::store::StoreResult<Vec<i64>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT DISTINCT b.user_id FROM room_members a
                     JOIN room_members b ON b.room_id = a.room_id
                     WHERE a.user_id = ? AND b.user_id <> ? AND a.status = 'joined' AND b.status = 'joined'",
                )
                .bind(user)
                .bind(user)
                .fetch_all(&mut *self.connections.acquire().await?)
                .await?;
                rows.iter().map(|row| Ok(row.try_get("user_id")?)).collect()
            }
        }

        fn room_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::RoomRecord> {
            use sqlx::Row;
            let kind = match row.try_get::<String, _>("kind")?.as_str() {
                "direct" => $crate::store::RoomKind::Direct,
                "group" => $crate::store::RoomKind::Group,
                other => return Err(decode_error(format!("unknown room kind `{other}`"))),
            };
            Ok($crate::store::RoomRecord {
                id: row.try_get("id")?,
                kind,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn message_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> $crate::store::StoreResult<$crate::store::MessageRecord> {
            use sqlx::Row;
            Ok($crate::store::MessageRecord {
                id: row.try_get("id")?,
                room_id: row.try_get("room_id")?,
                author_id: row.try_get("author_id")?,
                text: row.try_get("text")?,
                client_msg_id: row.try_get("client_msg_id")?,
                created_at: row.try_get("created_at")?,
            })
        }

        /// A stored member role; anything else means the table was edited by hand.
        fn member_role(value: &str) -> $crate::store::StoreResult<$crate::store::MemberRole> {
            match value {
                "owner" => Ok($crate::store::MemberRole::Owner),
                "member" => Ok($crate::store::MemberRole::Member),
                other => Err(decode_error(format!("unknown member role `{other}`"))),
            }
        }

        fn member_status(value: &str) -> $crate::store::StoreResult<$crate::store::MemberStatus> {
            match value {
                "invited" => Ok($crate::store::MemberStatus::Invited),
                "joined" => Ok($crate::store::MemberStatus::Joined),
                other => Err(decode_error(format!("unknown member status `{other}`"))),
            }
        }

        /// Makes `user` a joined member of `room` (`role` if new); an
        /// invitation becomes a membership.
        async fn join_member(
            connection: &mut <$db as sqlx::Database>::Connection,
            room: i64,
            user: i64,
            role: &str,
            now: time::PrimitiveDateTime,
        ) -> $crate::store::StoreResult<()> {
            let inserted = sqlx::query(
                "INSERT INTO room_members (room_id, user_id, role, status, joined_at) VALUES (?, ?, ?, 'joined', ?)",
            )
            .bind(room)
            .bind(user)
            .bind(role)
            .bind(now)
            .execute(&mut *connection)
            .await
            .map_err($crate::store::StoreError::from);
            match inserted {
                Ok(_) => Ok(()),
                Err($crate::store::StoreError::Conflict) => {
                    sqlx::query("UPDATE room_members SET status = 'joined' WHERE room_id = ? AND user_id = ?")
                        .bind(room)
                        .bind(user)
                        .execute(&mut *connection)
                        .await?;
                    Ok(())
                }
                Err(error) => Err(error),
            }
        }

        /// Invites `user` to `room` if such a user exists and is not a member;
        /// whether it did. One statement either way, so the two cases look alike.
        async fn invite_member(
            connection: &mut <$db as sqlx::Database>::Connection,
            room: i64,
            user: i64,
            now: time::PrimitiveDateTime,
        ) -> $crate::store::StoreResult<bool> {
            let result = sqlx::query(
                "INSERT INTO room_members (room_id, user_id, role, status, joined_at)
                 SELECT ?, u.id, 'member', 'invited', ? FROM users u
                 WHERE u.id = ? AND NOT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = ? AND m.user_id = u.id)",
            )
            .bind(room)
            .bind(now)
            .bind(user)
            .bind(room)
            .execute(&mut *connection)
            .await?;
            Ok(result.rows_affected() > 0)
        }

        fn decode_error(message: String) -> $crate::store::StoreError {
            $crate::store::StoreError::Other(sqlx::Error::Decode(message.into()))
        }

        /// Revokes a user's live tokens except `keep`, and the refresh tokens of
        /// every login but `keep`'s, on a connection or inside a transaction.
        async fn revoke_user_tokens(
            connection: &mut <$db as sqlx::Database>::Connection,
            user_id: i64,
            keep: Option<i64>,
            now: time::PrimitiveDateTime,
        ) -> $crate::store::StoreResult<u64> {
            let result = sqlx::query(
                "UPDATE api_tokens SET revoked_at = ?
                 WHERE user_id = ? AND revoked_at IS NULL AND id <> COALESCE(?, -1)",
            )
            .bind(now)
            .bind(user_id)
            .bind(keep)
            .execute(&mut *connection)
            .await?;
            // The derived table lets MySQL read the table it updates.
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = ?
                 WHERE user_id = ? AND revoked_at IS NULL AND family_id NOT IN
                   (SELECT family_id FROM (SELECT family_id FROM refresh_tokens WHERE access_token_id = ?) AS kept)",
            )
            .bind(now)
            .bind(user_id)
            .bind(keep)
            .execute(&mut *connection)
            .await?;
            Ok(result.rows_affected())
        }

        /// Inserts a user; its id.
        async fn insert_user(
            connection: &mut <$db as sqlx::Database>::Connection,
            user: &$crate::store::NewUser,
        ) -> $crate::store::StoreResult<i64> {
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
            .execute(&mut *connection)
            .await?;
            Ok($insert_id(&result))
        }

        /// Stored scopes (space-separated) as a list.
        fn scope_list(stored: &str) -> Vec<String> {
            stored.split_whitespace().map(str::to_owned).collect()
        }

        /// Inserts an access token; its id.
        async fn insert_token(
            connection: &mut <$db as sqlx::Database>::Connection,
            token: &$crate::store::NewToken,
        ) -> $crate::store::StoreResult<i64> {
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
            .execute(&mut *connection)
            .await?;
            Ok($insert_id(&result))
        }

        /// Inserts a refresh token; its id.
        async fn insert_refresh_token(
            connection: &mut <$db as sqlx::Database>::Connection,
            token: &$crate::store::NewRefreshToken,
        ) -> $crate::store::StoreResult<i64> {
            let result = sqlx::query(
                "INSERT INTO refresh_tokens (user_id, family_id, token_hash, access_token_id, created_at, expires_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(token.user_id)
            .bind(token.family_id)
            .bind(&token.hash[..])
            .bind(token.access_token_id)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(&mut *connection)
            .await?;
            Ok($insert_id(&result))
        }

        /// Revokes the refresh tokens of the login access token `access_token_id` belongs to.
        async fn revoke_login_refresh_tokens(
            connection: &mut <$db as sqlx::Database>::Connection,
            access_token_id: i64,
            now: time::PrimitiveDateTime,
        ) -> $crate::store::StoreResult<()> {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = ?
                 WHERE revoked_at IS NULL AND family_id IN
                   (SELECT family_id FROM (SELECT family_id FROM refresh_tokens WHERE access_token_id = ?) AS login)",
            )
            .bind(now)
            .bind(access_token_id)
            .execute(&mut *connection)
            .await?;
            Ok(())
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
            $crate::api::Role::from_wire(value).ok_or_else(|| decode_error(format!("unknown role `{value}`")))
        }
    };
}
