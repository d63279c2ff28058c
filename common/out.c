/* out.c - buffered, checked output (see out.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "out.h"
#include "xalloc.h"
#include "banned.h"

#define OUT_CAP (64 * 1024)

void out_init(struct out *o, int fd, const char *name)
{
	o->fd = fd;
	o->name = name;
	o->cap = OUT_CAP;
	o->buf = xmalloc(o->cap);
	o->len = 0;
}

/* A reader that went away is the normal end of "fs-x | head": quiet. */
static _Noreturn void reader_gone(void)
{
	exit(0);
}

static void write_all(struct out *o, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(o->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				reader_gone();
			diag_fatal("write error: %s: %s", o->name, strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
}

void out_flush(struct out *o)
{
	if (o->len == 0)
		return;
	write_all(o, o->buf, o->len);
	o->len = 0;
}

void out_write(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		out_flush(o);
		if (n >= o->cap) {
			write_all(o, p, n);
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void out_line(struct out *o, const void *p, size_t n)
{
	if (o->len + n + 1 <= o->cap) {
		memcpy(o->buf + o->len, p, n);
		o->buf[o->len + n] = '\n';
		o->len += n + 1;
		return;
	}
	out_write(o, p, n);
	out_write(o, "\n", 1);
}

void out_close(struct out *o)
{
	out_flush(o);
	if (close(o->fd) < 0 && errno != EINTR)
		diag_fatal("write error: %s: %s", o->name, strerror(errno));
	free(o->buf);
	o->buf = NULL;
	o->fd = -1;
}
