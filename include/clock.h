/* The process's clocks: one monotonic clock for every deadline, timer and lease (never set back, so an
 * interval measured on it is real time passed), and the wall clock for what is compared with timestamps that
 * other processes wrote (an event's created_at). */
#ifndef OUTBOXD_CLOCK_H
#define OUTBOXD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds and in microseconds. */
int64_t clock_now_ms(void);
int64_t clock_now_us(void);

/* CLOCK_REALTIME in microseconds since the Unix epoch. */
int64_t clock_wall_us(void);

#endif
