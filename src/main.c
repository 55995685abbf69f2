/* outboxd: relays events from a PostgreSQL outbox table to Kafka. This file only parses the command line, loads
 * the configuration and hands over to a command. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "pg.h"
#include "version.h"

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

static int dispatch(const struct cli *cli)
{
	struct config *cfg = NULL;
	int rc;

	if (strcmp(cli->cmd, "schema") == 0 && strcmp(cli->sub, "print") == 0)
		return schema_print(cli->config_path, cli->config_given, cli->schema, cli->table);
	if ((rc = load(cli->config_path, &cfg)) != 0)
		return rc;
	if (strcmp(cli->cmd, "run") == 0)
		rc = cmd_run(cfg);
	else if (strcmp(cli->cmd, "check-config") == 0)
		rc = cmd_check_config(cfg);
	else if (strcmp(cli->cmd, "status") == 0)
		rc = cmd_status(cfg, cli->buckets);
	else if (strcmp(cli->cmd, "failed") == 0)
		rc = cmd_failed_list(cfg);
	else if (strcmp(cli->cmd, "retry") == 0)
		rc = cmd_retry(cfg, (const char *const *)cli->ids, cli->n_ids, cli->all);
	else if (strcmp(cli->cmd, "replay") == 0)
		rc = cmd_replay(cfg, cli->from_id, cli->since, cli->topic);
	else if (strcmp(cli->sub, "install") == 0)
		rc = cmd_schema_install(cfg);
	else if (strcmp(cli->sub, "partition") == 0)
		rc = cmd_schema_partition(cfg, cli->rows);
	else if (strcmp(cli->sub, "debezium") == 0)
		rc = cmd_schema_debezium(cfg);
	else
		rc = cmd_schema_grant(cfg, cli->role);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli cli;
	char err[512];

	if (cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "outboxd: %s\n", err);
		return EX_USAGE;
	}
	if (cli.action == CLI_HELP) {
		cli_usage(stdout);
		return 0;
	}
	if (cli.action == CLI_VERSION) {
		printf("outboxd %s (librdkafka %s, libpq %d)\n", OUTBOXD_VERSION, rd_kafka_version_str(), pg_lib_version());
		return 0;
	}
	return dispatch(&cli);
}
