/* What happened to each claimed row, written in the claim's transaction: sent (or deleted, with on_sent =
 * "delete"), failed with its reason, or scheduled for another attempt; and retention of sent rows. */
#ifndef OUTBOXD_PG_MARK_H
#define OUTBOXD_PG_MARK_H

#include <stddef.h>

#include "batch.h"
#include "pg.h"

/* Writes each row's outcome in the open transaction (delivered: sent_at, or deleted with on_sent = "delete";
 * failed: failed_at and reason; otherwise attempts + 1, reason and the next attempt's time). When every row was
 * delivered, that is one statement, which is sent without waiting for it, so that the caller can work meanwhile
 * without the connection; pg_mark_batch_wait then reads its outcome (and is a no-op otherwise). */
int pg_mark_batch_send(struct pg *pg, const struct batch *b, char *errbuf, size_t errsize);
int pg_mark_batch_wait(struct pg *pg, char *errbuf, size_t errsize);

/* Retention: deletes up to max_rows rows sent more than older_than_s seconds ago, in one autocommitted
 * statement through the table's purge function (schema version 3; a no-op on older tables). With "keep" from
 * version 10 a partitioned table loses whole partitions instead (sql/010_rotate.sql), and older_than_s 0
 * (retention off) only keeps its partition ahead; otherwise 0 is a no-op. */
int pg_purge_sent(struct pg *pg, int older_than_s, int max_rows, int *deleted, char *errbuf, size_t errsize);

#endif
