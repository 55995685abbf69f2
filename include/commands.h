/* The sub-commands of outboxd. Each returns the process exit status (see README, "Exit codes"). */
#ifndef OUTBOXD_COMMANDS_H
#define OUTBOXD_COMMANDS_H

#include "config.h"

int cmd_run(struct config *cfg);
int cmd_check_config(const struct config *cfg);
int cmd_schema_print(const char *schema, const char *table);
int cmd_schema_install(const struct config *cfg);
int cmd_schema_grant(const struct config *cfg, const char *role);
int cmd_failed_list(const struct config *cfg);
int cmd_retry(const struct config *cfg, const char *const *ids, int n_ids, int all);
/* Pending and failed rows, the relays and a line per bucket owner; with buckets, a line per bucket too. */
int cmd_status(const struct config *cfg, int buckets);

/* Makes sent rows pending again, in one transaction: those with id >= from_id, or sent at or after since
 * (exactly one is non-NULL), of topic only when given. */
int cmd_replay(const struct config *cfg, const char *from_id, const char *since, const char *topic);

/* Installs or upgrades the outbox, then partitions it by id ranges (sql/partition.sql); only with
 * relay.on_sent = "keep", whose retention then drops partitions. rows: ids per partition (NULL: the file's default). */
int cmd_schema_partition(const struct config *cfg, const char *rows);

/* Installs the trigger that relays a Debezium-style outbox table (config group debezium) through the outbox. */
int cmd_schema_debezium(const struct config *cfg);

#endif
