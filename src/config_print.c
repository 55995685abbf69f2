/* The effective configuration printed for `check-config`, secrets redacted as the settings table says; and
 * what a mode setting holds, by name. */
#include "config_private.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

int config_kafka_property_is_secret(const char *name)
{
	static const char *const needles[] = { "password", "secret", ".pem", "sasl.oauthbearer.config" };

	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
		if (strstr(name, needles[i]) != NULL)
			return 1;
	}
	return 0;
}

static void print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* The conninfo rebuilt from its parsed keywords, with the password replaced. */
static void print_conninfo(FILE *out, const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	char buf[8192];
	size_t o = 0;

	buf[0] = '\0';
	for (PQconninfoOption *p = opts; p != NULL && p->keyword != NULL; p++) {
		const char *v = p->val;
		int n;
		if (v == NULL)
			continue;
		if (strcmp(p->keyword, "password") == 0)
			v = "<redacted>";
		n = snprintf(buf + o, sizeof(buf) - o, "%s%s='", o ? " " : "", p->keyword);
		if (n < 0 || (size_t)n >= sizeof(buf) - o)
			break;
		o += (size_t)n;
		for (; *v && o + 3 < sizeof(buf); v++) {
			if (*v == '\'' || *v == '\\')
				buf[o++] = '\\';
			buf[o++] = *v;
		}
		buf[o++] = '\'';
		buf[o] = '\0';
	}
	PQconninfoFree(opts);
	print_string(out, buf);
}

static void print_props(FILE *out, const struct config *cfg)
{
	fputs("[", out);
	for (int p = 0; p < cfg->n_kafka_props; p++) {
		char kv[8192];
		const struct kafka_property *kp = &cfg->kafka_props[p];
		snprintf(kv, sizeof(kv), "%s=%s", kp->name,
			 kp->secret || config_kafka_property_is_secret(kp->name) ? "<redacted>" : kp->value);
		fputs(p ? ", " : " ", out);
		print_string(out, kv);
	}
	fputs(cfg->n_kafka_props ? " ]" : "]", out);
}

void config_print(const struct config *cfg, FILE *out)
{
	const char *group = "";

	for (size_t i = 0; i < config_n_settings; i++) {
		const struct setting *s = &config_settings[i];
		const void *f = (const char *)cfg + s->offset;

		if (strcmp(group, s->group) != 0) {
			fprintf(out, "%s%s: {\n", *group ? "};\n" : "", s->group);
			group = s->group;
		}
		if ((s->type == ST_STRING && *(char *const *)f == NULL) || s->secret == SC_ALWAYS)
			continue; /* credentials are printed, redacted, with the properties */
		fprintf(out, "  %s = ", s->name);
		if (s->type == ST_INT)
			fprintf(out, "%d", *(const int *)f);
		else if (s->type == ST_WORD)
			print_string(out, s->words[*(const int *)f]);
		else if (s->secret == SC_CONNINFO)
			print_conninfo(out, *(char *const *)f);
		else if (s->type == ST_STRING)
			print_string(out, *(char *const *)f);
		else
			print_props(out, cfg);
		fputs(";\n", out);
	}
	fputs("};\n", out);
}

const char *config_word(const struct config *cfg, const char *key)
{
	for (size_t i = 0; i < config_n_settings; i++) {
		const struct setting *s = &config_settings[i];
		size_t g = strlen(s->group);
		if (s->type == ST_WORD && strncmp(key, s->group, g) == 0 && key[g] == '.' && strcmp(key + g + 1, s->name) == 0)
			return s->words[*(const int *)((const char *)cfg + s->offset)];
	}
	return NULL;
}
