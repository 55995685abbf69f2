/* The relay: runs until SIGTERM/SIGINT. */
#ifndef OUTBOXD_RELAY_H
#define OUTBOXD_RELAY_H

#include "config.h"

/* Returns the process exit status: 0 after a clean shutdown, EX_CONFIG (78) when the configuration, the Kafka
 * settings or the outbox table are not usable at start-up, EX_UNAVAILABLE (69) when PostgreSQL cannot be reached
 * at start-up, EX_OSERR (71) when out of memory or signals cannot be set up. */
/* SIGHUP re-reads cfg->path and applies what may change while running to cfg in place (see config_reload). */
int relay_run(struct config *cfg);

#endif
