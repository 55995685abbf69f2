/* The outbox's schema in the database: its installed version, installing and upgrading it from sql/, granting
 * the relay role its privileges, and checking a Debezium-style table before relaying it. For the one-shot
 * commands, run as the table's owner (pg_new_owner). */
#ifndef OUTBOXD_PG_SCHEMA_H
#define OUTBOXD_PG_SCHEMA_H

#include <stddef.h>

#include "pg.h"

/* The table's installed schema version (0: none). */
int pg_schema_version(struct pg *pg, int *version, char *errbuf, size_t errsize);

/* Schema install: in one transaction under an advisory lock, reads the table's schema version (0 if none), asks
 * render for the SQL from there, runs it and commits. *from and *to receive the versions. render returns a string
 * the caller frees, or NULL with errbuf set. */
typedef char *(*pg_render_fn)(const char *schema, const char *table, int from, char *errbuf, size_t errsize);
int pg_schema_install(struct pg *pg, pg_render_fn render, int latest, int *from, int *to, char *errbuf,
		      size_t errsize);

/* Runs a rendered script (the grant, the Debezium trigger) in one transaction. */
int pg_schema_grant(struct pg *pg, const char *sql, char *errbuf, size_t errsize);

/* `schema partition`: runs sql (schema_render_partition) in one transaction under the install's advisory lock,
 * waiting at most 10 s for the table's lock. *converted: 1 if the table was not partitioned before. */
int pg_schema_partition(struct pg *pg, const char *sql, int *converted, char *errbuf, size_t errsize);

/* `schema debezium`: checks that schema.table has the columns cols (id, route-by, key, payload), the id uuid or
 * text, the payload json, jsonb or text, and says in *payload_kind ("json" or "text") how to read the payload.
 * PG_ERR_QUERY with errbuf naming what is wrong. */
int pg_debezium_check(struct pg *pg, const char *schema, const char *table, const char *const cols[4],
		      const char **payload_kind, char *errbuf, size_t errsize);

#endif
