/* Capped exponential backoff with jitter, so a fleet of relays does not retry in lock-step. */
#ifndef OUTBOXD_BACKOFF_H
#define OUTBOXD_BACKOFF_H

#include <stdint.h>

struct backoff {
	int min_ms;
	int max_ms;
	int attempt;     /* consecutive failures so far */
	uint32_t seed;   /* xorshift state; never 0 */
};

void backoff_init(struct backoff *b, int min_ms, int max_ms, uint32_t seed);

/* The delay before the next try, in [d/2, d] where d = min(max, min * 2^attempt); counts one more attempt. */
int backoff_next(struct backoff *b);

void backoff_reset(struct backoff *b);

#endif
