#include "backoff.h"

void backoff_init(struct backoff *b, int min_ms, int max_ms, uint32_t seed)
{
	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->attempt = 0;
	b->seed = seed ? seed : 0x9e3779b9u;
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

int backoff_next(struct backoff *b)
{
	long long d = b->min_ms;
	int half;

	for (int i = 0; i < b->attempt && d < b->max_ms; i++)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	if (b->attempt < 64)
		b->attempt++;
	/* "Equal jitter": never less than half the nominal delay, so backoff still backs off. */
	half = (int)(d / 2);
	return half + (int)(xorshift32(&b->seed) % (uint32_t)((int)d - half + 1));
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
