-- outboxd: the privileges the relay's own login role needs, and nothing more. Run as the table's owner after
-- every schema install or upgrade (re-running is harmless):
--   outboxd schema grant outboxd_relay -c /etc/outboxd/outboxd.conf
--   psql -v ON_ERROR_STOP=1 -v schema=public -v table=outbox -v role=outboxd_relay -1 -f sql/grant_relay.sql
-- The relay reads every column of the outbox, writes only the five that record an outcome, reads the schema
-- version, removes sent rows only through <table>_purge (<table>_purge_kept with "keep"), moves failed rows only
-- through <table>_retry_kept, and owns nothing: no DDL, no INSERT or DELETE on the outbox, no other table but
-- the small ones through which relays share the outbox (schema version 4), the claim floor (version 6) and, with
-- "keep", the progress and its times (versions 7 and 9). LISTEN, advisory
-- locks and ending a peer's session (pg_terminate_backend, allowed between sessions of the same role) need no
-- grant: every relay of a table must log in as the same role.
-- Create the role yourself (CREATE ROLE outboxd_relay LOGIN ...); give it no other privileges.
\if :{?schema}
\else
\set schema public
\endif
\if :{?table}
\else
\set table outbox
\endif
\set table_purge :table '_purge'
\set table_buckets :table '_buckets'
\set table_relays :table '_relays'
\set table_floor :table '_floor'
\set table_progress :table '_progress'
\set table_purge_kept :table '_purge_kept'
\set table_retry_kept :table '_retry_kept'
\set table_progress_at :table '_progress_at'

GRANT USAGE ON SCHEMA :"schema" TO :"role";
GRANT SELECT (table_name, version) ON :"schema".outboxd_schema TO :"role";
GRANT SELECT (id, event_id, topic, key, payload, headers, created_at, sent_at, failed_at, attempts, last_error,
    next_attempt_at, xid) ON :"schema".:"table" TO :"role";
-- SELECT ... FOR UPDATE needs UPDATE on a column too; these are the outcome columns it marks.
GRANT UPDATE (sent_at, failed_at, attempts, last_error, next_attempt_at) ON :"schema".:"table" TO :"role";
-- Retention: the purge function deletes only rows sent long enough ago; the role gets no DELETE of its own.
-- (Needs the latest schema version: run `outboxd schema install` first.)
GRANT EXECUTE ON FUNCTION :"schema".:"table_purge"(interval, integer) TO :"role";
-- Bucket ownership: a relay bumps a bucket's epoch when it takes it, and keeps its own heartbeat row.
GRANT SELECT, UPDATE (epoch, owner, taken_at) ON :"schema".:"table_buckets" TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".:"table_relays" TO :"role";
-- The claim floor (schema version 6): the relay reads it and raises it.
GRANT SELECT, UPDATE (floor) ON :"schema".:"table_floor" TO :"role";
GRANT SELECT, INSERT, UPDATE ON :"schema".:"table_progress" TO :"role";
GRANT EXECUTE ON FUNCTION :"schema".:"table_purge_kept"(interval, integer) TO :"role";
-- `outboxd retry` with "keep" (version 8) moves failed rows to new ids; the role gets no INSERT or DELETE.
GRANT EXECUTE ON FUNCTION :"schema".:"table_retry_kept"(bigint[]) TO :"role";
-- The progress's times (version 9): the relay adds a copy every 10 s and deletes those past retention.
GRANT SELECT, INSERT, DELETE ON :"schema".:"table_progress_at" TO :"role";
