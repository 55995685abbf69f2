/* SIGHUP: what a reload may change, read from the settings table's reload class. */
#include "config_private.h"

#include <stdio.h>
#include <string.h>

static int strings_differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static int props_differ(const struct config *a, const struct config *b)
{
	if (a->n_kafka_props != b->n_kafka_props)
		return 1;
	for (int i = 0; i < a->n_kafka_props; i++) {
		const struct kafka_property *x = &a->kafka_props[i], *y = &b->kafka_props[i];
		if (strcmp(x->name, y->name) != 0 || strcmp(x->value, y->value) != 0 || x->secret != y->secret)
			return 1;
	}
	return 0;
}

static int setting_differs(const struct config *a, const struct config *b, const struct setting *s)
{
	switch (s->type) {
	case ST_STRING:
		return strings_differ(*(char *const *)config_field(a, s), *(char *const *)config_field(b, s));
	case ST_INT:
	case ST_WORD:
		return *(const int *)config_field(a, s) != *(const int *)config_field(b, s);
	case ST_PROPS:
	case ST_CREDS:
		return props_differ(a, b);
	}
	return 0;
}

/* Swaps one setting's value between the two configs (both own what they hold after the swap). */
static void swap_setting(struct config *a, struct config *b, const struct setting *s)
{
	if (s->type == ST_STRING) {
		char **x = config_field(a, s), **y = config_field(b, s), *t = *x;
		*x = *y, *y = t;
	} else if (s->type == ST_INT || s->type == ST_WORD) {
		int *x = config_field(a, s), *y = config_field(b, s), t = *x;
		*x = *y, *y = t;
	} else {
		struct kafka_property *t = a->kafka_props;
		int n = a->n_kafka_props, line = a->kafka_props_line;
		a->kafka_props = b->kafka_props, a->n_kafka_props = b->n_kafka_props;
		a->kafka_props_line = b->kafka_props_line;
		b->kafka_props = t, b->n_kafka_props = n, b->kafka_props_line = line;
	}
}

int config_reload(struct config *live, struct config *fresh, char *restart, size_t restart_size)
{
	int changed = 0, props_done = 0;
	size_t o = 0;

	restart[0] = '\0';
	for (size_t i = 0; i < config_n_settings; i++) {
		const struct setting *s = &config_settings[i];
		int is_props = s->type == ST_PROPS || s->type == ST_CREDS;

		if ((is_props && props_done) || !setting_differs(live, fresh, s))
			continue;
		if (s->reload == RL_RESTART) {
			o += (size_t)snprintf(restart + o, o < restart_size ? restart_size - o : 0, "%s%s.%s", o ? "," : "",
					      s->group, s->name);
			continue;
		}
		swap_setting(live, fresh, s);
		props_done |= is_props;
		changed |= s->reload == RL_KAFKA   ? CONFIG_RELOAD_KAFKA
			   : s->reload == RL_CLAIM ? CONFIG_RELOAD_CLAIM
						   : CONFIG_RELOAD_OTHER;
	}
	return changed;
}
