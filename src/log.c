/* logfmt on stderr. stderr is unbuffered, and each line is built whole before one write, so lines from
 * librdkafka's threads (error callbacks run on ours, but its own logging may not) never interleave mid-line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level) { current_level = level; }

enum log_level log_get_level(void) { return current_level; }

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

static int needs_quotes(const char *s)
{
	if (*s == '\0')
		return 1;
	for (; *s; s++) {
		if (*s == ' ' || *s == '"' || *s == '=' || *s == '\\' || (unsigned char)*s < 0x20)
			return 1;
	}
	return 0;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
	size_t len, o = 0;
	int q;

	if (size < 4) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	if (s == NULL)
		s = "";
	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	q = len == 0 || needs_quotes(s);
	if (q)
		buf[o++] = '"';
	for (size_t i = 0; i < len && o + 3 < size; i++) {
		char c = s[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if ((unsigned char)c < 0x20) {
			buf[o++] = ' ';
		} else {
			buf[o++] = c;
		}
	}
	if (q)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void log_write(enum log_level level, const char *msg, const char *fmt, ...)
{
	char line[4096], qmsg[512];
	struct timeval tv;
	struct tm tm;
	size_t o;
	int n;

	if (level < current_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	o = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + o, sizeof(line) - o, ".%03dZ level=%s msg=%s", (int)(tv.tv_usec / 1000),
		     level_names[level], log_quote(qmsg, sizeof(qmsg), msg));
	o += (size_t)n < sizeof(line) - o ? (size_t)n : sizeof(line) - o - 1;
	if (fmt != NULL && *fmt != '\0' && o + 2 < sizeof(line)) {
		va_list ap;
		line[o++] = ' ';
		va_start(ap, fmt);
		n = vsnprintf(line + o, sizeof(line) - o, fmt, ap);
		va_end(ap);
		if (n > 0)
			o += (size_t)n < sizeof(line) - o ? (size_t)n : sizeof(line) - o - 1;
	}
	line[o++] = '\n';
	/* One write per line; a failed write to stderr has nowhere else to be reported. */
	if (write(STDERR_FILENO, line, o) < 0)
		return;
}
