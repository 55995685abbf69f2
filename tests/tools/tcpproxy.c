/* tcpproxy: a loopback TCP proxy in front of PostgreSQL that cuts a client's connection around COMMIT, so the
 * client cannot know whether its transaction committed.
 *   tcpproxy [ADDR:]LISTEN_PORT [ADDR:]TARGET_PORT MODE EVERY MAX      (ADDR: IPv4, default 127.0.0.1)
 * MODE "before": the COMMIT is dropped with the connection (the transaction rolls back).
 * MODE "after":  the COMMIT reaches the server, then the client's side is closed before the answer comes back
 *                (the transaction commits; the client sees a broken connection).
 * Every EVERY-th COMMIT is cut, MAX times in all; MODE "none" only forwards (c_partition carries PostgreSQL and
 * Kafka between network namespaces with it). Prints "ready" once listening. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 64

struct pair {
	int client, server; /* -1 when closed */
	int dying;          /* client side cut after COMMIT: discard the server's answer */
};

static struct pair pairs[MAX_PAIRS];
static const char commit_msg[] = { 'Q', 0, 0, 0, 11, 'C', 'O', 'M', 'M', 'I', 'T', 0 };

/* "ADDR:PORT" or "PORT" (on 127.0.0.1). */
static struct sockaddr_in address(const char *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *colon = strrchr(arg, ':');
	char host[64];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (colon != NULL) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
		if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
			fprintf(stderr, "tcpproxy: not an IPv4 address: %s\n", host);
			exit(2);
		}
		arg = colon + 1;
	}
	a.sin_port = htons((uint16_t)atoi(arg));
	return a;
}

static struct sockaddr_in target;

static int listen_on(struct sockaddr_in a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		perror("tcpproxy: listen");
		exit(1);
	}
	return fd;
}

static int connect_to(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, (size_t)n);
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

static void close_pair(struct pair *p)
{
	if (p->client >= 0)
		close(p->client);
	if (p->server >= 0)
		close(p->server);
	p->client = p->server = -1;
	p->dying = 0;
}

static int has_commit(const char *buf, ssize_t n)
{
	for (ssize_t i = 0; i + (ssize_t)sizeof(commit_msg) <= n; i++) {
		if (memcmp(buf + i, commit_msg, sizeof(commit_msg)) == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	int lfd, every, max, commits = 0, cuts = 0;
	const char *mode;

	if (argc != 6) {
		fprintf(stderr, "usage: tcpproxy [ADDR:]LISTEN_PORT [ADDR:]TARGET_PORT before|after|none EVERY MAX\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(address(argv[1]));
	target = address(argv[2]);
	mode = argv[3];
	every = atoi(argv[4]) > 0 ? atoi(argv[4]) : 1;
	max = atoi(argv[5]);
	for (int i = 0; i < MAX_PAIRS; i++)
		pairs[i].client = pairs[i].server = -1;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd fds[1 + 2 * MAX_PAIRS];
		int n = 0;

		fds[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_PAIRS; i++) {
			fds[n++] = (struct pollfd){ .fd = pairs[i].client, .events = POLLIN };
			fds[n++] = (struct pollfd){ .fd = pairs[i].server, .events = POLLIN };
		}
		if (poll(fds, (nfds_t)n, -1) < 0)
			continue;
		if (fds[0].revents & POLLIN) {
			int c = accept(lfd, NULL, NULL), s = c >= 0 ? connect_to() : -1, placed = 0;
			for (int i = 0; i < MAX_PAIRS && s >= 0 && !placed; i++) {
				if (pairs[i].client < 0 && pairs[i].server < 0) {
					pairs[i] = (struct pair){ c, s, 0 };
					placed = 1;
				}
			}
			if (!placed) {
				if (c >= 0)
					close(c);
				if (s >= 0)
					close(s);
			}
		}
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];
			short crev = fds[1 + 2 * i].revents, srev = fds[2 + 2 * i].revents;
			ssize_t r;

			if (p->server >= 0 && (srev & (POLLIN | POLLHUP | POLLERR))) {
				r = read(p->server, buf, sizeof(buf));
				if (r <= 0 || p->dying || write_all(p->client, buf, r) < 0) {
					close_pair(p);
					continue;
				}
			}
			if (p->client >= 0 && (crev & (POLLIN | POLLHUP | POLLERR))) {
				r = read(p->client, buf, sizeof(buf));
				if (r <= 0) {
					close_pair(p);
					continue;
				}
				if (strcmp(mode, "none") != 0 && has_commit(buf, r) && ++commits % every == 0 && cuts < max) {
					cuts++;
					fprintf(stderr, "tcpproxy: cut %d %s COMMIT\n", cuts, mode);
					if (strcmp(mode, "before") == 0) {
						close_pair(p);
						continue;
					}
					write_all(p->server, buf, r);
					close(p->client);
					p->client = -1;
					p->dying = 1;
					continue;
				}
				if (write_all(p->server, buf, r) < 0)
					close_pair(p);
			}
		}
	}
}
