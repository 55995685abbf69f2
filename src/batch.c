#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch *batch_new(int cap)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->rows = calloc((size_t)cap, sizeof(*b->rows));
	b->notes = calloc((size_t)cap, 2 * ROW_NOTE_SIZE);
	if (b->rows == NULL || b->notes == NULL) {
		free(b->rows);
		free(b->notes);
		free(b);
		return NULL;
	}
	b->cap = cap;
	for (int i = 0; i < cap; i++)
		batch_reset_row(b, i);
	return b;
}

void batch_clear(struct batch *b)
{
	if (b->result != NULL && b->release != NULL)
		b->release(b->result);
	b->result = NULL;
	b->n = 0;
	b->outstanding = 0;
}

void batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	batch_clear(b);
	free(b->rows);
	free(b->notes);
	free(b);
}

/* Empties a note. Reading an untouched page of the notes does not make it resident; writing would. */
static void clear_note(char *note)
{
	if (note[0] != '\0')
		note[0] = '\0';
}

void batch_set_state(struct outbox_row *row, enum row_state state, const char *reason)
{
	row->state = state;
	if (reason != NULL)
		snprintf(row->reason, ROW_NOTE_SIZE, "%s", reason);
	else
		clear_note(row->reason);
}

void batch_reset_row(struct batch *b, int i)
{
	struct outbox_row *r = &b->rows[i];

	memset(r, 0, sizeof(*r));
	r->reason = b->notes + (size_t)i * 2 * ROW_NOTE_SIZE;
	r->parked = r->reason + ROW_NOTE_SIZE;
	clear_note(r->reason);
	clear_note(r->parked);
}

static int same_key(const struct outbox_row *a, const struct outbox_row *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
	       strcmp(a->topic, b->topic) == 0;
}

int batch_hold_back_keys(struct batch *b)
{
	int held = 0;

	/* Rows are in id order; a transient row blocks every later row of its key. Quadratic only in the number of
	 * undelivered keyed rows, which is small unless the whole batch failed (and then nothing is acked). */
	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *blocker = &b->rows[i];
		if (blocker->state != ROW_TRANSIENT || blocker->key == NULL)
			continue;
		for (int j = i + 1; j < b->n; j++) {
			struct outbox_row *r = &b->rows[j];
			if (r->state == ROW_ACKED && r->key != NULL && same_key(blocker, r)) {
				batch_set_state(r, ROW_TRANSIENT, "held back: an earlier event of this key was not delivered");
				held++;
			}
		}
	}
	return held;
}

int batch_key_failed_before(const struct batch *b, int i)
{
	const struct outbox_row *r = &b->rows[i];

	if (r->key == NULL)
		return 0;
	for (int j = 0; j < i; j++) {
		if (b->rows[j].state == ROW_PERMANENT && b->rows[j].key != NULL && same_key(&b->rows[j], r))
			return 1;
	}
	return 0;
}

int batch_count(const struct batch *b, enum row_state state)
{
	int n = 0;

	for (int i = 0; i < b->n; i++)
		n += b->rows[i].state == state;
	return n;
}
