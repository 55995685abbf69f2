#include "service.h"

#include <stdint.h>
#include <systemd/sd-daemon.h>

#include "clock.h"

void service_ready(void) { sd_notify(0, "READY=1"); }

void service_stopping(void) { sd_notify(0, "STOPPING=1"); }

/* systemd (Type=notify-reload, or any unit reading it) wants the monotonic time with RELOADING=1. */
void service_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)clock_now_us());
}

void service_status(const char *status) { sd_notifyf(0, "STATUS=%s", status); }

void service_watchdog(void) { sd_notify(0, "WATCHDOG=1"); }

int service_watchdog_interval_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (int)(usec / 2000);
}
