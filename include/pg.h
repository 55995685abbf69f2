/* PostgreSQL: the connection handle every pg_*.c module works through. Library-like: never exits, never prints,
 * never decides policy; each call returns a pg_rc and fills errbuf. What runs on the handle is split by concern:
 * pg_session.h (the relay's session), pg_claim.h (claim, decode, lag), pg_mark.h (mark, purge), pg_floor.h (the
 * claim floor), pg_buckets.h (bucket ownership), pg_admin.h (failed rows, retry, replay, status) and
 * pg_schema.h (schema versions, install, grant, Debezium). */
#ifndef OUTBOXD_PG_H
#define OUTBOXD_PG_H

#include <stddef.h>

#include "config.h"

enum pg_rc {
	PG_OK = 0,
	PG_ERR_CONN = -1,   /* cannot connect, or the connection broke: reconnect and retry */
	PG_ERR_QUERY = -2,  /* a statement failed on a healthy connection */
	PG_ERR_SCHEMA = -3, /* the outbox table is missing or its schema version is not one we can use */
	PG_ERR_NOMEM = -4,  /* out of memory */
	PG_ERR_STANDBY = -5, /* connected, but to a hot standby: the relay waits for a primary */
};

struct pg;

/* A handle for cfg (which must outlive it); not yet connected. Caller frees with pg_free. NULL when out of
 * memory. */
struct pg *pg_new(const struct config *cfg);
/* As pg_new, connecting with postgres.owner_conninfo when set: for schema install and grant. */
struct pg *pg_new_owner(const struct config *cfg);
void pg_free(struct pg *pg);

/* Opens the connection with keepalives and the configured passfile. */
int pg_connect(struct pg *pg, char *errbuf, size_t errsize);
void pg_disconnect(struct pg *pg);
int pg_connected(const struct pg *pg);
int pg_socket(const struct pg *pg);

/* Reads pending notifications without blocking. Returns how many arrived, or PG_ERR_CONN. */
int pg_drain_notifies(struct pg *pg);

/* Commits the open transaction. PG_ERR_CONN means the outcome of COMMIT is unknown: treat as not marked. */
int pg_commit(struct pg *pg, char *errbuf, size_t errsize);
/* Rolls back an open transaction; a broken connection is closed. */
void pg_abort(struct pg *pg);

/* The server process of this connection (others fence a relay by ending it), the server's version, and
 * libpq's, for the start-up log line. */
int pg_backend_pid(const struct pg *pg);
int pg_server_version(const struct pg *pg);
int pg_lib_version(void);

#endif
