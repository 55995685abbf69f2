/* A batch's trip through Kafka (include/delivery.h): the produce, the wait for reports under a deadline, and
 * what the relay does about rows that were not delivered before it marks anything. */
#include "delivery.h"

#include "clock.h"
#include "fault.h"
#include "log.h"
#include "signals.h"

#define ABANDON_WAIT_MS 5000 /* how long purged messages may take to report back */
#define SERVE_SLICE_MS 100   /* the longest wait between two ticks */

void delivery_publish(struct delivery *d, struct batch *b, long long max_row_bytes)
{
	/* A row no message can hold was not even fetched; it fails with its size so that nothing waits on it. */
	batch_fail_oversize(b, max_row_bytes);
	fault_point("after_claim");
	d->deadline_ms = clock_now_ms() + d->cfg->delivery_timeout_ms;
	kafka_produce_batch(d->kafka, b, d->deadline_ms);
	fault_point("after_produce");
}

static void await_until(struct delivery *d, struct batch *b, int64_t deadline)
{
	int shortened = 0;

	while (b->outstanding > 0) {
		int64_t now = clock_now_ms();
		if (signals_stop_requested() && !shortened) {
			shortened = 1;
			if (deadline > now + d->cfg->shutdown_timeout_ms)
				deadline = now + d->cfg->shutdown_timeout_ms;
		}
		if (now >= deadline)
			break;
		kafka_serve(d->kafka, deadline - now < SERVE_SLICE_MS ? (int)(deadline - now) : SERVE_SLICE_MS);
		d->tick(d->tick_arg);
	}
	if (b->outstanding > 0 && kafka_abandon_batch(d->kafka, b, ABANDON_WAIT_MS) < 0)
		d->broken = 1;
	batch_rows_unreported(b, "not acknowledged within relay.delivery_timeout_ms");
}

void delivery_await(struct delivery *d, struct batch *b)
{
	await_until(d, b, d->deadline_ms);
}

/* A broker refuses a whole produce request when one record is too large for the topic, so its neighbours fail
 * with the same error. With two suspects or more, each is tried again alone, in id order, before it is marked
 * failed; suspects the producer broke down before retrying are unproven: retried later, not parked. */
static void isolate_size_failures(struct delivery *d, struct batch *b, int64_t deadline)
{
	int i = 0;

	if (batch_count(b, ROW_SUSPECT) >= 2) {
		for (; i < b->n && !d->broken; i++) {
			if (b->rows[i].state != ROW_SUSPECT)
				continue;
			if (kafka_produce_alone(d->kafka, b, i, deadline) < 0)
				d->broken = 1;
			await_until(d, b, deadline);
		}
	} else {
		i = b->n;
	}
	batch_suspects_settle(b, i, "not retried alone: the producer became unusable");
}

/* With a dead-letter topic, a failed row is marked failed only once its copy there was acknowledged (batch.c says
 * what a copy's report makes of the row). */
static void dead_letter(struct delivery *d, struct batch *b, int64_t deadline)
{
	if (d->cfg->dead_letter_topic == NULL || d->broken || batch_begin_dead_letters(b) == 0)
		return;
	kafka_produce_dead_letters(d->kafka, b, deadline);
	await_until(d, b, deadline);
}

static int64_t first_in(const struct batch *b, enum row_state state)
{
	for (int i = 0; i < b->n; i++) {
		if (b->rows[i].state == state)
			return b->rows[i].id;
	}
	return 0;
}

static void log_outcome(struct delivery *d, const struct batch *b, int held)
{
	int acked = batch_count(b, ROW_ACKED), retried = batch_undelivered(b), blocked;

	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *row = &b->rows[i];
		if (row->state == ROW_FAILED)
			log_warn("row failed", "id=%lld event_id=%s reason=%s", (long long)row->id, row->event_id,
				 log_q(row->reason));
	}
	if ((blocked = batch_count(b, ROW_BLOCKED)) > 0)
		log_warn("rows set aside behind a failed event of their key (block_key)", "rows=%d first_id=%lld", blocked,
			 (long long)first_in(b, ROW_BLOCKED));
	d->retry_reason[0] = '\0';
	if (retried > 0) {
		const char *reason = "";
		for (int i = 0; i < b->n && !*reason; i++) {
			if (b->rows[i].state == ROW_RETRY || b->rows[i].state == ROW_HELD)
				reason = b->rows[i].reason;
		}
		snprintf(d->retry_reason, sizeof(d->retry_reason), "%s", *reason ? reason : "no reason given");
	}
	log_debug("batch", "rows=%d acked=%d retry=%d held_back=%d reason=%s", b->n, acked, retried, held,
		  log_q(d->retry_reason));
}

int delivery_settle(struct delivery *d, struct batch *b)
{
	int held;

	await_until(d, b, d->deadline_ms);
	isolate_size_failures(d, b, clock_now_ms() + d->cfg->delivery_timeout_ms);
	dead_letter(d, b, clock_now_ms() + d->cfg->delivery_timeout_ms);
	held = batch_hold_back_keys(b);
	log_outcome(d, b, held);
	return batch_count(b, ROW_ACKED);
}
