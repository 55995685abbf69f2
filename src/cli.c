/* Command-line parsing. getopt_long's own messages are turned off: every usage error is one line from here. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

void cli_usage(FILE *out)
{
	fputs("Usage: outboxd [COMMAND] [-c FILE]\n"
	      "\n"
	      "Relays events from a transactional outbox table in PostgreSQL to Kafka, at least once.\n"
	      "\n"
	      "Commands:\n"
	      "  run                relay in the foreground until SIGTERM (the default)\n"
	      "  check-config       validate the configuration and print it, secrets redacted\n"
	      "  schema print       print the SQL that creates the outbox (no database needed)\n"
	      "  schema install     create or upgrade the outbox in the database (re-running is a no-op)\n"
	      "  schema grant ROLE  give ROLE what the relay needs and nothing more\n"
	      "  schema partition   with relay.on_sent = \"keep\": partition the outbox by id, so retention drops\n"
	      "                     whole partitions instead of deleting rows\n"
	      "  schema debezium    relay a Debezium-style outbox table (config group debezium) as Debezium would\n"
	      "  status             pending and failed rows, the oldest pending row's age, the relays and their\n"
	      "                     buckets (--buckets: a line per bucket)\n"
	      "  failed list        the failed (parked) rows and why\n"
	      "  retry ID...|--all  make failed rows pending again (they are re-sent)\n"
	      "  replay --from-id N | --since TIME [--topic T]\n"
	      "                     make sent rows pending again, to publish them once more\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE  configuration file (default " CLI_DEFAULT_CONFIG ")\n"
	      "      --schema NAME  for `schema print` without -c: the schema (default public)\n"
	      "      --table NAME   for `schema print` without -c: the table (default outbox)\n"
	      "      --from-id N    for replay: rows with id N and above\n"
	      "      --since TIME   for replay: rows sent at TIME or later (e.g. \"2026-11-29 08:00+00\")\n"
	      "      --topic T      for replay: only rows of topic T\n"
	      "      --buckets      for status: each bucket's owner, epoch and lag\n"
	      "      --rows N       for schema partition: ids per partition (default 1000000)\n"
	      "  -h, --help         this text\n"
	      "  -V, --version      version and library versions\n"
	      "\n"
	      "Exit codes: 0 ok, 64 usage, 65 data error, 69 service unavailable, 70 internal error,\n"
	      "71 system error, 78 configuration error.\n",
	      out);
}

static int fail(char *err, size_t errsize, const char *what, const char *arg)
{
	snprintf(err, errsize, "%s%s (see outboxd --help)", what, arg ? arg : "");
	return -1;
}

static int parse_schema_args(struct cli *out, int nargs, char **args, char *err, size_t errsize)
{
	static const char usage[] =
		"usage: outboxd schema print|install|partition|debezium [-c FILE] | schema grant ROLE [-c FILE]";

	if (nargs < 2)
		return fail(err, errsize, usage, NULL);
	out->sub = args[1];
	if (strcmp(out->sub, "grant") == 0) {
		if (nargs != 3 || args[2][0] == '\0')
			return fail(err, errsize, usage, NULL);
		out->role = args[2];
		return 0;
	}
	if (nargs != 2 ||
	    (strcmp(out->sub, "print") != 0 && strcmp(out->sub, "install") != 0 && strcmp(out->sub, "partition") != 0 &&
	     strcmp(out->sub, "debezium") != 0))
		return fail(err, errsize, usage, NULL);
	return 0;
}

/* A row id as the database takes it: decimal digits, at most 18 so it always fits a bigint. */
static int is_row_id(const char *p)
{
	size_t len = strlen(p);

	return len > 0 && len <= 18 && strspn(p, "0123456789") == len;
}

/* retry takes either row ids or --all, never both and never neither: a mistyped id must not widen the retry. */
static int parse_retry_args(struct cli *out, int n, char **ids, char *err, size_t errsize)
{
	if (out->all && n > 0)
		return fail(err, errsize, "retry: give row ids or --all, not both", NULL);
	if (!out->all && n == 0)
		return fail(err, errsize, "usage: outboxd retry ID... | --all [-c FILE]", NULL);
	for (int i = 0; i < n; i++) {
		if (!is_row_id(ids[i]))
			return fail(err, errsize, "retry: not a row id: ", ids[i]);
	}
	out->ids = ids;
	out->n_ids = n;
	return 0;
}

/* replay takes exactly one of --from-id and --since: both, or neither, could re-send far more than meant. */
static int parse_replay_args(struct cli *out, int nargs, char *err, size_t errsize)
{
	static const char usage[] = "usage: outboxd replay --from-id N | --since TIME [--topic T] [-c FILE]";

	if (nargs > 1 || (out->from_id == NULL) == (out->since == NULL))
		return fail(err, errsize, usage, NULL);
	if (out->from_id != NULL && !is_row_id(out->from_id))
		return fail(err, errsize, "replay: not a row id: ", out->from_id);
	if (out->since != NULL && out->since[0] == '\0')
		return fail(err, errsize, "replay: --since needs a time", NULL);
	if (out->topic != NULL && out->topic[0] == '\0')
		return fail(err, errsize, "replay: --topic needs a topic", NULL);
	return 0;
}

int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errsize)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "schema", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },  { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { "all", no_argument, NULL, 'a' },
		{ "from-id", required_argument, NULL, 'f' }, { "since", required_argument, NULL, 'S' },
		{ "topic", required_argument, NULL, 'T' },   { "buckets", no_argument, NULL, 'b' },
		{ "rows", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c, nargs;

	memset(out, 0, sizeof(*out));
	out->config_path = CLI_DEFAULT_CONFIG;
	out->schema = "public";
	out->table = "outbox";
	opterr = 0;
	optind = 0; /* GNU: a full re-initialisation, so a second call starts afresh */
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			out->config_path = optarg;
			out->config_given = 1;
			break;
		case 's':
			out->schema = optarg;
			break;
		case 't':
			out->table = optarg;
			break;
		case 'a':
			out->all = 1;
			break;
		case 'b':
			out->buckets = 1;
			break;
		case 'f':
			out->from_id = optarg;
			break;
		case 'r':
			out->rows = optarg;
			break;
		case 'S':
			out->since = optarg;
			break;
		case 'T':
			out->topic = optarg;
			break;
		case 'h':
			out->action = CLI_HELP;
			return 0;
		case 'V':
			out->action = CLI_VERSION;
			return 0;
		default:
			if (optopt != 0 && optopt != '?') {
				char o[3] = { '-', (char)optopt, '\0' };
				return fail(err, errsize, "bad or incomplete option: ", o);
			}
			return fail(err, errsize, "bad or incomplete option: ", argv[optind - 1]);
		}
	}
	nargs = argc - optind;
	out->cmd = nargs > 0 ? argv[optind] : "run";
	if (out->buckets && strcmp(out->cmd, "status") != 0)
		return fail(err, errsize, "--buckets is only for status", NULL);
	if (out->rows != NULL && (nargs != 2 || strcmp(out->cmd, "schema") != 0 || strcmp(argv[optind + 1], "partition") != 0))
		return fail(err, errsize, "--rows is only for schema partition", NULL);
	if (out->rows != NULL && (!is_row_id(out->rows) || strspn(out->rows, "0") == strlen(out->rows)))
		return fail(err, errsize, "schema partition: --rows needs a positive number of ids: ", out->rows);
	if (strcmp(out->cmd, "schema") == 0)
		return parse_schema_args(out, nargs, argv + optind, err, errsize);
	if (strcmp(out->cmd, "failed") == 0) {
		if (nargs != 2 || strcmp(argv[optind + 1], "list") != 0)
			return fail(err, errsize, "usage: outboxd failed list [-c FILE]", NULL);
		out->sub = argv[optind + 1];
		return 0;
	}
	if (strcmp(out->cmd, "replay") == 0) {
		if (out->all)
			return fail(err, errsize, "--all is only for retry", NULL);
		return parse_replay_args(out, nargs, err, errsize);
	}
	if (out->from_id != NULL || out->since != NULL || out->topic != NULL)
		return fail(err, errsize, "--from-id, --since and --topic are only for replay", NULL);
	if (strcmp(out->cmd, "retry") == 0)
		return parse_retry_args(out, nargs - 1, argv + optind + 1, err, errsize);
	if (out->all)
		return fail(err, errsize, "--all is only for retry", NULL);
	if (strcmp(out->cmd, "run") != 0 && strcmp(out->cmd, "check-config") != 0 && strcmp(out->cmd, "status") != 0)
		return fail(err, errsize, "unknown command: ", out->cmd);
	if (nargs > 1)
		return fail(err, errsize, "unexpected argument: ", argv[optind + 1]);
	return 0;
}
