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
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "batch.h"
#include "clock.h"
#include "delivery.h"
#include "fault.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "pg.h"
#include "pg_claim.h"
#include "pg_floor.h"
#include "pg_mark.h"
#include "pg_session.h"
#include "service.h"
#include "signals.h"
#include "stats.h"

/* The oldest schema the relay works with: a newer binary keeps relaying until the operator runs schema install
 * (version 2 only adds the lag view). */
#define RELAY_SCHEMA_VERSION 1

struct relay {
	struct config *cfg; /* changed in place by a reload */
	struct pg *pg;
	struct delivery delivery; /* holds the producer; broken: recreate it before the next batch */
	struct owner *owner; /* ordering by key: the buckets this relay may claim; NULL with ordering none */
	int kafka_reload; /* recreate the producer: its settings changed */
	struct batch *batch; /* the last batch claimed, or the one in Kafka */
	struct batch *next;  /* a chain's next batch, claimed while batch is in Kafka */
	struct pg_claim_limits limits;
	struct backoff backoff;
	struct stats stats;
	int64_t next_stats_ms;
	int64_t next_purge_ms;
	int64_t next_ahead_ms; /* keep_partitions_ahead */
	int64_t next_floor_ms;
	int64_t failing_since_ms; /* the first of the failed attempts in a row (0: the last one worked), for /readyz */
	int outage_attempts;      /* failed attempts logged by outage_log since the last one that worked */
	const char *outage_msg;   /* what the last of them said, and why */
	char outage_err[256];
	int watchdog_ms;
	char err[512];
};

static int min_int(int a, int b) { return a < b ? a : b; }

/* The last batch was as large as it could be: more rows are waiting. */
static int draining(const struct relay *r)
{
	return r->batch->n >= r->cfg->batch_size || r->batch->more;
}

/* What goes on whatever the relay waits for: the watchdog, and with ordering by key or on_sent "keep" the
 * heartbeat that keeps its lease. Every wait ticks at least as often as tick_within allows. */
static void tick(void *arg)
{
	struct relay *r = arg;
	struct metrics_state st = {
		.pg_up = pg_connected(r->pg),
		.kafka_up = r->delivery.kafka != NULL && !r->delivery.broken && kafka_reachable(r->delivery.kafka),
		.failing_since_ms = r->failing_since_ms,
		.ready_max_backoff_ms = r->cfg->ready_max_backoff_ms,
	};

	service_watchdog();
	if (r->owner != NULL)
		owner_heartbeat(r->owner, r->pg);
	if (r->owner != NULL && owner_buckets(r->owner)) {
		st.buckets_total = pg_nbuckets(r->pg);
		st.buckets_owned = owner_count(r->owner);
		st.buckets_share = owner_share(r->owner);
	}
	metrics_set_state(&st);
}

/* An attempt failed (the loop backs off) or worked: /readyz tells a relay that keeps failing. */
static void attempt_failed(struct relay *r)
{
	if (r->failing_since_ms == 0)
		r->failing_since_ms = clock_now_ms();
}

/* A failed attempt, logged once per outage: at warn when an outage starts or what it says changes, at debug
 * while it repeats (a full disk or a server away would otherwise log every back-off); attempt_worked logs the
 * end. The attempt itself is counted by back_off. */
static void outage_log(struct relay *r, const char *msg, const char *err)
{
	r->outage_attempts++;
	if (r->outage_msg == msg && strcmp(r->outage_err, err) == 0) {
		log_debug(msg, "error=%s attempts=%d", log_q(err), r->outage_attempts);
		return;
	}
	r->outage_msg = msg;
	snprintf(r->outage_err, sizeof(r->outage_err), "%s", err);
	log_warn(msg, "error=%s", log_q(err));
}

static void attempt_worked(struct relay *r)
{
	if (r->outage_attempts > 0)
		log_info("recovered", "after=%s attempts=%d outage_ms=%lld", log_q(r->outage_msg), r->outage_attempts,
			 (long long)(r->failing_since_ms > 0 ? clock_now_ms() - r->failing_since_ms : 0));
	r->outage_attempts = 0;
	r->outage_msg = NULL;
	r->failing_since_ms = 0;
	backoff_reset(&r->backoff);
}

/* timeout_ms, cut to when the next tick is due. */
static int tick_within(const struct relay *r, int timeout_ms)
{
	if (r->watchdog_ms > 0)
		timeout_ms = min_int(timeout_ms, r->watchdog_ms);
	if (r->owner != NULL)
		timeout_ms = min_int(timeout_ms, owner_due_ms(r->owner));
	return timeout_ms;
}

/* Waits for a NOTIFY, a signal, or timeout_ms. */
static void wait_for_work(struct relay *r, int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = signals_fd(), .events = POLLIN }, { .fd = pg_socket(r->pg), .events = POLLIN } };
	int nfds = fds[1].fd >= 0 ? 2 : 1;
	int64_t now = clock_now_ms();

	/* libpq may already have read notifications while running the last batch's statements: then there is
	 * work, and the socket will not say so. */
	if (nfds == 2 && pg_drain_notifies(r->pg) > 0)
		return;

	if (r->next_stats_ms - now < timeout_ms)
		timeout_ms = (int)(r->next_stats_ms > now ? r->next_stats_ms - now : 0);
	if (poll(fds, (nfds_t)nfds, tick_within(r, timeout_ms)) < 0 && errno != EINTR)
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
	int64_t until = clock_now_ms() + backoff_next(&r->backoff);

	attempt_failed(r);
	while (!signals_stop_requested() && clock_now_ms() < until) {
		struct pollfd fd = { .fd = signals_fd(), .events = POLLIN };
		int slice = tick_within(r, (int)(until - clock_now_ms()));
		if (slice > 0 && poll(&fd, 1, slice) < 0 && errno != EINTR)
			break;
		signals_drain();
		tick(r);
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
	struct delivery *d = &r->delivery;
	char why[256];

	if (d->kafka != NULL && !d->broken && !r->kafka_reload && !kafka_is_fatal(d->kafka, why, sizeof(why)))
		return 0;
	if (d->kafka != NULL) {
		log_warn("recreating the Kafka producer", "reason=%s",
			 log_q(d->broken ? "undelivered reports" : r->kafka_reload ? "configuration reloaded" : why));
		kafka_free(d->kafka, 0);
		d->kafka = NULL;
	}
	d->broken = r->kafka_reload = 0;
	if ((d->kafka = kafka_new(r->cfg, r->err, sizeof(r->err))) == NULL) {
		log_error("cannot create the Kafka producer", "error=%s", log_q(r->err));
		return -1;
	}
	if (r->limits.row_bytes != kafka_max_message_bytes(d->kafka)) {
		r->limits.row_bytes = kafka_max_message_bytes(d->kafka);
		if (pg_set_claim_limits(r->pg, &r->limits, r->err, sizeof(r->err)) != PG_OK) {
			log_warn("cannot prepare the claim for the new message.max.bytes, reconnecting", "error=%s", log_q(r->err));
			pg_disconnect(r->pg);
		}
	}
	return 0;
}

/* While a backlog drains, before every claim; otherwise at most every FLOOR_STEP_MS, which keeps its round trips
 * off a quiet relay's latency and the floor close enough behind. */
#define FLOOR_STEP_MS 100

/* With ordering by key, the claim is limited to the buckets this relay owns; it may own none yet. The first claim
 * of a chain (in_flight NULL) begins its transaction, after stepping the floor; the next ones run in it. */
static int claim(struct relay *r, struct batch *b, const struct batch *in_flight)
{
	const char *filter = NULL;
	int64_t now = clock_now_ms();
	int rc;

	/* r->batch still holds the last batch here. */
	if (in_flight == NULL && (draining(r) || now >= r->next_floor_ms)) {
		if ((rc = pg_floor_step(r->pg, r->err, sizeof(r->err))) != PG_OK)
			return rc;
		r->next_floor_ms = now + FLOOR_STEP_MS;
	}
	if (r->owner != NULL && owner_buckets(r->owner)) {
		if (owner_count(r->owner) == 0) {
			batch_clear(b);
			return PG_OK;
		}
		filter = owner_filter(r->owner);
	}
	return pg_claim_batch(r->pg, b, filter, in_flight, r->err, sizeof(r->err));
}

/* Hands a claimed batch to Kafka. With ordering by key or "keep" only under a fresh lease: a relay frozen past its
 * lease may have been replaced, and publishing now could put an older event of a key after a newer one. Each row
 * carries its fencing epoch: its bucket's, or with "keep" the transaction's. Returns 0, or -1 (nothing produced)
 * when the lease has expired. */
static int publish(struct relay *r, struct batch *b)
{
	if (r->owner != NULL) {
		if (!owner_lease_valid(r->owner))
			return -1;
		owner_stamp(r->owner, r->pg, b);
	}
	delivery_publish(&r->delivery, b, r->limits.row_bytes);
	return 0;
}

/* A marked batch counts in the stats line and the metrics once its transaction commits (count_commit). */
static void count_batch(struct relay *r, const struct batch *b, int64_t ms)
{
	stats_stage(&r->stats, b);
	metrics_observe_batch(b, (double)ms / 1000.0, clock_wall_us());
}

static void count_commit(struct relay *r, int committed)
{
	stats_commit(&r->stats, committed);
	metrics_commit(committed);
}

/* The chain ends before next: its rows stay pending, claimed again after this transaction. Returns NULL. */
static struct batch *drop(struct batch *next, const char *why)
{
	log_debug("the chain ends early: its next batch stays pending", "rows=%d reason=%s", next->n, log_q(why));
	batch_clear(next);
	return NULL;
}

/* Another batch may join the chain: the last one was full (a backlog is draining), the chain is below its bound,
 * and nothing asks it to stop. */
static int chain_goes_on(const struct relay *r, const struct batch *b, int links)
{
	return links < r->cfg->batches_per_commit && (b->n >= r->cfg->batch_size || b->more) &&
	       !signals_stop_requested() && !r->delivery.broken;
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
	int64_t started = clock_now_ms();
	int rc, links = 0, rows = 0, acked_now;

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
				delivery_await(&r->delivery, b);
				goto pg_failed;
			}
			next = r->next->n > 0 ? r->next : NULL;
		}
		acked_now = delivery_settle(&r->delivery, b);
		/* Rows the claim found blocked ("keep", block_key) were set aside before the batch was published: N+1's
		 * claim found the same keys blocked. A row that failed now may have later rows of its key in N+1. */
		if (next != NULL && acked_now + batch_count(b, ROW_BLOCKED) < b->n)
			next = drop(next, "a row of the last batch was not acknowledged");
		/* While PostgreSQL marks this batch, the next one goes to Kafka. */
		rc = pg_mark_batch_send(r->pg, b, r->err, sizeof(r->err));
		if (rc == PG_OK && next != NULL && publish(r, next) < 0)
			next = drop(next, "the lease expired");
		if (rc == PG_OK)
			rc = pg_mark_batch_wait(r->pg, r->err, sizeof(r->err));
		if (rc != PG_OK) {
			if (next != NULL)
				delivery_await(&r->delivery, next);
			goto pg_failed;
		}
		rows += b->n;
		count_batch(r, b, clock_now_ms() - started);
		started = clock_now_ms();
		if (next == NULL)
			break;
		r->next = b;
		r->batch = b = next;
	}
	batch_clear(r->next); /* the chain's earlier batch: its rows are marked, its memory is not needed */
	if ((rc = pg_commit(r->pg, r->err, sizeof(r->err))) != PG_OK)
		goto pg_failed; /* an unknown COMMIT outcome is treated as "not marked": the rows are re-sent */
	count_commit(r, 1);
	fault_point("after_commit");
	if (batch_undelivered(b) > 0) {
		/* A broker away or a full log directory fails batch after batch alike: logged once per outage. */
		outage_log(r, "batch not fully delivered, will retry", r->delivery.retry_reason);
		return -1;
	}
	return rows;
pg_failed:
	count_commit(r, 0);
	outage_log(r, "PostgreSQL error, will retry", r->err);
	pg_abort(r->pg);
	if (rc == PG_ERR_CONN)
		pg_disconnect(r->pg);
	return -1;
}

static void report_stats(struct relay *r)
{
	struct pg_lag lag;
	int64_t now = clock_now_ms();

	if (now < r->next_stats_ms)
		return;
	r->next_stats_ms = now + r->cfg->stats_interval_ms;
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
	int64_t now = clock_now_ms();
	int deleted = 0;

	if (r->cfg->retention_s == 0 || now < r->next_purge_ms)
		return 0;
	r->next_purge_ms = now + PURGE_INTERVAL_MS;
	if (pg_purge_sent(r->pg, r->cfg->retention_s, r->cfg->retention_batch, &deleted, r->err, sizeof(r->err)) !=
	    PG_OK) {
		log_warn("cannot purge sent rows, will retry", "error=%s", log_q(r->err));
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

#define AHEAD_INTERVAL_MS 1000

/* With "keep" on a partitioned table (schema version 10) the partitions ahead of the id sequence must keep up
 * with the writers however long a backlog lasts, so this runs busy or idle, every second: a catalog lookup
 * unless a partition is due. Anything else: no statement (pg_purge_sent with 0). */
static void keep_partitions_ahead(struct relay *r)
{
	int64_t now = clock_now_ms();
	int none;

	if (r->cfg->on_sent != ON_SENT_KEEP || now < r->next_ahead_ms)
		return;
	r->next_ahead_ms = now + AHEAD_INTERVAL_MS;
	if (pg_purge_sent(r->pg, 0, r->cfg->retention_batch, &none, r->err, sizeof(r->err)) != PG_OK) {
		log_warn("cannot add partitions ahead, will retry", "error=%s", log_q(r->err));
		pg_abort(r->pg);
	}
}

/* The claim and the batches follow batch_size and batch_max_bytes. Between chains: no batch is in Kafka. */
static void apply_claim_limits(struct relay *r)
{
	struct batch *b = NULL, *next = NULL;

	r->limits.rows = r->cfg->batch_size;
	r->limits.bytes = r->cfg->batch_max_bytes;
	if (r->batch->cap < r->cfg->batch_size) {
		/* A producer that lost track of messages may still point into the old batches' payloads. */
		if (r->delivery.broken && r->delivery.kafka != NULL) {
			kafka_free(r->delivery.kafka, 0);
			r->delivery.kafka = NULL;
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
		log_warn("cannot prepare the new claim, reconnecting", "error=%s", log_q(r->err));
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
	log_info("reloading the configuration", "config=%s", log_q(r->cfg->path));
	if (config_load(r->cfg->path, &fresh, r->err, sizeof(r->err)) < 0 ||
	    kafka_check_config(fresh, r->err, sizeof(r->err)) < 0) {
		log_warn("configuration not reloaded: the file is not valid, the running configuration stays", "error=%s",
			 log_q(r->err));
		config_free(fresh);
		service_ready();
		return;
	}
	changed = config_reload(r->cfg, fresh, restart, sizeof(restart));
	config_free(fresh);
	log_set_level(r->cfg->log_level);
	if (restart[0] != '\0')
		log_warn("configuration reloaded without some changes: they need a restart", "settings=%s", log_q(restart));
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

		tick(r);
		if (signals_take_reload())
			reload(r);
		if (!pg_connected(r->pg)) {
			if (connect_pg(r) != PG_OK) {
				outage_log(r, "cannot reach PostgreSQL, will retry", r->err);
				back_off(r);
				continue;
			}
			log_info("connected to PostgreSQL", NULL);
			attempt_worked(r);
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
		attempt_worked(r);
		keep_partitions_ahead(r);
		if (!draining(r) && !purge_sent(r))
			wait_for_work(r, r->cfg->poll_interval_ms);
		kafka_serve(r->delivery.kafka, 0);
	}
}

static int relay_start(struct relay *r)
{
	/* Key order needs the buckets; keep needs the lease alone (one relay delivers at a time). */
	int leased = r->cfg->ordering == ORDERING_KEY || r->cfg->on_sent == ON_SENT_KEEP;
	int rc;

	if ((r->batch = batch_new(r->cfg->batch_size)) == NULL || (r->next = batch_new(r->cfg->batch_size)) == NULL ||
	    (r->pg = pg_new(r->cfg)) == NULL || (leased && (r->owner = owner_new(r->cfg)) == NULL)) {
		log_error("out of memory", NULL);
		return EX_OSERR;
	}
	if ((r->delivery.kafka = kafka_new(r->cfg, r->err, sizeof(r->err))) == NULL) {
		log_error("cannot create the Kafka producer", "error=%s", log_q(r->err));
		return EX_CONFIG;
	}
	if (metrics_start(r->cfg->metrics_listen, r->err, sizeof(r->err)) < 0) {
		log_error("cannot start the metrics endpoint", "error=%s", log_q(r->err));
		return EX_CONFIG;
	}
	r->limits.rows = r->cfg->batch_size;
	r->limits.bytes = r->cfg->batch_max_bytes;
	r->limits.row_bytes = kafka_max_message_bytes(r->delivery.kafka);
	/* At start-up a failure is reported and fatal, so a wrong conninfo or a missing schema is seen at once;
	 * systemd restarts the service. Once running, the relay rides out outages instead. */
	rc = connect_pg(r);
	if (rc == PG_ERR_STANDBY) {
		/* Not a mistake to exit on: a standby about to be promoted, or a failover in progress. The loop retries,
		 * backing off, and nothing is claimed meanwhile. */
		log_error("PostgreSQL is a hot standby: waiting for a primary", "error=%s", log_q(r->err));
		return 0;
	}
	if (rc != PG_OK) {
		log_error(rc == PG_ERR_CONN ? "cannot connect to PostgreSQL" : "the outbox table is not usable",
			  "error=%s", log_q(r->err));
		return rc == PG_ERR_CONN ? EX_UNAVAILABLE : EX_CONFIG;
	}
	log_info("connected to PostgreSQL", "server_version=%d", pg_server_version(r->pg));
	return 0;
}

int relay_run(struct config *cfg)
{
	struct relay r = { .cfg = cfg };
	int rc;

	r.delivery = (struct delivery){ .cfg = cfg, .tick = tick, .tick_arg = &r };
	backoff_init(&r.backoff, cfg->backoff_min_ms, cfg->backoff_max_ms, (uint32_t)time(NULL) ^ (uint32_t)getpid());
	stats_init(&r.stats, clock_now_ms());
	r.next_stats_ms = clock_now_ms() + cfg->stats_interval_ms;
	r.watchdog_ms = service_watchdog_interval_ms();
	if (signals_init() < 0) {
		log_error("cannot install signal handlers", "errno=%d", errno);
		return EX_OSERR;
	}
	rc = relay_start(&r);
	if (rc == 0) {
		service_ready();
		log_info("relaying", "schema=%s table=%s batch_size=%d ordering=%s on_sent=%s", log_q(cfg->pg_schema),
			 log_q(cfg->pg_table), cfg->batch_size, config_word(cfg, "relay.ordering"),
			 config_word(cfg, "relay.on_sent"));
		relay_loop(&r);
		service_stopping();
		log_info("stopping", "published_total=%lld failed_total=%lld", r.stats.published_total,
			 r.stats.failed_total);
	}
	metrics_stop();
	kafka_free(r.delivery.kafka, 0);
	owner_free(r.owner);
	pg_free(r.pg);
	batch_free(r.batch);
	batch_free(r.next);
	if (rc == 0)
		log_info("stopped", NULL);
	return rc;
}
