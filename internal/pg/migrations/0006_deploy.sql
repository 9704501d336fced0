-- deploy: the audit trail of every command a deploy ran or refused on a
-- target. Append-only: no role may UPDATE, DELETE or TRUNCATE it.
--   1. A trigger refuses UPDATE, DELETE and TRUNCATE for everyone
--      (superusers included, unless they first alter the table).
--   2. The migrating role (the worker's role) keeps only SELECT and
--      INSERT: it revokes its own UPDATE, DELETE and TRUNCATE.
--   3. Where the migrating role may create roles, the table is handed to
--      the NOLOGIN role cw_audit_owner, so the worker's role can neither
--      re-grant itself those privileges nor drop the trigger.
CREATE TABLE deploy_audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    tenant_id    text NOT NULL,
    workflow_id  text NOT NULL,
    run_id       text NOT NULL DEFAULT '',
    target       text NOT NULL,
    step         text NOT NULL,
    phase        text NOT NULL CHECK (phase IN ('started', 'finished', 'refused')),
    argv         text[] NOT NULL,
    cwd          text NOT NULL DEFAULT '',
    exit_code    integer,
    duration_ms  bigint,
    stdout_bytes bigint NOT NULL DEFAULT 0,
    stderr_bytes bigint NOT NULL DEFAULT 0,
    output_tail  text NOT NULL DEFAULT '',
    truncated    boolean NOT NULL DEFAULT false,
    refused_rule text,
    error        text,
    requester    text
);

CREATE INDEX deploy_audit_workflow ON deploy_audit (workflow_id, id);
CREATE INDEX deploy_audit_tenant ON deploy_audit (tenant_id, at);

CREATE FUNCTION deploy_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deploy_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER deploy_audit_no_change BEFORE UPDATE OR DELETE ON deploy_audit
    FOR EACH ROW EXECUTE FUNCTION deploy_audit_append_only();
CREATE TRIGGER deploy_audit_no_truncate BEFORE TRUNCATE ON deploy_audit
    FOR EACH STATEMENT EXECUTE FUNCTION deploy_audit_append_only();

DO $$
DECLARE
    me text := current_user;
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON deploy_audit FROM PUBLIC, %I', me);
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cw_audit_owner') THEN
            CREATE ROLE cw_audit_owner NOLOGIN;
        END IF;
        EXECUTE format('GRANT cw_audit_owner TO %I', me);
        ALTER TABLE deploy_audit OWNER TO cw_audit_owner;
        ALTER FUNCTION deploy_audit_append_only() OWNER TO cw_audit_owner;
        EXECUTE format('GRANT SELECT, INSERT ON deploy_audit TO %I', me);
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE deploy_audit_id_seq TO %I', me);
        EXECUTE format('REVOKE cw_audit_owner FROM %I', me);
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'deploy_audit stays owned by %: % (the trigger and revoked privileges still apply)', me, SQLERRM;
    END;
END
$$;
