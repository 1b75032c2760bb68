//! A dialogue step's writes, committed together.
//!
//! A step decides everything it changes before anything is written (see the
//! shop's `flow` modules); the runner hands the list here, and it commits as
//! one unit with the chat's next state. So a crash leaves a step wholly done
//! or not at all, and the update seen again after a crash finds its id on
//! the stored state exactly when the rest of its writes are there too.

use super::*;
use crate::customers::ContactField;

/// One change a dialogue step makes to its chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// The chat's next dialogue state (serialized by the caller), stored
    /// with the update whose step moved it there.
    State(String),
    /// Forget the chat's dialogue state.
    ForgetState,
    /// Add a line to the cart, or one more of it ([`Store::cart_add`]).
    CartAdd(CartItem),
    /// Change a line's quantity by `delta` ([`Store::cart_change`]).
    CartChange {
        /// The line's product.
        product_id: String,
        /// How much; a line that reaches zero goes.
        delta: i64,
    },
    /// Empty the cart.
    CartClear,
    /// Take out lines from another plugin's catalog than this one
    /// ([`Store::cart_drop_foreign`]).
    CartDropForeign {
        /// The plugin whose lines stay.
        plugin_id: String,
    },
    /// Set one of the customer's contact fields.
    Contact {
        /// The customer.
        user_id: i64,
        /// Which field.
        field: ContactField,
        /// The new value.
        value: String,
    },
}

impl Store {
    /// Commits a step's writes to chat `chat_id` together, on behalf of
    /// the update `update_id` whose message or button press is `trigger`
    /// (recorded on cart lines, so that the same press seen again changes
    /// nothing). One write runs on its own; several in one transaction.
    pub async fn apply(
        &self,
        chat_id: i64,
        update_id: i64,
        trigger: &str,
        writes: &[Write],
    ) -> Result<(), StoreError> {
        match writes {
            [] => Ok(()),
            // A lone statement commits by itself: a transaction would only
            // add two round trips (BEGIN, COMMIT) to SQLite's worker thread.
            [one] if !matches!(one, Write::CartChange { .. }) => {
                let mut conn = self.writer.acquire().await?;
                write(&mut conn, chat_id, update_id, trigger, one).await
            }
            _ => {
                let mut conn = self.writer.acquire().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for one in writes {
                    write(&mut tx, chat_id, update_id, trigger, one).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }
}

async fn write(
    conn: &mut sqlx::AnyConnection,
    chat_id: i64,
    update_id: i64,
    trigger: &str,
    one: &Write,
) -> Result<(), StoreError> {
    match one {
        Write::State(state) => {
            crate::dialogues::set_dialogue(&mut *conn, chat_id, state, Some(update_id)).await
        }
        Write::ForgetState => crate::dialogues::forget(conn, chat_id).await,
        Write::CartAdd(item) => crate::carts::add(conn, chat_id, item, trigger).await,
        Write::CartChange { product_id, delta } => {
            crate::carts::change(conn, chat_id, product_id, *delta, trigger)
                .await
                .map(|_| ())
        }
        Write::CartClear => crate::carts::clear(conn, chat_id).await,
        Write::CartDropForeign { plugin_id } => {
            crate::carts::drop_foreign(conn, chat_id, plugin_id)
                .await
                .map(|_| ())
        }
        Write::Contact {
            user_id,
            field,
            value,
        } => crate::customers::set_contact(conn, *user_id, *field, Some(value)).await,
    }
}
