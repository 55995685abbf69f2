/* A reference consumer for outboxd: applies each event to PostgreSQL exactly once, although Kafka may deliver it
 * more than once (outboxd is at-least-once; `outboxd replay` re-sends on purpose).
 *
 * For each message, in one transaction:
 *   INSERT INTO processed_events (event_id) VALUES ($id) ON CONFLICT DO NOTHING;
 *   -- only if that inserted a row: the side effect (here, add the payload's amount to the key's balance);
 *   COMMIT;
 * and only then is the offset committed to Kafka. A crash anywhere re-delivers the message, and the
 * processed_events row of a committed transaction turns the re-delivery into a no-op. The side effect is
 * deliberately not idempotent (an addition), so a duplicate applied twice would show.
 *
 *   consumer --pg CONNINFO --brokers HOST:PORT --topic T [--group G] [--header id] [--idle-exit-ms N]
 *
 * It reads from the earliest offset of a new group, and exits 0 after --idle-exit-ms (default: never) without
 * a message (30 s more before the first), printing "consumer: messages=N applied=N duplicates=N". Exit 1 on an error. */
#include <getopt.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *opt_pg, *opt_brokers, *opt_topic, *opt_group = "outboxd-example-consumer", *opt_header = "id";
static long opt_idle_ms = -1;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec_ok(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "consumer: %s", PQerrorMessage(pg));
	PQclear(res);
	return ok;
}

/* The example's own tables: the de-duplication record and the read model it maintains. */
static int setup(PGconn *pg)
{
	return exec_ok(pg, "SET client_min_messages = warning;"
			   "CREATE TABLE IF NOT EXISTS processed_events ("
			   "  event_id uuid PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT now());"
			   "CREATE TABLE IF NOT EXISTS balances (account text PRIMARY KEY, total bigint NOT NULL)");
}

/* Applies one message. Returns 1 if applied, 0 if it was a duplicate, -1 on error (nothing applied). */
static int apply(PGconn *pg, const char *event_id, const char *key, size_t key_len, const char *payload,
		 size_t payload_len)
{
	char account[256], amount[32];
	const char *dedup[1] = { event_id }, *effect[2] = { account, amount };
	PGresult *res;
	int inserted;

	if (key == NULL || key_len >= sizeof(account) || payload == NULL || payload_len == 0 ||
	    payload_len >= sizeof(amount)) {
		fprintf(stderr, "consumer: event %s: expected a key and a decimal amount as payload\n", event_id);
		return -1;
	}
	memcpy(account, key, key_len);
	account[key_len] = '\0';
	memcpy(amount, payload, payload_len);
	amount[payload_len] = '\0';
	if (!exec_ok(pg, "BEGIN"))
		return -1;
	res = PQexecParams(pg, "INSERT INTO processed_events (event_id) VALUES ($1::uuid) ON CONFLICT DO NOTHING", 1,
			   NULL, dedup, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto fail;
	inserted = atoi(PQcmdTuples(res)) == 1;
	PQclear(res);
	if (inserted) {
		res = PQexecParams(pg,
				   "INSERT INTO balances (account, total) VALUES ($1, $2::bigint)"
				   " ON CONFLICT (account) DO UPDATE SET total = balances.total + excluded.total",
				   2, NULL, effect, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto fail;
		PQclear(res);
	}
	return exec_ok(pg, "COMMIT") ? inserted : -1;
fail:
	fprintf(stderr, "consumer: event %s: %s", event_id, PQerrorMessage(pg));
	PQclear(res);
	exec_ok(pg, "ROLLBACK");
	return -1;
}

static rd_kafka_t *make_consumer(void)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	/* Offsets are committed by hand, after the database transaction: never before the effect is durable. */
	if (rd_kafka_conf_set(conf, "bootstrap.servers", opt_brokers, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", opt_group, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "consumer: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL)
		fprintf(stderr, "consumer: %s\n", err);
	return rk;
}

static int subscribe(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(topics, opt_topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_poll_set_consumer(rk);
	err = rd_kafka_subscribe(rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		fprintf(stderr, "consumer: subscribe: %s\n", rd_kafka_err2str(err));
	return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* The event id from the message's header, as text. */
static int event_id_of(const rd_kafka_message_t *m, char *out, size_t size)
{
	rd_kafka_headers_t *hs = NULL;
	const void *v = NULL;
	size_t len = 0;

	if (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(hs, opt_header, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL ||
	    len == 0 || len >= size)
		return -1;
	memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}

static int consume(rd_kafka_t *rk, PGconn *pg)
{
	long messages = 0, applied = 0, duplicates = 0;
	long long last = now_ms();

	/* Before the first message, joining the group may take seconds: allow 30 s more. */
	while (!stop && (opt_idle_ms < 0 || now_ms() - last < opt_idle_ms + (messages ? 0 : 30000))) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		char id[64];
		int r;

		if (m == NULL)
			continue;
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "consumer: %s\n", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		last = now_ms();
		messages++;
		if (event_id_of(m, id, sizeof(id)) < 0) {
			fprintf(stderr, "consumer: message at offset %lld has no \"%s\" header\n", (long long)m->offset,
				opt_header);
			rd_kafka_message_destroy(m);
			return -1;
		}
		r = apply(pg, id, m->key, m->key_len, m->payload, m->len);
		if (r < 0) {
			rd_kafka_message_destroy(m);
			return -1; /* not committed: the message comes again after a restart */
		}
		applied += r == 1;
		duplicates += r == 0;
		rd_kafka_commit_message(rk, m, 0);
		rd_kafka_message_destroy(m);
	}
	printf("consumer: messages=%ld applied=%ld duplicates=%ld\n", messages, applied, duplicates);
	return 0;
}

static void usage(void)
{
	fputs("usage: consumer --pg CONNINFO --brokers HOST:PORT --topic T [--group G] [--header id] [--idle-exit-ms N]\n",
	      stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option o[] = {
		{ "pg", 1, NULL, 'p' },	    { "brokers", 1, NULL, 'b' }, { "topic", 1, NULL, 't' },
		{ "group", 1, NULL, 'g' },  { "header", 1, NULL, 'H' },  { "idle-exit-ms", 1, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	rd_kafka_t *rk = NULL;
	PGconn *pg = NULL;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (ch) {
		case 'p': opt_pg = optarg; break;
		case 'b': opt_brokers = optarg; break;
		case 't': opt_topic = optarg; break;
		case 'g': opt_group = optarg; break;
		case 'H': opt_header = optarg; break;
		case 'i': opt_idle_ms = atol(optarg); break;
		default: usage();
		}
	}
	if (opt_pg == NULL || opt_brokers == NULL || opt_topic == NULL)
		usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pg = PQconnectdb(opt_pg);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "consumer: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
		goto done;
	}
	if (!setup(pg) || (rk = make_consumer()) == NULL || subscribe(rk) < 0)
		goto done;
	rc = consume(rk, pg) < 0;
	rd_kafka_consumer_close(rk);
done:
	if (rk != NULL)
		rd_kafka_destroy(rk);
	PQfinish(pg);
	return rc;
}
