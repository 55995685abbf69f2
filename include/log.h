/* logfmt logging on stderr: `ts=... level=... msg="..." key=value ...`, one line per event, journald-friendly. */
#ifndef OUTBOXD_LOG_H
#define OUTBOXD_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

const char *log_level_name(enum log_level level);

/* msg is the event name; fmt (may be NULL) formats the key=value pairs that follow it. Values that may hold
 * spaces, quotes or newlines must go through log_quote. */
void log_write(enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* Writes s as a logfmt value into buf (quoted when needed, newlines and quotes escaped, trailing newlines
 * dropped, truncated to fit) and returns buf. */
const char *log_quote(char *buf, size_t size, const char *s);

/* log_quote into a buffer of its own that lives until the end of the enclosing block, so that one log line may
 * quote several values: log_warn("...", "a=%s b=%s", log_q(x), log_q(y)). */
#define LOG_Q_SIZE 1024
#define log_q(s) log_quote((char[LOG_Q_SIZE]){ 0 }, LOG_Q_SIZE, (s))

#endif
