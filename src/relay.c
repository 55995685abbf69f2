/* The relay loop, and the one place that decides what is fatal.
 *
 * One transaction at a time: BEGIN; claim up to batch_size unsent rows in id order (FOR UPDATE, SKIP LOCKED with
 * ordering none); produce them; wait for every delivery report (bounded by delivery_timeout_ms); mark only
 * acknowledged rows sent, failed rows failed, the rest unsent with attempts + 1; COMMIT. While a backlog drains,
 * the transaction carries a chain of up to batches_per_commit batches, PostgreSQL's work on one overlapping
 * Kafka's on the other (relay_chain). A crash anywhere before COMMIT leaves every row unsent, so it is re-sent:
 * at-least-once. Idle, it sleeps in poll() on the PostgreSQL socket (NOTIFY from the outbox
 * trigger), the signal pipe and a timer (poll_interval_ms, the stats interval, the watchdog, the heartbeat).
 * With ordering by key, the claim covers only the buckets this relay owns (owner.c), and a batch is published
 * only while its lease is fresh. Between batches: rebalancing, retention, and a SIGHUP's reload.
 *
 * Fatal (exit): a config or schema problem at start-up. Everything after start-up (PostgreSQL or Kafka gone, a
 * fatal producer error, a broken transaction) is logged, backed off and retried. */
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "batch.h"
#include "fault.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "pg.h"
#include "service.h"
#include "signals.h"
#include "stats.h"

#define ABANDON_WAIT_MS 5000 /* how long purged messages may take to report back */

/* The oldest schema the relay works with: a newer binary keeps relaying until the operator runs schema install
 * (version 2 only adds the lag view). */
#define RELAY_SCHEMA_VERSION 1

struct relay {
	struct config *cfg; /* changed in place by a reload */
	struct pg *pg;
	struct kafka *kafka;
	struct owner *owner; /* ordering by key: the buckets this relay may claim; NULL with ordering none */
	int kafka_broken; /* recreate the producer before the next batch */
	int kafka_reload; /* the same, because its settings changed */
	struct batch *batch; /* the last batch claimed, or the one in Kafka */
	struct batch *next;  /* a chain's next batch, claimed while batch is in Kafka */
	int64_t deadline_ms; /* when the batch in Kafka is given up */
	struct pg_claim_limits limits;
	struct backoff backoff;
	struct stats stats;
	int64_t next_stats_ms;
	int64_t next_purge_ms;
	int64_t next_floor_ms;
	int watchdog_ms;
	char err[512];
};

static char qbuf[600];
#define Q(s) log_quote(qbuf, sizeof(qbuf), (s))

static int min_int(int a, int b) { return a < b ? a : b; }

/* The last batch was as large as it could be: more rows are waiting. */
static int draining(const struct relay *r)
{
	return r->batch->n >= r->cfg->batch_size || r->batch->more;
}

/* Waits for a NOTIFY, a signal, or timeout_ms. */
static void wait_for_work(struct relay *r, int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = signals_fd(), .events = POLLIN }, { .fd = pg_socket(r->pg), .events = POLLIN } };
	int nfds = fds[1].fd >= 0 ? 2 : 1;
	int64_t now = kafka_now_ms();

	/* libpq may already have read notifications while running the last batch's statements: then there is
	 * work, and the socket will not say so. */
	if (nfds == 2 && pg_drain_notifies(r->pg) > 0)
		return;

	if (r->next_stats_ms - now < timeout_ms)
		timeout_ms = (int)(r->next_stats_ms > now ? r->next_stats_ms - now : 0);
	if (r->watchdog_ms > 0)
		timeout_ms = min_int(timeout_ms, r->watchdog_ms);
	if (r->owner != NULL)
		timeout_ms = min_int(timeout_ms, owner_due_ms(r->owner));
	if (poll(fds, (nfds_t)nfds, timeout_ms) < 0 && errno != EINTR)
		log_warn("poll failed", "errno=%d", errno);
	signals_drain();
	if (nfds == 2 && pg_drain_notifies(r->pg) == PG_ERR_CONN) {
		log_warn("PostgreSQL connection lost while idle", NULL);
		pg_disconnect(r->pg);
	}
}

/* Sleeps for the next backoff delay; a signal cuts it short. */
static void back_off(struct relay *r)
{
	int64_t until = kafka_now_ms() + backoff_next(&r->backoff);

	while (!signals_stop_requested() && kafka_now_ms() < until) {
		struct pollfd fd = { .fd = signals_fd(), .events = POLLIN };
		int slice = (int)(until - kafka_now_ms());
		if (r->watchdog_ms > 0)
			slice = min_int(slice, r->watchdog_ms);
		if (r->owner != NULL)
			slice = min_int(slice, owner_due_ms(r->owner));
		if (slice > 0 && poll(&fd, 1, slice) < 0 && errno != EINTR)
			break;
		signals_drain();
		service_watchdog();
		if (r->owner != NULL)
			owner_heartbeat(r->owner, r->pg);
	}
}

static int connect_pg(struct relay *r)
{
	int rc = pg_connect(r->pg, r->err, sizeof(r->err));

	if (rc == PG_OK)
		rc = pg_prepare_relay(r->pg, &r->limits, RELAY_SCHEMA_VERSION, r->err, sizeof(r->err));
	if (rc != PG_OK)
		pg_disconnect(r->pg);
	if (r->owner != NULL)
		owner_reset(r->owner); /* a new session holds no bucket locks */
	return rc;
}

static int ensure_kafka(struct relay *r)
{
	char why[256];

	if (r->kafka != NULL && !r->kafka_broken && !r->kafka_reload && !kafka_is_fatal(r->kafka, why, sizeof(why)))
		return 0;
	if (r->kafka != NULL) {
		log_warn("recreating the Kafka producer", "reason=%s",
			 Q(r->kafka_broken ? "undelivered reports" : r->kafka_reload ? "configuration reloaded" : why));
		kafka_free(r->kafka, 0);
		r->kafka = NULL;
	}
	r->kafka_broken = r->kafka_reload = 0;
	if ((r->kafka = kafka_new(r->cfg, r->err, sizeof(r->err))) == NULL) {
		log_error("cannot create the Kafka producer", "error=%s", Q(r->err));
		return -1;
	}
	if (r->limits.row_bytes != kafka_max_message_bytes(r->kafka)) {
		r->limits.row_bytes = kafka_max_message_bytes(r->kafka);
		if (pg_set_claim_limits(r->pg, &r->limits, r->err, sizeof(r->err)) != PG_OK) {
			log_warn("cannot prepare the claim for the new message.max.bytes, reconnecting", "error=%s", Q(r->err));
			pg_disconnect(r->pg);
		}
	}
	return 0;
}

/* Waits for the batch's delivery reports until its deadline; a stop request shortens the deadline to the
 * shutdown bound. What has not reported by then is purged and stays unsent. */
static void await_delivery(struct relay *r, struct batch *b, int64_t deadline)
{
	int shortened = 0;

	while (b->outstanding > 0) {
		int64_t now = kafka_now_ms();
		if (signals_stop_requested() && !shortened) {
			shortened = 1;
			if (deadline > now + r->cfg->shutdown_timeout_ms)
				deadline = now + r->cfg->shutdown_timeout_ms;
		}
		if (now >= deadline)
			break;
		kafka_serve(r->kafka, (int)min_int(100, (int)(deadline - now)));
		service_watchdog();
		if (r->owner != NULL)
			owner_heartbeat(r->owner, r->pg);
	}
	if (b->outstanding > 0 && kafka_abandon_batch(r->kafka, b, ABANDON_WAIT_MS) < 0)
		r->kafka_broken = 1;
	for (int i = 0; i < b->n; i++) {
		if (b->rows[i].state == ROW_PENDING)
			batch_set_state(&b->rows[i], ROW_TRANSIENT, "not acknowledged within relay.delivery_timeout_ms");
	}
}

/* A broker refuses a whole produce request when one record is too large for the topic, so its neighbours fail
 * with the same error. Each such row is tried again alone, in id order, before it is marked failed. */
static void isolate_size_failures(struct relay *r, struct batch *b, int64_t deadline)
{
	int suspects = 0, i;

	for (i = 0; i < b->n; i++)
		suspects += b->rows[i].state == ROW_PERMANENT && b->rows[i].suspect;
	if (suspects < 2)
		return;
	for (i = 0; i < b->n && !r->kafka_broken; i++) {
		if (b->rows[i].state != ROW_PERMANENT || !b->rows[i].suspect)
			continue;
		if (kafka_produce_alone(r->kafka, b, i, deadline) < 0)
			r->kafka_broken = 1;
		await_delivery(r, b, deadline);
	}
	/* Suspects the producer broke down before retrying are unproven: retry them later, do not park them. */
	for (; i < b->n; i++) {
		if (b->rows[i].state == ROW_PERMANENT && b->rows[i].suspect)
			batch_set_state(&b->rows[i], ROW_TRANSIENT, "not retried alone: the producer became unusable");
	}
}

/* With a dead-letter topic, a failed row is marked failed only once its copy there was acknowledged; a copy the
 * topic refuses leaves the row failed with both reasons, a copy that did not arrive makes it a retry. */
static void dead_letter(struct relay *r, struct batch *b, int64_t deadline)
{
	char why[160];

	if (r->cfg->dead_letter_topic == NULL || batch_count(b, ROW_PERMANENT) == 0 || r->kafka_broken)
		return;
	kafka_produce_dead_letters(r->kafka, b, deadline);
	await_delivery(r, b, deadline);
	for (int i = 0; i < b->n; i++) {
		struct outbox_row *row = &b->rows[i];
		if (!row->dead_letter)
			continue;
		row->dead_letter = 0;
		if (row->state == ROW_ACKED) {
			snprintf(why, sizeof(why), "%.120s (copied to the dead-letter topic)", row->parked);
			batch_set_state(row, ROW_PERMANENT, why);
		} else if (row->state == ROW_PERMANENT) {
			snprintf(why, sizeof(why), "%.60s; the dead-letter topic refused it too: %.50s", row->parked,
				 row->reason);
			batch_set_state(row, ROW_PERMANENT, why);
		} else {
			snprintf(why, sizeof(why), "%.60s; not yet copied to the dead-letter topic: %.50s", row->parked,
				 row->reason);
			batch_set_state(row, ROW_TRANSIENT, why);
		}
	}
}

static void log_outcome(struct relay *r, const struct batch *b, int held)
{
	int acked = batch_count(b, ROW_ACKED), transient = batch_count(b, ROW_TRANSIENT);

	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *row = &b->rows[i];
		if (row->state == ROW_PERMANENT)
			log_warn("row failed", "id=%lld event_id=%s reason=%s", (long long)row->id, row->event_id,
				 Q(row->reason));
	}
	if (transient > 0) {
		const char *reason = "";
		for (int i = 0; i < b->n && !*reason; i++) {
			if (b->rows[i].state == ROW_TRANSIENT)
				reason = b->rows[i].reason;
		}
		log_warn("batch not fully delivered, will retry", "rows=%d acked=%d retry=%d held_back=%d reason=%s", b->n,
			 acked, transient, held, Q(reason));
	}
	r->stats.published_total += acked;
	r->stats.failed_total += batch_count(b, ROW_PERMANENT);
	r->stats.retried_total += transient;
	log_debug("batch", "rows=%d acked=%d", b->n, acked);
}

/* A row no message can hold was not even fetched; it is parked with its size so nothing waits on it. */
static void park_oversize(struct relay *r, struct batch *b)
{
	char why[160];

	for (int i = 0; i < b->n; i++) {
		if (b->rows[i].size <= r->limits.row_bytes)
			continue;
		snprintf(why, sizeof(why), "row is %lld bytes, more than the producer's message.max.bytes (%d)",
			 b->rows[i].size, r->limits.row_bytes);
		batch_set_state(&b->rows[i], ROW_PERMANENT, why);
	}
}

/* While a backlog drains, before every claim; otherwise at most every FLOOR_STEP_MS, which keeps its round trips
 * off a quiet relay's latency and the floor close enough behind. */
#define FLOOR_STEP_MS 100

/* With ordering by key, the claim is limited to the buckets this relay owns; it may own none yet. The first claim
 * of a chain (in_flight NULL) begins its transaction, after stepping the floor; the next ones run in it. */
static int claim(struct relay *r, struct batch *b, const struct batch *in_flight)
{
	const char *filter = NULL;
	int64_t now = kafka_now_ms();
	int rc;

	/* r->batch still holds the last batch here. */
	if (in_flight == NULL && (draining(r) || now >= r->next_floor_ms)) {
		if ((rc = pg_floor_step(r->pg, r->err, sizeof(r->err))) != PG_OK)
			return rc;
		r->next_floor_ms = now + FLOOR_STEP_MS;
	}
	if (r->owner != NULL) {
		if (owner_count(r->owner) == 0) {
			batch_clear(b);
			return PG_OK;
		}
		filter = owner_filter(r->owner);
	}
	return pg_claim_batch(r->pg, b, filter, in_flight, r->err, sizeof(r->err));
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Hands a claimed batch to Kafka. With ordering by key only under a fresh lease: a relay frozen past its lease may
 * have been replaced, and publishing now could put an older event of a key after a newer one. Returns 0, or -1
 * (nothing produced) when the lease has expired. */
static int publish(struct relay *r, struct batch *b)
{
	if (r->owner != NULL) {
		if (!owner_lease_valid(r->owner))
			return -1;
		owner_stamp(r->owner, b);
	}
	park_oversize(r, b);
	fault_point("after_claim");
	r->deadline_ms = kafka_now_ms() + r->cfg->delivery_timeout_ms;
	kafka_produce_batch(r->kafka, b, r->deadline_ms);
	fault_point("after_produce");
	return 0;
}

/* Collects the batch's delivery reports and settles each row's outcome. Returns how many rows were acknowledged. */
static int settle(struct relay *r, struct batch *b)
{
	int held;

	await_delivery(r, b, r->deadline_ms);
	isolate_size_failures(r, b, kafka_now_ms() + r->cfg->delivery_timeout_ms);
	dead_letter(r, b, kafka_now_ms() + r->cfg->delivery_timeout_ms);
	held = batch_hold_back_keys(b);
	log_outcome(r, b, held);
	return batch_count(b, ROW_ACKED);
}

/* The chain ends before next: its rows stay pending, claimed again after this transaction. Returns NULL. */
static struct batch *drop(struct batch *next, const char *why)
{
	log_debug("the chain ends early: its next batch stays pending", "rows=%d reason=%s", next->n, Q(why));
	batch_clear(next);
	return NULL;
}

/* Another batch may join the chain: the last one was full (a backlog is draining), the chain is below its bound,
 * and nothing asks it to stop. */
static int chain_goes_on(const struct relay *r, const struct batch *b, int links)
{
	return links < r->cfg->batches_per_commit && (b->n >= r->cfg->batch_size || b->more) &&
	       !signals_stop_requested() && !r->kafka_broken;
}

/* One transaction, claim to commit, carrying a chain of batches while a backlog drains: batch N+1 is claimed
 * while N is on its way to Kafka, and N is marked while N+1 is. N+1 is published only once every row of N was
 * acknowledged, so at most one batch is ever in Kafka unconfirmed and a key's later event never goes out after
 * an earlier one that failed; otherwise N+1 is dropped unpublished and its rows stay pending for the next
 * transaction, where the failed rows' schedule holds their keys back. A crash before COMMIT leaves every row of
 * the chain unsent: they are re-sent. Returns the rows claimed, 0 when there was nothing to claim, or -1 when the
 * loop must back off. */
static int relay_chain(struct relay *r)
{
	struct batch *b = r->batch, *next;
	int64_t started = kafka_now_ms();
	int rc, links = 0, rows = 0, acked = 0, acked_now;

	rc = claim(r, b, NULL);
	if (rc != PG_OK)
		goto pg_failed;
	if (b->n == 0) {
		pg_abort(r->pg);
		return 0;
	}
	if (publish(r, b) < 0) {
		/* Its session is (or soon will be) gone; start over with a new one. */
		log_warn("lease expired before publishing: giving the batch up", "rows=%d", b->n);
		pg_abort(r->pg);
		pg_disconnect(r->pg);
		batch_clear(b);
		return -1;
	}
	for (;;) {
		next = NULL;
		if (chain_goes_on(r, b, ++links)) {
			if ((rc = claim(r, r->next, b)) != PG_OK) {
				await_delivery(r, b, r->deadline_ms);
				goto pg_failed;
			}
			next = r->next->n > 0 ? r->next : NULL;
		}
		acked_now = settle(r, b);
		acked += acked_now;
		if (next != NULL && acked_now < b->n)
			next = drop(next, "a row of the last batch was not acknowledged");
		/* While PostgreSQL marks this batch, the next one goes to Kafka. */
		rc = pg_mark_batch_send(r->pg, b, r->err, sizeof(r->err));
		if (rc == PG_OK && next != NULL && publish(r, next) < 0)
			next = drop(next, "the lease expired");
		if (rc == PG_OK)
			rc = pg_mark_batch_wait(r->pg, r->err, sizeof(r->err));
		if (rc != PG_OK) {
			if (next != NULL)
				await_delivery(r, next, r->deadline_ms);
			goto pg_failed;
		}
		rows += b->n;
		metrics_observe_batch(b, (double)(kafka_now_ms() - started) / 1000.0, wall_us());
		started = kafka_now_ms();
		if (next == NULL)
			break;
		r->next = b;
		r->batch = b = next;
	}
	batch_clear(r->next); /* the chain's earlier batch: its rows are marked, its memory is not needed */
	if ((rc = pg_commit(r->pg, r->err, sizeof(r->err))) != PG_OK)
		goto pg_failed; /* an unknown COMMIT outcome is treated as "not marked": the rows are re-sent */
	metrics_commit(1);
	fault_point("after_commit");
	return batch_count(b, ROW_TRANSIENT) > 0 ? -1 : rows;
pg_failed:
	r->stats.published_total -= acked;
	metrics_commit(0);
	log_warn("PostgreSQL error, will retry", "error=%s", Q(r->err));
	pg_abort(r->pg);
	if (rc == PG_ERR_CONN)
		pg_disconnect(r->pg);
	return -1;
}

static void report_stats(struct relay *r)
{
	struct pg_lag lag;
	int64_t now = kafka_now_ms();

	if (now < r->next_stats_ms)
		return;
	r->next_stats_ms = now + r->cfg->stats_interval_ms;
	metrics_set_state(pg_connected(r->pg), r->kafka != NULL && !r->kafka_broken, r->owner ? owner_count(r->owner) : 0);
	if (pg_connected(r->pg) && pg_lag(r->pg, &lag, r->err, sizeof(r->err)) == PG_OK) {
		stats_report(&r->stats, &lag, now);
		metrics_set_lag(&lag);
		return;
	}
	stats_report(&r->stats, NULL, now);
	metrics_set_lag(NULL);
}

/* Retention, only between batches when there is nothing to claim: one bounded DELETE per turn. Returns 1 when
 * it filled its batch (more old rows are waiting), so the loop comes back without sleeping. */
#define PURGE_INTERVAL_MS 10000

static int purge_sent(struct relay *r)
{
	int64_t now = kafka_now_ms();
	int deleted = 0;

	if (r->cfg->retention_s == 0 || now < r->next_purge_ms)
		return 0;
	r->next_purge_ms = now + PURGE_INTERVAL_MS;
	if (pg_purge_sent(r->pg, r->cfg->retention_s, r->cfg->retention_batch, &deleted, r->err, sizeof(r->err)) !=
	    PG_OK) {
		log_warn("cannot purge sent rows, will retry", "error=%s", Q(r->err));
		pg_abort(r->pg);
		return 0;
	}
	if (deleted > 0)
		log_info("purged sent rows", "rows=%d older_than_s=%d", deleted, r->cfg->retention_s);
	if (deleted < r->cfg->retention_batch)
		return 0;
	r->next_purge_ms = now;
	return 1;
}

/* The claim and the batches follow batch_size and batch_max_bytes. Between chains: no batch is in Kafka. */
static void apply_claim_limits(struct relay *r)
{
	struct batch *b = NULL, *next = NULL;

	r->limits.rows = r->cfg->batch_size;
	r->limits.bytes = r->cfg->batch_max_bytes;
	if (r->batch->cap < r->cfg->batch_size) {
		/* A producer that lost track of messages may still point into the old batches' payloads. */
		if (r->kafka_broken && r->kafka != NULL) {
			kafka_free(r->kafka, 0);
			r->kafka = NULL;
		}
		if ((b = batch_new(r->cfg->batch_size)) == NULL || (next = batch_new(r->cfg->batch_size)) == NULL) {
			log_warn("out of memory for the new batch size, keeping the old one", "batch_size=%d", r->batch->cap);
			r->limits.rows = r->batch->cap;
			batch_free(b);
		} else {
			batch_free(r->batch);
			batch_free(r->next);
			r->batch = b;
			r->next = next;
		}
	}
	if (pg_set_claim_limits(r->pg, &r->limits, r->err, sizeof(r->err)) != PG_OK) {
		log_warn("cannot prepare the new claim, reconnecting", "error=%s", Q(r->err));
		pg_disconnect(r->pg); /* the next connect prepares it */
	}
}

/* SIGHUP: an unreadable or invalid file changes nothing; otherwise what can change live does, at once or (the
 * producer) before the next batch, and what needs a restart is named. */
static void reload(struct relay *r)
{
	struct config *fresh = NULL;
	char restart[512];
	int changed;

	service_reloading();
	log_info("reloading the configuration", "config=%s", Q(r->cfg->path));
	if (config_load(r->cfg->path, &fresh, r->err, sizeof(r->err)) < 0 ||
	    kafka_check_config(fresh, r->err, sizeof(r->err)) < 0) {
		log_warn("configuration not reloaded: the file is not valid, the running configuration stays", "error=%s",
			 Q(r->err));
		config_free(fresh);
		service_ready();
		return;
	}
	changed = config_reload(r->cfg, fresh, restart, sizeof(restart));
	config_free(fresh);
	log_set_level(r->cfg->log_level);
	if (restart[0] != '\0')
		log_warn("configuration reloaded without some changes: they need a restart", "settings=%s", Q(restart));
	if (changed & CONFIG_RELOAD_CLAIM)
		apply_claim_limits(r);
	if (changed & CONFIG_RELOAD_KAFKA)
		r->kafka_reload = 1;
	backoff_init(&r->backoff, r->cfg->backoff_min_ms, r->cfg->backoff_max_ms,
		     (uint32_t)time(NULL) ^ (uint32_t)getpid());
	log_info("configuration reloaded", "batch_size=%d log_level=%s producer_recreated=%s", r->cfg->batch_size,
		 log_level_name(r->cfg->log_level), (changed & CONFIG_RELOAD_KAFKA) ? "yes" : "no");
	service_ready();
}

static void relay_loop(struct relay *r)
{
	while (!signals_stop_requested()) {
		int n;

		service_watchdog();
		if (signals_take_reload())
			reload(r);
		if (!pg_connected(r->pg)) {
			if (connect_pg(r) != PG_OK) {
				log_warn("cannot reach PostgreSQL, will retry", "error=%s", Q(r->err));
				back_off(r);
				continue;
			}
			log_info("connected to PostgreSQL", NULL);
			backoff_reset(&r->backoff);
		}
		if (ensure_kafka(r) < 0) {
			back_off(r);
			continue;
		}
		if (r->owner != NULL && owner_rebalance(r->owner, r->pg) < 0) {
			pg_disconnect(r->pg); /* frees every bucket lock, recorded or not */
			owner_reset(r->owner);
			back_off(r);
			continue;
		}
		n = relay_chain(r);
		report_stats(r);
		if (n < 0) {
			back_off(r);
			continue;
		}
		backoff_reset(&r->backoff);
		if (!draining(r) && !purge_sent(r))
			wait_for_work(r, r->cfg->poll_interval_ms);
		kafka_serve(r->kafka, 0);
	}
}

static int relay_start(struct relay *r)
{
	int rc;

	if ((r->batch = batch_new(r->cfg->batch_size)) == NULL || (r->next = batch_new(r->cfg->batch_size)) == NULL ||
	    (r->pg = pg_new(r->cfg)) == NULL ||
	    (r->cfg->ordering_key && (r->owner = owner_new(r->cfg)) == NULL)) {
		log_error("out of memory", NULL);
		return EX_OSERR;
	}
	if ((r->kafka = kafka_new(r->cfg, r->err, sizeof(r->err))) == NULL) {
		log_error("cannot create the Kafka producer", "error=%s", Q(r->err));
		return EX_CONFIG;
	}
	if (metrics_start(r->cfg->metrics_listen, r->err, sizeof(r->err)) < 0) {
		log_error("cannot start the metrics endpoint", "error=%s", Q(r->err));
		return EX_CONFIG;
	}
	r->limits.rows = r->cfg->batch_size;
	r->limits.bytes = r->cfg->batch_max_bytes;
	r->limits.row_bytes = kafka_max_message_bytes(r->kafka);
	/* At start-up a failure is reported and fatal, so a wrong conninfo or a missing schema is seen at once;
	 * systemd restarts the service. Once running, the relay rides out outages instead. */
	rc = connect_pg(r);
	if (rc != PG_OK) {
		log_error(rc == PG_ERR_CONN ? "cannot connect to PostgreSQL" : "the outbox table is not usable",
			  "error=%s", Q(r->err));
		return rc == PG_ERR_CONN ? EX_UNAVAILABLE : EX_CONFIG;
	}
	log_info("connected to PostgreSQL", "server_version=%d", pg_server_version(r->pg));
	return 0;
}

int relay_run(struct config *cfg)
{
	struct relay r = { .cfg = cfg };
	int rc;

	backoff_init(&r.backoff, cfg->backoff_min_ms, cfg->backoff_max_ms, (uint32_t)time(NULL) ^ (uint32_t)getpid());
	stats_init(&r.stats, kafka_now_ms());
	r.next_stats_ms = kafka_now_ms() + cfg->stats_interval_ms;
	r.watchdog_ms = service_watchdog_interval_ms();
	if (signals_init() < 0) {
		log_error("cannot install signal handlers", "errno=%d", errno);
		return EX_OSERR;
	}
	rc = relay_start(&r);
	if (rc == 0) {
		service_ready();
		char qs[200], qt[200];
		log_info("relaying", "schema=%s table=%s batch_size=%d ordering=%s", log_quote(qs, sizeof(qs), cfg->pg_schema),
			 log_quote(qt, sizeof(qt), cfg->pg_table), cfg->batch_size, cfg->ordering);
		relay_loop(&r);
		service_stopping();
		log_info("stopping", "published_total=%lld failed_total=%lld", r.stats.published_total,
			 r.stats.failed_total);
	}
	metrics_stop();
	kafka_free(r.kafka, 0);
	owner_free(r.owner);
	pg_free(r.pg);
	batch_free(r.batch);
	batch_free(r.next);
	if (rc == 0)
		log_info("stopped", NULL);
	return rc;
}
