/* The relay's session: before relaying, the table is checked for what the configuration asks of it, the session
 * is set up for a queue table, every statement the relay runs is prepared, and new rows are LISTENed for. */
#include "pg_session.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

/* The table's oid (for its NOTIFY channel) and its outboxd schema version. */
static int check_table(struct pg *pg, int need_version, unsigned *oid, char *errbuf, size_t errsize)
{
	const char *params[2] = { pg->qtable, NULL };
	char meta[300];
	PGresult *res;
	int rc = PG_OK;

	snprintf(meta, sizeof(meta), "%s.outboxd_schema", pg->qschema);
	params[1] = meta;
	if ((res = pgi_query(pg, "SELECT to_regclass($1)::oid, to_regclass($2)::oid", 2, params,
			     "cannot look up the outbox table", &rc, errbuf, errsize)) == NULL)
		return rc;
	if (PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1)) {
		snprintf(errbuf, errsize, "table %s does not exist or is not an outboxd table (run: outboxd schema install)",
			 pg->qtable);
		PQclear(res);
		return PG_ERR_SCHEMA;
	}
	*oid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if ((rc = pgi_read_version(pg, &pg->schema_version, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->schema_version < need_version) {
		snprintf(errbuf, errsize, "table %s is at schema version %d, this outboxd needs %d (run: outboxd schema install)",
			 pg->qtable, pg->schema_version, need_version);
		return PG_ERR_SCHEMA;
	}
	return PG_OK;
}

/* PostgreSQL checks privileges when a statement runs, not when it is prepared: without this, a relay lacking DELETE
 * would learn it only after publishing its first batch, and then re-send that batch for ever. */
static int check_delete_privilege(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc = PG_OK;
	PGresult *res = pgi_query(pg, "SELECT has_table_privilege($1::regclass, 'DELETE')", 1,
				  (const char *[]){ pg->qtable }, "cannot check the DELETE privilege", &rc, errbuf, errsize);

	if (res == NULL)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(errbuf, errsize,
			 "relay.on_sent = \"delete\" needs DELETE on %s, which this role lacks (GRANT DELETE ON %s TO ...)",
			 pg->qtable, pg->qtable);
		rc = PG_ERR_SCHEMA;
	}
	PQclear(res);
	return rc;
}

static int prepare_statements(struct pg *pg, char *errbuf, size_t errsize)
{
	int rc;

	if ((rc = pgi_prepare_claims(pg, errbuf, errsize)) != PG_OK || (rc = pgi_prepare_marks(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if (pg->cfg->on_sent == ON_SENT_KEEP)
		return pgi_prepare_progress(pg, errbuf, errsize);
	return pg->qfloor != NULL ? pgi_prepare_floor(pg, errbuf, errsize) : PG_OK;
}

int pg_prepare_relay(struct pg *pg, const struct pg_claim_limits *lim, int need_version, char *errbuf,
		     size_t errsize)
{
	char sql[256];
	unsigned oid = 0;
	const char *standby;
	int rc;

	pg->claim = *lim;
	/* Reported by every server since 14 at connection time. A standby would refuse the claim's FOR UPDATE with
	 * an error that reads like a bug; say what it is, and let the relay wait for a promotion instead. */
	if ((standby = PQparameterStatus(pg->conn, "in_hot_standby")) != NULL && strcmp(standby, "on") == 0) {
		snprintf(errbuf, errsize, "the server is a hot standby (read-only); the relay needs the primary: list "
					  "every host with target_session_attrs=read-write");
		return PG_ERR_STANDBY;
	}
	if ((rc = check_table(pg, need_version, &oid, errbuf, errsize)) != PG_OK)
		return rc;
	pg->table_oid = oid;
	if (pg->cfg->on_permanent_error == ON_ERROR_BLOCK_KEY && pg->schema_version < 5) {
		snprintf(errbuf, errsize,
			 "table %s is at schema version %d; relay.on_permanent_error = \"block_key\" needs version 5 (run: "
			 "outboxd schema install)",
			 pg->qtable, pg->schema_version);
		return PG_ERR_SCHEMA;
	}
	if (pg->cfg->on_sent == ON_SENT_DELETE && (rc = check_delete_privilege(pg, errbuf, errsize)) != PG_OK)
		return rc;
	if ((rc = pgi_progress_check(pg, errbuf, errsize)) != PG_OK)
		return rc;
	/* With "keep" nothing is ever marked sent, so the floor could not rise: the window takes its place. */
	if (pg->schema_version >= 6 && pg->cfg->on_sent != ON_SENT_KEEP &&
	    (pg->qfloor = pgi_qualified(pg, "_floor", errbuf, errsize)) == NULL)
		return PG_ERR_NOMEM;
	if ((rc = pgi_count_buckets(pg, errbuf, errsize)) != PG_OK)
		return rc;
	/* A lost commit of a mark means a re-send, never a loss: the relay's own commits need not wait for the
	 * WAL flush. A relay stuck mid-batch gets its row locks taken away by the server. A queue table's
	 * statistics are always stale (a fresh backlog looks like 2 rows), and then the planner reads the whole
	 * backlog with a bitmap scan and sorts it on disk for each claim (measured: 100 ms per claim of 500 rows out
	 * of 60,000); every statement of this session is meant to walk an index, so only index scans are allowed.
	 * The costs that makes (any unavoidable seq scan costs 1e10) would set off JIT compilation of every
	 * statement (measured: 60 ms each), so JIT is off: these statements are all short. outboxd.relay tells the
	 * floor's reset trigger (schema version 6) that this session's updates never make a row pending again. */
	/* With "keep", planning was most of the server's time per transaction (measured at 1,000 events/s: 0.52 ms
	 * to plan the claim, 0.26 to plan the progress lock, 0.07 to run the claim). Every branch of its plan walks
	 * an index bounded by LIMIT, so one plan serves every window: a generic plan, made once, drained a 300k-row
	 * single-transaction backlog amid a trickle in 8.6-11.7 s against 10.1-12.9 s planned per call, and the
	 * trickle's p50 fell from 3.0-6.7 to 1.9-2.9 ms (four rounds each, README "Performance"). (The claim's
	 * early spike measured a generic plan ten times slower: the stragglers were then computed in the statement,
	 * out of the planner's sight.) Left on auto, the server keeps planning the claim per call. */
	snprintf(sql, sizeof(sql),
		 "SET synchronous_commit = off; SET enable_seqscan = off; SET enable_bitmapscan = off; SET jit = off;"
		 " SET outboxd.relay = on;%s"
		 " SET idle_in_transaction_session_timeout = %d; SET lock_timeout = 10000",
		 pg->cfg->on_sent == ON_SENT_KEEP ? " SET plan_cache_mode = force_generic_plan;" : "",
		 pg->cfg->delivery_timeout_ms * 2 + 10000);
	if ((rc = pgi_exec(pg, sql, "cannot set up the session", errbuf, errsize)) != PG_OK)
		return rc;
	if ((rc = prepare_statements(pg, errbuf, errsize)) != PG_OK)
		return rc;
	snprintf(sql, sizeof(sql), "LISTEN \"outboxd_%u\"", oid);
	if ((rc = pgi_exec(pg, sql, "cannot LISTEN", errbuf, errsize)) != PG_OK)
		return rc;
	return pgi_size_ids_buf(pg, lim->rows, errbuf, errsize);
}
