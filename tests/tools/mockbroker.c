/* mockbroker: librdkafka's built-in mock cluster as a stand-alone process on loopback, the harness's fallback
 * when no Java is present. Prints the bootstrap address on stdout, then serves until SIGTERM. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;

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
	while (!stop)
		pause();
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
