-- Exactly-once dialogue steps after a crash or a redelivered update.
-- `dialogues.update_id`: the Telegram update whose step stored this state, so
-- the same update seen again (replayed from the inbox, or redelivered to the
-- webhook) shows where the chat stands instead of running the step twice.
-- `cart_items.changed_by`: the message or button press that last changed the
-- line, so the same press replayed does not add the product twice.
ALTER TABLE dialogues ADD COLUMN update_id BIGINT;
ALTER TABLE cart_items ADD COLUMN changed_by TEXT;
