/* mockbroker: librdkafka's built-in mock cluster as a process of its own on loopback, for fault injection and as
 * the harness's fallback when no Java is present. Prints the bootstrap address on stdout, then reads commands,
 * one per line, from stdin until SIGTERM:
 *   down | up               the broker refuses / accepts connections
 *   rtt MS                  adds MS of round-trip time to every response
 *   err CODE COUNT          the next COUNT Produce requests fail with broker error CODE
 *   topic NAME PARTITIONS   creates a topic
 *   leader NAME PART BROKER sets the partition's leader; -1 leaves it without one */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRODUCE_API_KEY 0

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void command(rd_kafka_mock_cluster_t *mc, char *line)
{
	char name[256];
	int a = 0, b = 0;

	if (strncmp(line, "down", 4) == 0) {
		rd_kafka_mock_broker_set_down(mc, 1);
	} else if (strncmp(line, "up", 2) == 0) {
		rd_kafka_mock_broker_set_up(mc, 1);
	} else if (sscanf(line, "rtt %d", &a) == 1) {
		rd_kafka_mock_broker_set_rtt(mc, 1, a);
	} else if (sscanf(line, "err %d %d", &a, &b) == 2 && b > 0) {
		rd_kafka_resp_err_t *errs = calloc((size_t)b, sizeof(*errs));
		for (int i = 0; i < b; i++)
			errs[i] = (rd_kafka_resp_err_t)a;
		rd_kafka_mock_push_request_errors_array(mc, PRODUCE_API_KEY, (size_t)b, errs);
		free(errs);
	} else if (sscanf(line, "topic %255s %d", name, &a) == 2) {
		rd_kafka_mock_topic_create(mc, name, a, 1);
	} else if (sscanf(line, "leader %255s %d %d", name, &a, &b) == 3) {
		/* broker -1: the partition has no leader, so nothing can be produced to it */
		rd_kafka_mock_partition_set_leader(mc, name, a, b);
	} else {
		fprintf(stderr, "mockbroker: unknown command: %s", line);
		return;
	}
	fprintf(stderr, "mockbroker: done: %s", line);
}

int main(void)
{
	char err[512], line[512];
	sigset_t stop_signals, old;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mockbroker: %s\n", err);
		return 1;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, 1)) == NULL) {
		fprintf(stderr, "mockbroker: cannot create the mock cluster\n");
		return 1;
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!stop && fgets(line, sizeof(line), stdin) != NULL)
		command(mc, line);
	/* A SIGTERM that lands between the test of stop and pause() would leave pause() waiting for ever (it did,
	 * once, in make check): the signals stay blocked while stop is tested and sigsuspend unblocks them
	 * atomically. */
	sigprocmask(SIG_BLOCK, &stop_signals, &old);
	while (!stop)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
