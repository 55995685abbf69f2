/* Stands in for systemd's notification socket: binds a Unix datagram socket at PATH and prints each message it
 * receives on a line of its own (newlines inside a message become spaces), until SECONDS have passed.
 * Usage: notifysink PATH SECONDS */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[4096];
	time_t end;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: notifysink PATH SECONDS\n");
		return 64;
	}
	end = time(NULL) + atoi(argv[2]);
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("notifysink");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, 200) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		printf("%s\n", buf);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
