-- harvest_runs.logs_changes: true for runs begun by a worker that logs
-- what its merges change in product_changes (0015). A worker from before
-- that merges without logging, and its runs get the default: a gardener
-- window that such a run may have merged into (one not finished before the
-- window starts) walks products instead of trusting the log. Workers can
-- so be upgraded one at a time. A constant default rewrites nothing.
ALTER TABLE harvest_runs ADD COLUMN logs_changes boolean NOT NULL DEFAULT false;
