-- Updates taken from getUpdates and not yet handled. A batch is written here
-- (with the new offset) before Telegram is told it was received, so an
-- update is never lost to a crash, and no chat waits for another's batch.
CREATE TABLE inbox (
    update_id   BIGINT PRIMARY KEY,
    chat_id     BIGINT,
    body        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- The outbox worker's bookkeeping. `followup`: whether the customer is owed
-- a message about the lead ('none', 'due', 'sent'); `plugin_faults`: how
-- often the plugin trapped or timed out on this lead (a poison lead is
-- dead-lettered instead of retried forever); `claimed_until`: an attempt in
-- progress (the dialogue's or the worker's) holds the lead until then.
ALTER TABLE leads ADD COLUMN followup TEXT NOT NULL DEFAULT 'none';
ALTER TABLE leads ADD COLUMN plugin_faults INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN claimed_until BIGINT;
CREATE INDEX leads_followup ON leads (followup);
