//! Where each chat stands in the dialogue, with the update that put it there.

use super::*;

/// A chat's stored dialogue state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDialogue {
    /// The serialized state.
    pub state: String,
    /// The Telegram update whose step stored it (`None`: stored outside a
    /// step, or before this was recorded).
    pub update_id: Option<i64>,
}

/// Stores a chat's state on `executor`: the writer for an ordinary step, or
/// a lead's transaction, so that a confirmation and the chat's move to the
/// menu commit together.
pub(crate) async fn set_dialogue<'e, E>(
    executor: E,
    chat_id: i64,
    state: &str,
    update_id: Option<i64>,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO dialogues (chat_id, state, update_id, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, update_id = excluded.update_id,
         updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(state)
    .bind(update_id)
    .bind(now_ms())
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// The stored dialogue state of a chat.
    pub async fn dialogue(&self, chat_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self.dialogue_step(chat_id).await?.map(|d| d.state))
    }

    /// The dialogue state of a chat with the update whose step stored it.
    pub async fn dialogue_step(&self, chat_id: i64) -> Result<Option<StoredDialogue>, StoreError> {
        let row = sqlx::query("SELECT state, update_id FROM dialogues WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredDialogue {
                state: r.try_get("state")?,
                update_id: r.try_get("update_id")?,
            })
        })
        .transpose()
    }

    /// Stores the dialogue state of a chat.
    pub async fn set_dialogue(&self, chat_id: i64, state: &str) -> Result<(), StoreError> {
        set_dialogue(&mut *self.writer.acquire().await?, chat_id, state, None).await
    }

    /// Stores the dialogue state a step of `update_id` moved the chat to.
    /// The same update seen again finds its id here and knows the step ran.
    pub async fn set_dialogue_step(
        &self,
        chat_id: i64,
        state: &str,
        update_id: i64,
    ) -> Result<(), StoreError> {
        set_dialogue(
            &mut *self.writer.acquire().await?,
            chat_id,
            state,
            Some(update_id),
        )
        .await
    }

    /// Forgets the dialogue state of a chat.
    pub async fn clear_dialogue(&self, chat_id: i64) -> Result<(), StoreError> {
        forget(&mut *self.writer.acquire().await?, chat_id).await
    }
}

/// Forgets the dialogue state of a chat, on `conn`.
pub(crate) async fn forget(conn: &mut sqlx::AnyConnection, chat_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM dialogues WHERE chat_id = $1")
        .bind(chat_id)
        .execute(conn)
        .await?;
    Ok(())
}
