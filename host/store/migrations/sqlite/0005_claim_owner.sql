-- `leads.claimed_by`: the host holding a lead's claim (its host id, the
-- machine's name unless set). At start a host releases only its own claims
-- from before a restart; another host's claim on the same PostgreSQL is
-- left to run out. NULL for claims taken before this column existed: they
-- are released by whichever host starts first.
ALTER TABLE leads ADD COLUMN claimed_by TEXT;
