/* A claimed batch and its rows' states: the one module that moves a row from one state to the next (see the
 * diagram in include/batch.h), and writes why. */
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

static void set_state(struct outbox_row *row, enum row_state state, const char *reason)
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

int batch_row_waiting(const struct outbox_row *row)
{
	return row->state == ROW_PENDING || row->state == ROW_DEAD_LETTER;
}

/* The report on a failed row's copy for the dead-letter topic: the row is marked failed only once its copy
 * arrived; a copy the topic refused leaves it failed with both reasons; a copy not delivered makes it a retry. */
static void dead_letter_report(struct outbox_row *row, enum row_fault fault, const char *reason)
{
	char why[ROW_NOTE_SIZE];

	switch (fault) {
	case FAULT_NONE:
		snprintf(why, sizeof(why), "%.120s (copied to the dead-letter topic)", row->parked);
		set_state(row, ROW_FAILED, why);
		break;
	case FAULT_PERMANENT:
	case FAULT_SIZE:
		snprintf(why, sizeof(why), "%.60s; the dead-letter topic refused it too: %.50s", row->parked, reason);
		set_state(row, ROW_FAILED, why);
		break;
	case FAULT_RETRY:
		snprintf(why, sizeof(why), "%.60s; not yet copied to the dead-letter topic: %.50s", row->parked, reason);
		set_state(row, ROW_RETRY, why);
		break;
	}
}

void batch_row_report(struct batch *b, int i, enum row_fault fault, const char *reason)
{
	struct outbox_row *row = &b->rows[i];

	if (row->state == ROW_DEAD_LETTER) {
		dead_letter_report(row, fault, reason);
		return;
	}
	if (row->state != ROW_PENDING)
		return;
	switch (fault) {
	case FAULT_NONE:
		set_state(row, ROW_ACKED, NULL);
		break;
	case FAULT_RETRY:
		set_state(row, ROW_RETRY, reason);
		break;
	case FAULT_PERMANENT:
		set_state(row, ROW_FAILED, reason);
		break;
	case FAULT_SIZE:
		set_state(row, ROW_SUSPECT, reason);
		break;
	}
}

void batch_rows_unreported(struct batch *b, const char *reason)
{
	for (int i = 0; i < b->n; i++)
		batch_row_report(b, i, FAULT_RETRY, reason);
}

void batch_fail_oversize(struct batch *b, long long max_bytes)
{
	char why[ROW_NOTE_SIZE];

	for (int i = 0; i < b->n; i++) {
		if (b->rows[i].size <= max_bytes)
			continue;
		snprintf(why, sizeof(why), "row is %lld bytes, more than the producer's message.max.bytes (%lld)",
			 b->rows[i].size, max_bytes);
		set_state(&b->rows[i], ROW_FAILED, why);
	}
}

static int same_key(const struct outbox_row *a, const struct outbox_row *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
	       strcmp(a->topic, b->topic) == 0;
}

#define BLOCKED_REASON "held back: an earlier event of this key failed (block_key)"

int batch_hold_behind_failure(struct batch *b, int i, enum row_state held)
{
	struct outbox_row *r = &b->rows[i];

	if (r->key == NULL)
		return 0;
	for (int j = 0; j < i; j++) {
		if (b->rows[j].state == ROW_FAILED && b->rows[j].key != NULL && same_key(&b->rows[j], r)) {
			set_state(r, held, BLOCKED_REASON);
			return 1;
		}
	}
	return 0;
}

void batch_block_row(struct batch *b, int i)
{
	set_state(&b->rows[i], ROW_BLOCKED, BLOCKED_REASON);
}

int batch_hold_back_keys(struct batch *b)
{
	int held = 0;

	/* Rows are in id order; a row to retry blocks every later row of its key. Quadratic only in the number of
	 * undelivered keyed rows, which is small unless the whole batch failed (and then nothing is acked). */
	for (int i = 0; i < b->n; i++) {
		const struct outbox_row *blocker = &b->rows[i];
		if (blocker->state != ROW_RETRY || blocker->key == NULL)
			continue;
		for (int j = i + 1; j < b->n; j++) {
			struct outbox_row *r = &b->rows[j];
			if (r->state == ROW_ACKED && r->key != NULL && same_key(blocker, r)) {
				set_state(r, ROW_HELD, "held back: an earlier event of this key was not delivered");
				held++;
			}
		}
	}
	return held;
}

void batch_row_alone(struct batch *b, int i)
{
	if (b->rows[i].state == ROW_SUSPECT)
		set_state(&b->rows[i], ROW_PENDING, NULL);
}

void batch_suspects_settle(struct batch *b, int tried, const char *untried_reason)
{
	for (int i = 0; i < b->n; i++) {
		struct outbox_row *r = &b->rows[i];
		if (r->state != ROW_SUSPECT)
			continue;
		if (i < tried)
			r->state = ROW_FAILED;
		else
			set_state(r, ROW_RETRY, untried_reason);
	}
}

int batch_begin_dead_letters(struct batch *b)
{
	int n = 0;

	for (int i = 0; i < b->n; i++) {
		struct outbox_row *r = &b->rows[i];
		if (r->state != ROW_FAILED)
			continue;
		snprintf(r->parked, ROW_NOTE_SIZE, "%s", r->reason);
		set_state(r, ROW_DEAD_LETTER, NULL);
		n++;
	}
	return n;
}

int batch_count(const struct batch *b, enum row_state state)
{
	int n = 0;

	for (int i = 0; i < b->n; i++)
		n += b->rows[i].state == state;
	return n;
}

int batch_undelivered(const struct batch *b)
{
	return b->n - batch_count(b, ROW_ACKED) - batch_count(b, ROW_FAILED) - batch_count(b, ROW_BLOCKED);
}
