/* Test-only crash points. Built with -DOUTBOXD_FAULT_HOOKS (build/fault/outboxd, `make FAULT=1`), a point kills
 * the process with SIGKILL when OUTBOXD_FAULT="name:N" names it and it is reached for the N-th time (N defaults
 * to 1). In every other build the calls compile to nothing. */
#ifndef OUTBOXD_FAULT_H
#define OUTBOXD_FAULT_H

#ifdef OUTBOXD_FAULT_HOOKS
void fault_point(const char *name);
#else
#define fault_point(name) ((void)0)
#endif

#endif
