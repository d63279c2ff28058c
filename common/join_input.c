/*
 * join_input.c - one non-blocking read into a line reader (join_input.h).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "join_input.h"
#include "xalloc.h"
#include "banned.h"

#define JINPUT_CHUNK 65536

/* Moves unread bytes to the front; grows when less than half a chunk is
 * free (a long line), as lineio.c does. */
static void
jinput_room(struct lineio *lr)
{
	size_t unread = lr->end - lr->start;

	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, unread);
		lr->start = 0;
		lr->end = unread;
	}
	if (lr->cap - lr->end < JINPUT_CHUNK / 2) {
		lr->cap = lr->cap ? lr->cap * 2 : JINPUT_CHUNK;
		lr->buf = xrealloc(lr->buf, lr->cap);
	}
}

int
jinput_fill(struct lineio *lr)
{
	struct pollfd p = { .fd = lr->fd, .events = POLLIN };
	ssize_t n;
	int rc;

	if (lineio_has_line(lr))
		return 1;
	rc = poll(&p, 1, 0);
	if (rc < 0)
		return errno == EINTR ? -2 : 0;
	if (rc == 0)
		return 0;
	jinput_room(lr);
	n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
	if (n < 0) {
		if (errno == EINTR)
			return -2;
		if (errno == EAGAIN)
			return 0;
		lr->err = errno;
		return -1;
	}
	if (n == 0)
		lr->eof = true;
	lr->end += (size_t)n;
	return lineio_has_line(lr) ? 1 : 0;
}
