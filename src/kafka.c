/* The idempotent producer. message.timeout.ms is infinite: the relay sets its own delivery deadline per batch
 * and purges what is left at the deadline. That way what was delivered is always a prefix of each partition's
 * produced sequence (librdkafka never times out an earlier message while delivering a later one), which keeps
 * per-key order of first delivery across retries. */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fault.h"
#include "kafka_defaults.h"
#include "log.h"
#include "message.h"

#define TAG_INDEX_BITS 24 /* batch_size is at most 10000 < 2^24 */
#define TAG_INDEX_MASK ((UINT64_C(1) << TAG_INDEX_BITS) - 1)
#define TAG_GEN_MASK ((UINT64_C(1) << (64 - TAG_INDEX_BITS)) - 1)

struct kafka {
	const struct config *cfg;
	rd_kafka_t *rk;
	struct batch *batch; /* the batch whose reports are being collected, or NULL */
	size_t copy_max;     /* message.copy.max.bytes */
	int fatal;
	char fatal_reason[256];
	int said_coordinator_loading;
	int brokers_down; /* librdkafka said all brokers are down, and no message was acknowledged since */
};

static int conf_int(struct kafka *k, const char *name, int dflt)
{
	char v[32];
	size_t n = sizeof(v);

	if (rd_kafka_conf_get(rd_kafka_conf(k->rk), name, v, &n) != RD_KAFKA_CONF_OK)
		return dflt;
	return atoi(v);
}

int kafka_max_message_bytes(struct kafka *k)
{
	return conf_int(k, "message.max.bytes", 1000000); /* librdkafka's default */
}

enum kafka_err_class kafka_classify(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR__FATAL:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
	case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
		return KAFKA_ERR_FATAL;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_INVALID_MSG:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return KAFKA_ERR_PERMANENT;
	default:
		return KAFKA_ERR_TRANSIENT;
	}
}

/* The one translation of what librdkafka said of row i into what happened to the row. A size refusal in a delivery
 * report may be another message's fault, as the broker refuses a whole request when one record in it is too
 * large for the topic; at produce time it is the row's own. A fatal error makes the producer unusable, but the
 * row itself may well be fine on a new producer. */
static void report(struct kafka *k, struct batch *b, int i, rd_kafka_resp_err_t err, int in_request)
{
	enum row_fault fault = FAULT_RETRY;
	char reason[160];

	if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		k->brokers_down = 0;
		batch_row_report(b, i, FAULT_NONE, NULL);
		return;
	}
	switch (kafka_classify(err)) {
	case KAFKA_ERR_FATAL:
		k->fatal = 1;
		break;
	case KAFKA_ERR_PERMANENT:
		fault = in_request && (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
				       err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE)
				? FAULT_SIZE
				: FAULT_PERMANENT;
		break;
	case KAFKA_ERR_TRANSIENT:
		break;
	}
	snprintf(reason, sizeof(reason), "kafka: %s: %s", rd_kafka_err2name(err), rd_kafka_err2str(err));
	batch_row_report(b, i, fault, reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka *k = opaque;
	uint64_t tag = (uint64_t)(uintptr_t)m->_private;
	struct batch *b = k->batch;
	int i;

	(void)rk;
	if (b == NULL || (tag >> TAG_INDEX_BITS) != (b->generation & TAG_GEN_MASK) ||
	    (tag & TAG_INDEX_MASK) >= (uint64_t)b->n)
		return; /* a late report for a batch already abandoned */
	i = (int)(tag & TAG_INDEX_MASK);
	if (!batch_row_waiting(&b->rows[i]))
		return;
	b->outstanding--;
	if (b->outstanding > 0)
		fault_point("after_some_reports");
	report(k, b, i, m->err, 1);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka *k = opaque;

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, k->fatal_reason, sizeof(k->fatal_reason));
		k->fatal = 1;
		log_error("kafka fatal error", "reason=%s", log_q(k->fatal_reason));
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		k->brokers_down = 1;
	log_warn("kafka error", "err=%s reason=%s", rd_kafka_err2name((rd_kafka_resp_err_t)err), log_q(reason));
}

/* A fresh broker answers the idempotent producer's first request with COORDINATOR_LOAD_IN_PROGRESS while it loads
 * its transaction state, and librdkafka warns and retries: expected at start-up, so said once, as news. */
static int coordinator_loading(struct kafka *k, int level, const char *fac, const char *buf)
{
	if (level != 4 || strcmp(fac, "GETPID") != 0 || strstr(buf, "Coordinator load in progress") == NULL)
		return 0;
	if (!k->said_coordinator_loading)
		log_info("the Kafka broker is still loading its transaction coordinator; the producer waits for it",
			 "facility=%s", fac);
	k->said_coordinator_loading = 1;
	return 1;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct kafka *k = rd_kafka_opaque(rk);

	if (k != NULL && coordinator_loading(k, level, fac, buf))
		return;
	log_write(level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG,
		  "librdkafka", "facility=%s text=%s", fac, log_q(buf));
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, const struct config *cfg, int line,
		    int secret, char *errbuf, size_t errsize)
{
	char why[512];

	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return 0;
	/* librdkafka quotes the refused value; a secret's value must not reach a message. */
	if (secret || config_kafka_property_is_secret(name))
		snprintf(why, sizeof(why), "invalid value for configuration property \"%s\" (value not shown)", name);
	if (line > 0)
		snprintf(errbuf, errsize, "%s:%d: kafka.properties: %s", cfg->path ? cfg->path : "config", line, why);
	else
		snprintf(errbuf, errsize, "kafka producer configuration: %s: %s", name, why);
	return -1;
}

/* outboxd's producer settings, then the operator's. A new conf the caller owns, or NULL. */
static rd_kafka_conf_t *build_conf(const struct config *cfg, char *errbuf, size_t errsize)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, cfg, 0, 0, errbuf, errsize) < 0)
		goto fail;
	for (size_t i = 0; i < kafka_defaults_n; i++) {
		if (conf_set(conf, kafka_defaults[i].name, kafka_defaults[i].value, cfg, 0, 0, errbuf, errsize) < 0)
			goto fail;
	}
	for (int i = 0; i < cfg->n_kafka_props; i++) {
		const struct kafka_property *p = &cfg->kafka_props[i];
		if (conf_set(conf, p->name, p->value, cfg, p->line, p->secret, errbuf, errsize) < 0)
			goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

struct kafka *kafka_new(const struct config *cfg, char *errbuf, size_t errsize)
{
	struct kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf = NULL;
	char why[512];

	if (k == NULL) {
		snprintf(errbuf, errsize, "out of memory");
		return NULL;
	}
	k->cfg = cfg;
	if ((conf = build_conf(cfg, errbuf, errsize)) == NULL)
		goto fail;
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (k->rk == NULL) {
		snprintf(errbuf, errsize, "cannot create the Kafka producer: %s", why);
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	k->copy_max = (size_t)conf_int(k, "message.copy.max.bytes", 65535);
	return k;
fail:
	free(k);
	return NULL;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk, (void)level, (void)fac, (void)buf;
}

int kafka_check_config(const struct config *cfg, char *errbuf, size_t errsize)
{
	rd_kafka_conf_t *conf = build_conf(cfg, errbuf, errsize);
	rd_kafka_t *rk;
	char why[512];

	if (conf == NULL)
		return -1;
	/* Some combinations are only refused by rd_kafka_new; the instance is destroyed before it says anything. */
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why))) == NULL) {
		snprintf(errbuf, errsize, "%s: kafka: %s", cfg->path ? cfg->path : "config", why);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	rd_kafka_destroy(rk);
	return 0;
}

void kafka_free(struct kafka *k, int timeout_ms)
{
	if (k == NULL)
		return;
	k->batch = NULL;
	if (k->rk != NULL) {
		rd_kafka_flush(k->rk, timeout_ms);
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(k->rk, 0);
		rd_kafka_destroy(k->rk);
	}
	free(k);
}

/* The copy of a failed row for the dead-letter topic: its own headers when they are usable, its event id, and
 * why it failed and where it was going. */
static rd_kafka_headers_t *dead_letter_headers(struct kafka *k, const struct outbox_row *row, const char *why_failed)
{
	char why[160];
	rd_kafka_headers_t *hdrs = message_headers_build(row->headers, row->headers_len, k->cfg->event_id_header,
							 row->event_id, why, sizeof(why));

	if (hdrs == NULL) {
		hdrs = rd_kafka_headers_new(3);
		rd_kafka_header_add(hdrs, k->cfg->event_id_header, -1, row->event_id, -1);
	}
	rd_kafka_header_add(hdrs, KAFKA_DEAD_LETTER_ERROR_HEADER, -1, why_failed, -1);
	rd_kafka_header_add(hdrs, KAFKA_DEAD_LETTER_TOPIC_HEADER, -1, row->topic, -1);
	return hdrs;
}

/* Hands one row to librdkafka: to its topic, or, for a row in ROW_DEAD_LETTER, its copy to the dead-letter topic.
 * Returns the produce error; a row refused before it reaches librdkafka is reported to the batch. */
static rd_kafka_resp_err_t produce_row(struct kafka *k, struct batch *b, int i)
{
	struct outbox_row *row = &b->rows[i];
	uint64_t tag = ((b->generation & TAG_GEN_MASK) << TAG_INDEX_BITS) | (uint64_t)i;
	int copy = row->state == ROW_DEAD_LETTER;
	const char *topic = copy ? k->cfg->dead_letter_topic : row->topic;
	rd_kafka_headers_t *hdrs;
	rd_kafka_resp_err_t err;
	char why[160];
	int flags;

	if (!message_topic_valid(topic, why, sizeof(why))) {
		batch_row_report(b, i, FAULT_PERMANENT, why);
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	}
	if (copy) {
		hdrs = dead_letter_headers(k, row, row->parked);
	} else if ((hdrs = message_headers_build(row->headers, row->headers_len, k->cfg->event_id_header,
						 row->event_id, why, sizeof(why))) == NULL) {
		batch_row_report(b, i, FAULT_PERMANENT, why);
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	}
	if (!copy && k->cfg->ce_source != NULL) {
		const struct message_ce ce = { k->cfg->ce_source, k->cfg->ce_type, k->cfg->ce_content_type };

		if (message_cloudevents_add(hdrs, &ce, row->event_id, row->created_us, why, sizeof(why)) < 0) {
			rd_kafka_headers_destroy(hdrs);
			batch_row_report(b, i, FAULT_PERMANENT, why);
			return RD_KAFKA_RESP_ERR_NO_ERROR;
		}
	}
	if (!copy && k->cfg->epoch_header != NULL && row->epoch > 0) {
		/* Added last, so it is the value rd_kafka_header_get_last finds even if the row has a header so named. */
		char ep[24];
		snprintf(ep, sizeof(ep), "%lld", row->epoch);
		rd_kafka_header_add(hdrs, k->cfg->epoch_header, -1, ep, -1);
	}
	/* A payload librdkafka copies into its request buffer anyway (up to message.copy.max.bytes) is not copied
	 * first: it stays in the claim's result, which lives until every report is in or the producer is destroyed,
	 * and a batch in Kafka then costs no second copy of its payloads. A larger one is sent by reference from the
	 * request buffer, which can outlive a purged message's report, so it is copied. */
	flags = row->payload_len <= k->copy_max ? 0 : RD_KAFKA_MSG_F_COPY;
	err = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(flags),
				RD_KAFKA_V_KEY(row->key, row->key_len),
				RD_KAFKA_V_VALUE((void *)row->payload, row->payload_len), RD_KAFKA_V_HEADERS(hdrs),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)tag), RD_KAFKA_V_END);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		rd_kafka_headers_destroy(hdrs); /* ownership passes to librdkafka only on success */
	return err;
}

/* Produces row i, waiting out a full queue until deadline_ms. Returns 1 if handed to librdkafka, 0 if the row was
 * refused (its state says why), -1 if the deadline passed (the row stays unproduced) or the producer is
 * unusable. */
static int produce_row_by(struct kafka *k, struct batch *b, int i, int64_t deadline_ms)
{
	rd_kafka_resp_err_t err;

	while ((err = produce_row(k, b, i)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		if (clock_now_ms() >= deadline_ms)
			return -1;
		rd_kafka_poll(k->rk, 50);
	}
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (!batch_row_waiting(&b->rows[i]))
			return 0;
		b->outstanding++;
		return 1;
	}
	report(k, b, i, err, 0);
	return kafka_classify(err) == KAFKA_ERR_FATAL ? -1 : 0;
}

int kafka_produce_batch(struct kafka *k, struct batch *b, int64_t deadline_ms)
{
	int produced = 0, refused = 0;

	b->generation++;
	b->outstanding = 0;
	k->batch = b;
	for (int i = 0; i < b->n; i++) {
		int rc;
		refused += b->rows[i].state == ROW_FAILED;
		if (b->rows[i].state != ROW_PENDING)
			continue;
		/* block_key: a row refused before it was sent holds back the later rows of its key in this batch too. */
		if (refused > 0 && k->cfg->on_permanent_error == ON_ERROR_BLOCK_KEY &&
		    batch_hold_behind_failure(b, i, k->cfg->on_sent == ON_SENT_KEEP ? ROW_BLOCKED : ROW_HELD))
			continue;
		if ((rc = produce_row_by(k, b, i, deadline_ms)) < 0)
			return produced; /* the rest stay PENDING and unproduced */
		produced += rc;
		refused += b->rows[i].state == ROW_FAILED;
	}
	return produced;
}

int kafka_produce_alone(struct kafka *k, struct batch *b, int i, int64_t deadline_ms)
{
	batch_row_alone(b, i);
	b->outstanding = 0;
	k->batch = b;
	return produce_row_by(k, b, i, deadline_ms);
}

int kafka_produce_dead_letters(struct kafka *k, struct batch *b, int64_t deadline_ms)
{
	int produced = 0, stopped = 0;

	b->outstanding = 0;
	k->batch = b;
	for (int i = 0; i < b->n; i++) {
		int rc;
		if (b->rows[i].state != ROW_DEAD_LETTER)
			continue;
		/* Once the producer gave up, the rest are not copied now: they become retries, never failed rows
		 * without their copy. */
		if (stopped)
			batch_row_report(b, i, FAULT_RETRY, "the producer is unusable");
		else if ((rc = produce_row_by(k, b, i, deadline_ms)) < 0)
			stopped = 1;
		else
			produced += rc;
	}
	return produced;
}

void kafka_serve(struct kafka *k, int timeout_ms)
{
	/* flush, unlike poll, sends lingering messages at once; it serves delivery reports while it waits. */
	if (k->batch != NULL && k->batch->outstanding > 0)
		rd_kafka_flush(k->rk, timeout_ms);
	else
		rd_kafka_poll(k->rk, timeout_ms);
}

int kafka_abandon_batch(struct kafka *k, struct batch *b, int timeout_ms)
{
	int64_t deadline = clock_now_ms() + timeout_ms;

	if (b->outstanding > 0)
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	while (b->outstanding > 0 && clock_now_ms() < deadline)
		rd_kafka_poll(k->rk, 50);
	k->batch = NULL;
	return b->outstanding > 0 ? -1 : 0;
}

int kafka_reachable(const struct kafka *k)
{
	return !k->fatal && !k->brokers_down;
}

int kafka_is_fatal(const struct kafka *k, char *why, size_t whysize)
{
	if (k->fatal)
		snprintf(why, whysize, "%s", k->fatal_reason[0] ? k->fatal_reason : "fatal producer error");
	return k->fatal;
}
