-- harvest: what a run's report states must be true after a database crash,
-- and say when a feed could have been cut short unnoticed.

-- length_undeclared: the feed's server declared no length and its format
-- has no end marker (CSV, JSON Lines, uncompressed), so a feed cut at a
-- record boundary reads as complete. Deactivation from such a run has its
-- own, stricter guard.
ALTER TABLE harvest_runs ADD COLUMN length_undeclared boolean NOT NULL DEFAULT false;

-- checkpoint_lost: a crash of the database emptied the UNLOGGED staging
-- checkpoint of this run, so a later attempt staged again from the start.
-- stage_attempts counts every attempt (logged, written when it starts);
-- resumed_from_row is the row the final attempt resumed from.
ALTER TABLE harvest_runs ADD COLUMN checkpoint_lost boolean NOT NULL DEFAULT false;
