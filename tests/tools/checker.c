/* checker: the independent witness. Shares no code with outboxd. It waits for the outbox to drain, reads every
 * row of the table, consumes every message of the given topics from the beginning, and reports:
 *   LOST       committed rows (not failed) never consumed        LOST_SENT  ... of which marked sent (critical)
 *   DUP        deliveries beyond the first                       PHANTOM    messages whose event id is not a row
 *   REORDER    first deliveries of a key not in id order         UNDRAINED  rows neither sent nor failed
 *   MISMATCH   first deliveries whose topic/key/payload/headers differ from the row
 *   FAILED     rows marked failed (compared with --expect-failed)
 *   (--no-order: REORDER is counted but does not fail the check, for relay.ordering = "none")
 *   (--cloudevents: the ce_ headers and content-type are not compared; see t_cloudevents)
 *   (--kept: relay.on_sent = "keep"; "sent" is what the table's progress row says was delivered)
 *   (--max-phantom N: PHANTOM up to N passes: rows an asynchronous failover took from the table after they
 *    were delivered, counted by the scenario itself; see c_pg_failover)
 *   STALE      (with --epoch-header) deliveries of a key whose ownership epoch is lower than one already
 *              delivered for that key: a replaced relay publishing after its successor; at most --max-stale,
 *              and none of them may be the event's first delivery (STALE_FIRST)
 * Exit 0 when all are zero (DUP at most --max-dup, FAILED equal to --expect-failed), 1 otherwise, 2 on error. */
#include <getopt.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct hdr {
	char *name, *value; /* value NULL: header without value */
};

struct row {
	long long id;
	char event_id[37];
	char *topic, *key, *payload;
	int key_null, payload_null;
	size_t key_len, payload_len;
	int sent, failed;
	struct hdr *hdrs;
	int nhdrs;
	int deliveries;
};

struct first {
	const struct row *row;
	int partition;
	long long offset;
	long long epoch;
	int is_first; /* the event's first delivery */
};

static struct row *rows;
static int nrows;
static struct row **by_event; /* sorted by event_id */

static const char *opt_pg, *opt_brokers, *opt_schema = "public", *opt_table = "outbox", *opt_header = "id";
static const char *opt_epoch_header;
static int opt_no_order; /* relay.ordering = "none": count REORDER, do not fail on it */
/* relay.on_sent = "keep": no row is ever marked sent. A row counts as sent (for UNDRAINED and LOST_SENT) when the
 * relay's progress says it was delivered: its transaction is visible in done, or in the window up to the cursor.
 * That only decides when to start reading and which losses are critical; LOST is still what Kafka lacks. */
static char *sent_expr = "o.sent_at IS NOT NULL";
static int opt_kept;
static int opt_cloudevents; /* --cloudevents: ce_ headers and content-type are the relay's, not compared */
static int opt_max_stale;
static int opt_max_phantom; /* --max-phantom: events a failover lost from the table after they were delivered */
static const char *opt_topics[16];
static int opt_ntopics, opt_max_dup, opt_expect_failed, opt_drain_ms = 60000, opt_verbose;

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "checker: %s: %s\n", what, detail ? detail : "");
	exit(2);
}

static char *dupmem(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		die("out of memory", NULL);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With --kept, sent_expr for the progress table of the outbox (schema.table_progress). */
static void kept_expr(PGconn *c)
{
	char *s = PQescapeIdentifier(c, opt_schema, strlen(opt_schema)), *t, name[300];
	size_t n;

	snprintf(name, sizeof(name), "%s_progress", opt_table);
	t = PQescapeIdentifier(c, name, strlen(name));
	n = strlen(s) + strlen(t) + 512;
	sent_expr = malloc(n);
	snprintf(sent_expr, n,
		 "(o.sent_at IS NOT NULL OR EXISTS (SELECT 1 FROM %s.%s p WHERE"
		 " coalesce(pg_visible_in_snapshot(coalesce(o.xid, '3'), p.done), false)"
		 " OR (pg_visible_in_snapshot(coalesce(o.xid, '3'), p.target) AND o.id <= p.cur)))",
		 s, t);
	PQfreemem(s);
	PQfreemem(t);
}

static char *qtable(PGconn *c)
{
	char *s = PQescapeIdentifier(c, opt_schema, strlen(opt_schema));
	char *t = PQescapeIdentifier(c, opt_table, strlen(opt_table));
	char *q = malloc(strlen(s) + strlen(t) + 2);
	sprintf(q, "%s.%s", s, t);
	PQfreemem(s);
	PQfreemem(t);
	return q;
}

static PGresult *query(PGconn *c, const char *sql, int binary)
{
	PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, binary);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("query failed", PQerrorMessage(c));
	return r;
}

/* Waits until no row is pending, up to --drain-ms. */
static void wait_drained(PGconn *c, const char *qt)
{
	char sql[1536];
	int64_t until = now_ms() + opt_drain_ms;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s o WHERE NOT %s AND o.failed_at IS NULL", qt, sent_expr);
	for (;;) {
		PGresult *r = query(c, sql, 0);
		long long pending = atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (pending == 0 || now_ms() >= until)
			return;
		usleep(200 * 1000);
	}
}

static int cmp_event(const void *a, const void *b)
{
	return strcmp((*(struct row *const *)a)->event_id, (*(struct row *const *)b)->event_id);
}

static void load_rows(PGconn *c, const char *qt)
{
	char sql[2048];
	PGresult *r, *h;

	snprintf(sql, sizeof(sql),
		 "SELECT id::text, event_id::text, topic, key, payload, (%s)::text,"
		 " (failed_at IS NOT NULL)::text FROM %s o ORDER BY o.id", sent_expr, qt); /* o.id: numeric order, not the text column */
	r = query(c, sql, 1);
	nrows = PQntuples(r);
	rows = calloc((size_t)nrows + 1, sizeof(*rows));
	by_event = calloc((size_t)nrows + 1, sizeof(*by_event));
	for (int i = 0; i < nrows; i++) {
		struct row *w = &rows[i];
		w->id = atoll(PQgetvalue(r, i, 0));
		snprintf(w->event_id, sizeof(w->event_id), "%s", PQgetvalue(r, i, 1));
		w->topic = dupmem(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
		w->key_null = PQgetisnull(r, i, 3);
		w->key_len = (size_t)PQgetlength(r, i, 3);
		w->key = dupmem(PQgetvalue(r, i, 3), w->key_len);
		w->payload_null = PQgetisnull(r, i, 4);
		w->payload_len = (size_t)PQgetlength(r, i, 4);
		w->payload = dupmem(PQgetvalue(r, i, 4), w->payload_len);
		w->sent = PQgetvalue(r, i, 5)[0] == 't';
		w->failed = PQgetvalue(r, i, 6)[0] == 't';
		by_event[i] = w;
	}
	PQclear(r);
	qsort(by_event, (size_t)nrows, sizeof(*by_event), cmp_event);

	/* Expected headers, decoded by PostgreSQL itself. Rows are in id order, and so is this. */
	snprintf(sql, sizeof(sql),
		 "SELECT o.id::text, h.key, h.value FROM %s o,"
		 " jsonb_each_text(CASE WHEN jsonb_typeof(o.headers) = 'object' THEN o.headers END) h ORDER BY o.id", qt);
	h = query(c, sql, 1);
	for (int i = 0, j = 0; i < PQntuples(h); i++) {
		long long id = atoll(PQgetvalue(h, i, 0));
		struct row *w;
		while (j < nrows && rows[j].id < id)
			j++;
		if (j >= nrows)
			break;
		w = &rows[j];
		w->hdrs = realloc(w->hdrs, sizeof(*w->hdrs) * (size_t)(w->nhdrs + 1));
		w->hdrs[w->nhdrs].name = dupmem(PQgetvalue(h, i, 1), (size_t)PQgetlength(h, i, 1));
		w->hdrs[w->nhdrs].value =
			PQgetisnull(h, i, 2) ? NULL : dupmem(PQgetvalue(h, i, 2), (size_t)PQgetlength(h, i, 2));
		w->nhdrs++;
	}
	PQclear(h);
}

static struct row *find_event(const char *id, size_t len)
{
	struct row key, *kp = &key, **hit;

	if (len != 36)
		return NULL;
	memcpy(key.event_id, id, 36);
	key.event_id[36] = '\0';
	hit = bsearch(&kp, by_event, (size_t)nrows, sizeof(*by_event), cmp_event);
	return hit ? *hit : NULL;
}

/* Headers of the message, minus the event-id and epoch headers, must be exactly the row's JSON members. */
/* Headers outboxd adds of its own: the event id, the epoch, and with --cloudevents the ce_ attributes and
 * content-type (t_cloudevents reads those back itself). */
static int added_by_relay(const char *name)
{
	return strcmp(name, opt_header) == 0 || (opt_epoch_header != NULL && strcmp(name, opt_epoch_header) == 0) ||
	       (opt_cloudevents && (strncmp(name, "ce_", 3) == 0 || strcmp(name, "content-type") == 0));
}

static const char *headers_differ(const struct row *w, rd_kafka_headers_t *hs)
{
	size_t n = hs ? rd_kafka_header_cnt(hs) : 0;
	int others = 0, own = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name;
		const void *val;
		size_t sz;
		int found = 0;
		rd_kafka_header_get_all(hs, i, &name, &val, &sz);
		if (added_by_relay(name))
			continue;
		others++;
		for (int k = 0; k < w->nhdrs && !found; k++) {
			const struct hdr *e = &w->hdrs[k];
			if (strcmp(e->name, name) != 0)
				continue;
			found = e->value == NULL ? val == NULL : val != NULL && strlen(e->value) == sz &&
									memcmp(e->value, val, sz) == 0;
		}
		if (!found) {
			static char msg[300];
			snprintf(msg, sizeof(msg), "header \"%s\" differs (%zu bytes: %.*s)", name, sz, (int)(sz < 80 ? sz : 80),
				 val ? (const char *)val : "NULL");
			return msg;
		}
	}
	for (int k = 0; k < w->nhdrs; k++)
		own += !added_by_relay(w->hdrs[k].name);
	if (others != own) {
		static char msg[100];
		snprintf(msg, sizeof(msg), "%d headers besides the event id, the row has %d", others, own);
		return msg;
	}
	return NULL;
}

static const char *content_differs(const struct row *w, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hs = NULL;

	if (strcmp(rd_kafka_topic_name(m->rkt), w->topic) != 0)
		return "topic differs";
	if (w->key_null ? m->key != NULL : (m->key == NULL || m->key_len != w->key_len ||
					    memcmp(m->key, w->key, w->key_len) != 0))
		return "key differs";
	if (w->payload_null ? m->payload != NULL : (m->payload == NULL || m->len != w->payload_len ||
						    memcmp(m->payload, w->payload, w->payload_len) != 0))
		return "payload differs";
	rd_kafka_message_headers(m, &hs);
	return headers_differ(w, hs);
}

struct counts {
	long consumed, lost, lost_sent, dup, reorder, phantom, undrained, failed, mismatch, stale, stale_first;
};

static struct first *firsts;
static int nfirsts;
static struct first *alls; /* every delivery of a keyed row, with its epoch (--epoch-header) */
static int nalls, capalls;

static long long epoch_of(rd_kafka_headers_t *hs)
{
	const void *v = NULL;
	size_t len = 0;
	char buf[32];

	if (hs == NULL || rd_kafka_header_get_last(hs, opt_epoch_header, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    v == NULL || len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return atoll(buf);
}

static void record_delivery(const struct row *w, const rd_kafka_message_t *m, rd_kafka_headers_t *hs)
{
	if (opt_epoch_header == NULL || w->key_null)
		return;
	if (nalls == capalls) {
		capalls = capalls ? capalls * 2 : 1024;
		if ((alls = realloc(alls, (size_t)capalls * sizeof(*alls))) == NULL)
			die("out of memory", NULL);
	}
	alls[nalls++] = (struct first){ w, m->partition, (long long)m->offset, epoch_of(hs), w->deliveries == 0 };
}

static void see_message(struct counts *c, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hs = NULL;
	const void *id = NULL;
	size_t idlen = 0;
	struct row *w = NULL;
	const char *diff;

	c->consumed++;
	if (rd_kafka_message_headers(m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	    rd_kafka_header_get_last(hs, opt_header, &id, &idlen) == RD_KAFKA_RESP_ERR_NO_ERROR && id != NULL)
		w = find_event(id, idlen);
	if (w == NULL) {
		c->phantom++;
		printf("PHANTOM partition=%d offset=%lld id=%.*s\n", m->partition, (long long)m->offset,
		       id ? (int)idlen : 4, id ? (const char *)id : "none");
		return;
	}
	record_delivery(w, m, hs);
	if (w->deliveries++ > 0) {
		c->dup++;
		if (opt_verbose)
			printf("DUP id=%lld event_id=%s\n", w->id, w->event_id);
		return;
	}
	if ((diff = content_differs(w, m)) != NULL) {
		c->mismatch++;
		printf("MISMATCH id=%lld event_id=%s: %s\n", w->id, w->event_id, diff);
	}
	firsts[nfirsts++] = (struct first){ w, m->partition, (long long)m->offset, 0, 1 };
}

static int cmp_first(const void *a, const void *b)
{
	const struct first *x = a, *y = b;
	int d = strcmp(x->row->topic, y->row->topic);
	if (d == 0 && x->row->key_len != y->row->key_len)
		d = x->row->key_len < y->row->key_len ? -1 : 1;
	if (d == 0)
		d = memcmp(x->row->key, y->row->key, x->row->key_len);
	if (d == 0)
		d = x->partition - y->partition;
	if (d == 0)
		d = x->offset < y->offset ? -1 : x->offset > y->offset;
	return d;
}

/* For each (topic, key), first deliveries in log order must carry increasing row ids. */
static void check_order(struct counts *c)
{
	qsort(firsts, (size_t)nfirsts, sizeof(*firsts), cmp_first);
	for (int i = 1; i < nfirsts; i++) {
		const struct first *p = &firsts[i - 1], *f = &firsts[i];
		if (f->row->key_null || p->row->key_null || strcmp(p->row->topic, f->row->topic) != 0 ||
		    p->row->key_len != f->row->key_len || memcmp(p->row->key, f->row->key, f->row->key_len) != 0)
			continue;
		if (f->row->id < p->row->id) {
			c->reorder++;
			printf("REORDER key=%.*s id=%lld delivered after id=%lld\n", (int)f->row->key_len, f->row->key,
			       f->row->id, p->row->id);
		}
	}
}

static int same_key(const struct row *a, const struct row *b)
{
	return strcmp(a->topic, b->topic) == 0 && a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/* For each (topic, key), in log order, the epoch must never go down. A message without the header counts as
 * stale: the relay under test always sends it. */
static void check_stale(struct counts *c)
{
	long long max = -1;

	qsort(alls, (size_t)nalls, sizeof(*alls), cmp_first);
	for (int i = 0; i < nalls; i++) {
		const struct first *f = &alls[i];
		if (i == 0 || !same_key(alls[i - 1].row, f->row))
			max = -1;
		if (f->epoch < 0 || f->epoch < max) {
			c->stale++;
			c->stale_first += f->is_first;
			if (opt_verbose || f->is_first || c->stale <= 5)
				printf("STALE key=%.*s id=%lld epoch=%lld delivered after epoch %lld%s\n", (int)f->row->key_len,
				       f->row->key, f->row->id, f->epoch, max, f->is_first ? " (first delivery)" : " (a duplicate)");
		}
		if (f->epoch > max)
			max = f->epoch;
	}
}

static rd_kafka_t *make_consumer(void)
{
	char err[512], group[64];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	snprintf(group, sizeof(group), "outboxd-checker-%d", (int)getpid());
	if (rd_kafka_conf_set(conf, "bootstrap.servers", opt_brokers, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("consumer config", err);
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL)
		die("consumer", err);
	return rk;
}

/* Assigns every partition of every topic from the beginning; returns how many must reach EOF. */
static int assign_all(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
	int n;

	for (int t = 0; t < opt_ntopics; t++) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, opt_topics[t], NULL);
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			die("metadata", rd_kafka_err2str(err));
		if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			for (int p = 0; p < md->topics[0].partition_cnt; p++)
				rd_kafka_topic_partition_list_add(parts, opt_topics[t], md->topics[0].partitions[p].id)
					->offset = RD_KAFKA_OFFSET_BEGINNING;
		}
		rd_kafka_metadata_destroy(md);
		rd_kafka_topic_destroy(rkt);
	}
	n = parts->cnt;
	if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("assign", NULL);
	rd_kafka_topic_partition_list_destroy(parts);
	return n;
}

static void consume_all(struct counts *c)
{
	rd_kafka_t *rk = make_consumer();
	int remaining = assign_all(rk);
	int64_t until = now_ms() + 120000;

	firsts = calloc((size_t)nrows + 1, sizeof(*firsts));
	while (remaining > 0 && now_ms() < until) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			remaining--;
		else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
			fprintf(stderr, "checker: consume: %s\n", rd_kafka_message_errstr(m));
		else
			see_message(c, m);
		rd_kafka_message_destroy(m);
	}
	if (remaining > 0)
		die("consume", "did not reach the end of every partition within 120 s");
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

static void tally_rows(struct counts *c)
{
	int shown = 0;

	for (int i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];
		if (w->failed) {
			c->failed++;
			continue;
		}
		if (!w->sent)
			c->undrained++;
		if (w->deliveries == 0) {
			c->lost++;
			c->lost_sent += w->sent;
			if (shown++ < 20)
				printf("LOST id=%lld event_id=%s sent=%d\n", w->id, w->event_id, w->sent);
		}
	}
}

static void usage(void)
{
	fputs("usage: checker --pg CONNINFO --brokers HOST:PORT --topic T [--topic T...] [--schema S] [--table T]\n"
	      "               [--header id] [--max-dup N] [--expect-failed N] [--drain-ms N] [--verbose]\n"
	      "               [--epoch-header NAME] [--max-stale N] [--no-order] [--kept]\n",
	      stderr);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option o[] = {
		{ "pg", 1, NULL, 'p' },		  { "brokers", 1, NULL, 'b' },	   { "topic", 1, NULL, 't' },
		{ "schema", 1, NULL, 's' },	  { "table", 1, NULL, 'T' },	   { "header", 1, NULL, 'H' },
		{ "max-dup", 1, NULL, 'd' },	  { "expect-failed", 1, NULL, 'f' }, { "drain-ms", 1, NULL, 'w' },
		{ "verbose", 0, NULL, 'v' },	  { "epoch-header", 1, NULL, 'e' }, { "no-order", 0, NULL, 'o' },
		{ "max-stale", 1, NULL, 'S' },	  { "cloudevents", 0, NULL, 'c' },
		{ "max-phantom", 1, NULL, 'P' },  { "kept", 0, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'p': opt_pg = optarg; break;
		case 'b': opt_brokers = optarg; break;
		case 't':
			if (opt_ntopics < 16)
				opt_topics[opt_ntopics++] = optarg;
			break;
		case 's': opt_schema = optarg; break;
		case 'T': opt_table = optarg; break;
		case 'H': opt_header = optarg; break;
		case 'd': opt_max_dup = atoi(optarg); break;
		case 'f': opt_expect_failed = atoi(optarg); break;
		case 'w': opt_drain_ms = atoi(optarg); break;
		case 'v': opt_verbose = 1; break;
		case 'e': opt_epoch_header = optarg; break;
		case 'o': opt_no_order = 1; break;
		case 'k': opt_kept = 1; break;
		case 'c': opt_cloudevents = 1; break;
		case 'S': opt_max_stale = atoi(optarg); break;
		case 'P': opt_max_phantom = atoi(optarg); break;
		default: usage();
		}
	}
	if (opt_pg == NULL || opt_brokers == NULL || opt_ntopics == 0)
		usage();
}

int main(int argc, char **argv)
{
	struct counts c = { 0 };
	PGconn *pg;
	char *qt;
	int ok;

	parse_args(argc, argv);
	pg = PQconnectdb(opt_pg);
	if (PQstatus(pg) != CONNECTION_OK)
		die("connect", PQerrorMessage(pg));
	qt = qtable(pg);
	if (opt_kept)
		kept_expr(pg);
	wait_drained(pg, qt);
	load_rows(pg, qt);
	PQfinish(pg);
	free(qt);
	if (opt_kept)
		free(sent_expr);
	consume_all(&c);
	tally_rows(&c);
	check_order(&c);
	check_stale(&c);
	ok = c.lost == 0 && (c.reorder == 0 || opt_no_order) && c.phantom <= opt_max_phantom && c.undrained == 0 && c.mismatch == 0 && c.stale <= opt_max_stale &&
	     c.stale_first == 0 &&
	     c.dup <= opt_max_dup && c.failed == opt_expect_failed;
	printf("checker: events=%d consumed=%ld LOST=%ld LOST_SENT=%ld DUP=%ld REORDER=%ld PHANTOM=%ld UNDRAINED=%ld "
	       "MISMATCH=%ld STALE=%ld STALE_FIRST=%ld FAILED=%ld (expected %d) -> %s\n",
	       nrows, c.consumed, c.lost, c.lost_sent, c.dup, c.reorder, c.phantom, c.undrained, c.mismatch, c.stale,
	       c.stale_first, c.failed, opt_expect_failed, ok ? "ok" : "FAIL");
	return ok ? 0 : 1;
}
