/* The settings table's shape, shared by the config_*.c files alone: config.c holds the table and loads files,
 * config_reload.c applies a SIGHUP, config_print.c prints with secrets redacted, config_scan.c checks the raw
 * bytes before libconfig reads them. */
#ifndef OUTBOXD_CONFIG_PRIVATE_H
#define OUTBOXD_CONFIG_PRIVATE_H

#include <stddef.h>

#include "config.h"

enum setting_type {
	ST_STRING,
	ST_INT,
	ST_WORD,  /* one of words, stored as its index (an enum) */
	ST_PROPS, /* librdkafka properties */
	ST_CREDS, /* librdkafka properties read from credentials */
};

/* What SIGHUP does with a changed setting (config_reload). */
enum reload_class {
	RL_LIVE,    /* read where used: takes effect at once */
	RL_CLAIM,   /* the claim statement is prepared again */
	RL_KAFKA,   /* the producer is recreated before the next batch */
	RL_RESTART, /* the session, its locks and statements, the relay's identity or a socket: needs a restart */
};

/* What printing must hide. */
enum secrecy {
	SC_NONE,
	SC_CONNINFO, /* a libpq conninfo: its password is redacted */
	SC_PROPS,    /* properties whose name says they hold a secret are redacted */
	SC_ALWAYS,   /* never printed (credentials; printed, redacted, with the properties) */
};

struct setting {
	const char *group;
	const char *name;
	enum setting_type type;
	size_t offset;
	int required;
	long long min, max, def_int; /* ST_INT; ST_WORD: def_int is the default word's index */
	const char *def_str;         /* ST_STRING */
	size_t max_len;              /* ST_STRING */
	enum reload_class reload;
	enum secrecy secret;
	const char *const *words; /* ST_WORD, NULL-terminated */
};

extern const struct setting config_settings[];
extern const size_t config_n_settings;

/* Where setting s lives in cfg. */
static inline void *config_field(const struct config *cfg, const struct setting *s)
{
	return (char *)cfg + s->offset;
}

/* Byte-level checks libconfig cannot make (embedded NUL, @include, integers over 31 bits), with the line.
 * Returns 0, or -1 with "NAME:LINE: problem" in errbuf. */
int config_scan(const char *name, const char *text, size_t len, char *errbuf, size_t errsize);

#endif
