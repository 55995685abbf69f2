/* The systemd service protocol (sd_notify): READY, STOPPING, STATUS with the lag, and the watchdog. Every call is
 * a no-op when not started by systemd. */
#ifndef OUTBOXD_SERVICE_H
#define OUTBOXD_SERVICE_H

void service_ready(void);
void service_stopping(void);
/* Reloading the configuration; service_ready() says it is done (whether or not the new file was taken). */
void service_reloading(void);
void service_status(const char *status);
void service_watchdog(void);
/* Milliseconds between watchdog pings that keep systemd content (half its WatchdogSec), or 0 if none. */
int service_watchdog_interval_ms(void);

#endif
