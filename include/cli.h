/* The command line: what to do, with which config. Parsing only; main.c acts on the result. Kept apart from
 * main() so it is unit-tested and fuzzed. */
#ifndef OUTBOXD_CLI_H
#define OUTBOXD_CLI_H

#include <stddef.h>
#include <stdio.h>

#define CLI_DEFAULT_CONFIG "/etc/outboxd/outboxd.conf"

enum cli_action { CLI_COMMAND, CLI_HELP, CLI_VERSION };

struct cli {
	enum cli_action action;
	const char *cmd;         /* run, check-config, status, schema, failed, retry, replay */
	const char *sub;         /* for schema: print, install, grant; for failed: list */
	const char *role;        /* for schema grant */
	const char *config_path; /* points into argv or at CLI_DEFAULT_CONFIG */
	int config_given;
	const char *schema, *table; /* for schema print without -c */
	int all;                    /* retry --all */
	char **ids;                 /* retry ID...: the row ids as given (validated numbers) */
	int n_ids;
	const char *from_id;        /* replay --from-id: a validated number */
	const char *since;          /* replay --since: a time PostgreSQL parses */
	const char *topic;          /* replay --topic */
	int buckets;                /* status --buckets: a line per bucket */
	const char *rows;           /* schema partition --rows: ids per partition, a validated number (NULL: default) */
};

/* Fills *out from argv (pointers into argv; nothing allocated). Returns 0, or -1 with a one-line reason in err.
 * Resets getopt's state, so it may be called more than once. */
int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errsize);

void cli_usage(FILE *out);

#endif
