/* Crash points for the fault-injection suite (see include/fault.h). */
#include "fault.h"

#ifdef OUTBOXD_FAULT_HOOKS
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void fault_point(const char *name)
{
	static int hits;
	const char *spec = getenv("OUTBOXD_FAULT");
	size_t len = strlen(name);
	int nth = 1;

	if (spec == NULL || strncmp(spec, name, len) != 0 || (spec[len] != '\0' && spec[len] != ':'))
		return;
	if (spec[len] == ':')
		nth = atoi(spec + len + 1);
	if (++hits >= nth)
		raise(SIGKILL);
}
#else
typedef int fault_hooks_disabled; /* ISO C wants a translation unit to declare something */
#endif
