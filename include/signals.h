/* Signal handling: handlers only set flags and write a byte to a self-pipe, so the relay's poll() wakes at
 * once. A second SIGTERM/SIGINT exits immediately (status 1). SIGPIPE is ignored. */
#ifndef OUTBOXD_SIGNALS_H
#define OUTBOXD_SIGNALS_H

int signals_init(void);
int signals_fd(void);      /* readable when a signal arrived */
void signals_drain(void);  /* empties the pipe */
int signals_stop_requested(void);
int signals_take_reload(void); /* 1 once per SIGHUP */

#endif
