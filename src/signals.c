#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static int pipe_fds[2] = { -1, -1 };

static void wake(void)
{
	int saved = errno;
	ssize_t r = write(pipe_fds[1], "x", 1);
	(void)r; /* a full pipe already means "wake up" */
	errno = saved;
}

static void on_stop(int sig)
{
	(void)sig;
	if (stop_requested)
		_exit(1);
	stop_requested = 1;
	wake();
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
	wake();
}

int signals_init(void)
{
	struct sigaction sa;

	if (pipe(pipe_fds) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fcntl(pipe_fds[i], F_SETFL, O_NONBLOCK) < 0 || fcntl(pipe_fds[i], F_SETFD, FD_CLOEXEC) < 0)
			return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = on_hup;
	if (sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

int signals_fd(void) { return pipe_fds[0]; }

void signals_drain(void)
{
	char buf[64];

	while (read(pipe_fds[0], buf, sizeof(buf)) > 0)
		;
}

int signals_stop_requested(void) { return stop_requested; }

int signals_take_reload(void)
{
	if (!reload_requested)
		return 0;
	reload_requested = 0;
	return 1;
}
