-- The dialogue store. Times are Unix milliseconds (UTC).

-- Who a customer is, as Telegram and the customer told us.
CREATE TABLE customers (
    user_id     BIGINT PRIMARY KEY,
    chat_id     BIGINT NOT NULL,
    first_name  TEXT NOT NULL,
    last_name   TEXT,
    username    TEXT,
    language    TEXT,
    full_name   TEXT,
    phone       TEXT,
    email       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Where each chat is in the dialogue (a serialized state).
CREATE TABLE dialogues (
    chat_id     BIGINT PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The cart of each chat, with the product as the customer saw it.
CREATE TABLE cart_items (
    chat_id      BIGINT NOT NULL,
    product_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    sku          TEXT,
    price_minor  BIGINT NOT NULL,
    price_scale  INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    image_url    TEXT,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (chat_id, product_id)
);

-- Every lead the customer confirmed (order, feedback, question): the outbox.
-- A row is written in the same transaction as the dialogue step that
-- produced it, before the customer is told anything.
CREATE TABLE leads (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id          BIGINT NOT NULL,
    user_id          BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    lead             TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    plugin_id        TEXT NOT NULL,
    plugin_version   TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    crm_id           TEXT,
    crm_url          TEXT,
    status_name      TEXT,
    status_final     INTEGER,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX leads_due ON leads (state, next_attempt_at);
CREATE INDEX leads_by_user ON leads (user_id, created_at);

-- The last catalog each plugin returned in full, served when the CRM is down.
CREATE TABLE catalog_snapshots (
    plugin_id   TEXT PRIMARY KEY,
    products    TEXT NOT NULL,
    fetched_at  BIGINT NOT NULL
);

-- Small named values: the Telegram polling offset and the like.
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
