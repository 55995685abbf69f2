/* outboxd: relays events from a PostgreSQL outbox table to Kafka. This file only parses the command line, loads
 * the configuration and hands over to a command. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "commands.h"
#include "config.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/outboxd/outboxd.conf"

static void usage(FILE *out)
{
	fputs("Usage: outboxd [COMMAND] [-c FILE]\n"
	      "\n"
	      "Relays events from a transactional outbox table in PostgreSQL to Kafka, at least once.\n"
	      "\n"
	      "Commands:\n"
	      "  run              relay in the foreground until SIGTERM (the default)\n"
	      "  check-config     validate the configuration and print it, secrets redacted\n"
	      "  schema print     print the SQL that creates the outbox (no database needed)\n"
	      "  schema install   create or upgrade the outbox in the database (re-running is a no-op)\n"
	      "  status           pending rows, age of the oldest pending row, failed rows\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE  configuration file (default " DEFAULT_CONFIG ")\n"
	      "      --schema NAME  for `schema print` without -c: the schema (default public)\n"
	      "      --table NAME   for `schema print` without -c: the table (default outbox)\n"
	      "  -h, --help         this text\n"
	      "  -V, --version      version and library versions\n"
	      "\n"
	      "Exit codes: 0 ok, 64 usage, 65 data error, 69 service unavailable, 70 internal error,\n"
	      "71 system error, 78 configuration error.\n",
	      out);
}

static int load(const char *path, struct config **cfg)
{
	char err[1024];

	if (config_load(path, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_CONFIG;
	}
	return 0;
}

static int schema_print(const char *config_path, int config_given, const char *schema, const char *table)
{
	struct config *cfg = NULL;
	int rc;

	if (!config_given)
		return cmd_schema_print(schema, table);
	if ((rc = load(config_path, &cfg)) != 0)
		return rc;
	rc = cmd_schema_print(cfg->pg_schema, cfg->pg_table);
	config_free(cfg);
	return rc;
}

static int dispatch(const char *cmd, const char *sub, const char *config_path)
{
	struct config *cfg = NULL;
	int rc;

	if ((rc = load(config_path, &cfg)) != 0)
		return rc;
	if (strcmp(cmd, "run") == 0)
		rc = cmd_run(cfg);
	else if (strcmp(cmd, "check-config") == 0)
		rc = cmd_check_config(cfg);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(cfg);
	else if (strcmp(cmd, "schema") == 0 && sub != NULL && strcmp(sub, "install") == 0)
		rc = cmd_schema_install(cfg);
	else
		rc = EX_USAGE;
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "schema", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },  { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
	};
	const char *config_path = DEFAULT_CONFIG, *schema = "public", *table = "outbox", *cmd, *sub;
	int c, config_given = 0, nargs;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			config_given = 1;
			break;
		case 's':
			schema = optarg;
			break;
		case 't':
			table = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("outboxd %s (librdkafka %s, libpq %d)\n", OUTBOXD_VERSION, rd_kafka_version_str(),
			       PQlibVersion());
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	nargs = argc - optind;
	cmd = nargs > 0 ? argv[optind] : "run";
	sub = nargs > 1 ? argv[optind + 1] : NULL;
	if (strcmp(cmd, "schema") == 0) {
		if (nargs != 2 || (strcmp(sub, "print") != 0 && strcmp(sub, "install") != 0)) {
			fprintf(stderr, "outboxd: usage: outboxd schema print|install [-c FILE]\n");
			return EX_USAGE;
		}
		if (strcmp(sub, "print") == 0)
			return schema_print(config_path, config_given, schema, table);
	} else if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check-config") != 0 && strcmp(cmd, "status") != 0) {
		fprintf(stderr, "outboxd: unknown command: %s (see outboxd --help)\n", cmd);
		return EX_USAGE;
	} else if (nargs > 1) {
		fprintf(stderr, "outboxd: unexpected argument: %s (see outboxd --help)\n", sub);
		return EX_USAGE;
	}
	return dispatch(cmd, sub, config_path);
}
