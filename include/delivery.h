/* A batch's trip through Kafka: produced under a deadline, its delivery reports awaited, rows refused for their
 * size tried again alone, failed rows copied to the dead-letter topic, and later rows of an undelivered key held
 * back. What each row became is its state (batch.h); the relay decides what follows. The relay owns the producer
 * and lends it; while a delivery waits, it calls the relay's tick, so that the watchdog and the lease go on. */
#ifndef OUTBOXD_DELIVERY_H
#define OUTBOXD_DELIVERY_H

#include <stdint.h>

#include "batch.h"
#include "config.h"
#include "kafka.h"

struct delivery {
	const struct config *cfg;
	struct kafka *kafka;     /* the relay's producer */
	int broken;              /* reports went missing: the producer must be recreated before the next batch */
	int64_t deadline_ms;     /* when the batch in Kafka is given up */
	void (*tick)(void *arg); /* called at least every 100 ms while waiting */
	void *tick_arg;
	char retry_reason[256];  /* why the last settled batch left rows to retry; "" when it left none */
};

/* Hands b to Kafka: rows larger than max_row_bytes (never fetched) fail first, the rest are produced under
 * relay.delivery_timeout_ms from now. */
void delivery_publish(struct delivery *d, struct batch *b, long long max_row_bytes);

/* Waits for b's delivery reports until its deadline (a stop request shortens it to the shutdown bound); what has
 * not reported by then is purged and retried. */
void delivery_await(struct delivery *d, struct batch *b);

/* Collects b's reports and settles every row: suspects tried alone, dead-letter copies, held-back keys; logs
 * each failed row, and keeps in retry_reason why rows are left to retry (the caller logs that once per outage).
 * Returns how many rows were acknowledged. */
int delivery_settle(struct delivery *d, struct batch *b);

#endif
