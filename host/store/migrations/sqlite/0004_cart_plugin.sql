-- `cart_items.plugin_id`: the CRM plugin whose catalog the product came from.
-- A product id means something only to the CRM that issued it; after the
-- active CRM is swapped, lines from the old catalog are taken out of the cart
-- (and the customer told) instead of being ordered from the new CRM under a
-- foreign id. NULL for lines added before this column existed: they are
-- taken as the active plugin's.
ALTER TABLE cart_items ADD COLUMN plugin_id TEXT;
