/* The claim floor (schema version 6): an id below which no row is pending, raised only to a point proved safe
 * from transaction ids, so that a claim never walks the entries of rows sent long ago. */
#ifndef OUTBOXD_PG_FLOOR_H
#define OUTBOXD_PG_FLOOR_H

#include <stddef.h>

#include "pg.h"

/* Outside a transaction: raises the floor by a reading taken earlier once it is proved safe, and takes the next
 * reading. Each statement commits on its own. A no-op below schema version 6. */
int pg_floor_step(struct pg *pg, char *errbuf, size_t errsize);

#endif
