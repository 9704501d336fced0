-- gardener_marks holds what a run's enrichers marked for its set-based
-- passes (enrich.Output.Mark), such as the duplicate keys the products of
-- an incremental run had or now have: the pass then looks at those alone
-- instead of joining every changed product with what is stored. Marks go
-- in by COPY in the batch's transaction, so a committed batch's marks are
-- there exactly once; the same mark may repeat (readers take DISTINCT).
-- A run's marks are deleted when it finishes.
CREATE TABLE gardener_marks (
    run_id  text NOT NULL REFERENCES gardener_runs (run_id) ON DELETE CASCADE,
    name    text NOT NULL,
    key     text NOT NULL
);
CREATE INDEX gardener_marks_run ON gardener_marks (run_id, name);
