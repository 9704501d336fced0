-- gardener_marks loses its foreign key to gardener_runs. Checking it cost
-- each mark a lookup of the run row, under a key-share lock: an
-- incremental run marks about one key a changed product, and the checks
-- were half the time of writing its marks (at 1M products, 100k checks:
-- 80 ms of 155 ms for each batch of 5,000). Marks are written only by a
-- run's own batches, after Begin recorded the run, and deleted when it
-- finishes, whatever its outcome; runs are never deleted.
ALTER TABLE gardener_marks DROP CONSTRAINT gardener_marks_run_id_fkey;
