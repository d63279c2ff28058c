/* lineio.c - the NDJSON line reader (see lineio.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineio.h"
#include "out.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

#define LINEIO_CHUNK (256 * 1024)

void lineio_init_fd(struct lineio *lr, int fd, const char *name)
{
	memset(lr, 0, sizeof *lr);
	lr->fd = fd;
	lr->name = xstrdup(name);
	lr->cap = LINEIO_CHUNK;
	lr->buf = xmalloc(lr->cap);
	/* Standard input is a tool's input; other files are its own. */
	progress_init(&lr->own, false);
	lr->own.reader = true;
	lr->counting = lr->own.on && fd == 0;
}

int lineio_open(struct lineio *lr, const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0) {
		lineio_init_fd(lr, 0, "-");
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	lineio_init_fd(lr, fd, path);
	return 0;
}

void lineio_set_flush_hook(struct lineio *lr, struct out *o)
{
	lr->flush_hook = o;
	/* The input of that output, whatever file it is: counted when the
	 * out counts, for -v or for metrics (even when metrics are set on
	 * the out after this). */
	lr->counting = o->prog.on;
	lr->prog = &o->prog;
	o->prog.reader = true;
}

void lineio_set_metrics(struct lineio *lr, struct metrics *m)
{
	progress_set_metrics(&lr->own, m);
}

static bool counting(const struct lineio *lr)
{
	return lr->counting || (lr->prog ? lr->prog : &lr->own)->metrics;
}

static struct progress *progress_of(struct lineio *lr)
{
	return lr->prog ? lr->prog : &lr->own;
}

/* -v: one more line in; a reader of its own notes the watermarks. */
static void count_line(struct lineio *lr, const char *line, size_t len)
{
	struct progress *p = progress_of(lr);

	p->in++;
	if (!p->writer && rec_line_maybe_control(line, len)) {
		char why[REC_ERR_MAX];
		json_t *obj = rec_parse(line, len, why);
		struct ctl c;

		if (obj != NULL && rec_control(obj, &c, why) == CTL_WATERMARK)
			progress_watermark(p, c.ts);
		json_decref(obj);
	}
}

/* Makes room for another chunk: moves unread bytes to the front, grows
 * the buffer when one line fills it (lines have no length limit). */
static void make_room(struct lineio *lr)
{
	size_t unread = lr->end - lr->start;

	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, unread);
		lr->start = 0;
		lr->end = unread;
	}
	if (lr->cap - lr->end < LINEIO_CHUNK / 2) {
		lr->cap *= 2;
		lr->buf = xrealloc(lr->buf, lr->cap);
	}
}

/* One read(2) into the buffer.  1: got bytes or EOF, -1: error,
 * -2: interrupted. */
static int read_once(struct lineio *lr)
{
	ssize_t n;

	make_room(lr);
	n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
	if (n < 0) {
		if (errno == EINTR)
			return -2;
		lr->err = errno;
		return -1;
	}
	if (n == 0)
		lr->eof = true;
	lr->end += (size_t)n;
	/* Not at the end: a tool that ends now has nothing to report. */
	if (n > 0 && counting(lr))
		progress_tick(progress_of(lr));
	return 1;
}

/* A read that may block: first hands buffered output downstream. */
static int fill(struct lineio *lr)
{
	if (lr->flush_hook && !lr->eof) {
		struct pollfd p = { .fd = lr->fd, .events = POLLIN };

		if (poll(&p, 1, 0) == 0) {
			out_flush(lr->flush_hook);
			/* Before the wait: a scrape sees what was read. */
			if (counting(lr))
				progress_publish(progress_of(lr));
		}
	} else if (!lr->eof && counting(lr)) {
		progress_publish(progress_of(lr));
	}
	return read_once(lr);
}

int lineio_fill(struct lineio *lr)
{
	struct pollfd p = { .fd = lr->fd, .events = POLLIN };
	int rc;

	if (lineio_has_line(lr))
		return 1;
	rc = poll(&p, 1, 0);
	if (rc < 0)
		return errno == EINTR ? -2 : 0;
	if (rc == 0)
		return 0;
	rc = read_once(lr);
	if (rc < 0)
		return rc;
	return lineio_has_line(lr) ? 1 : 0;
}

/* Hands out buf[start..start+len), stripping '\r'; skips empty lines. */
static int take(struct lineio *lr, size_t len, size_t consumed,
    const char **line, size_t *outlen)
{
	char *p = lr->buf + lr->start;

	lr->start += consumed;
	lr->scan = 0;
	lr->offset += consumed;
	lr->lineno++;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	*line = p;
	*outlen = len;
	return 1;
}

static int read_line(struct lineio *lr, const char **line, size_t *len)
{
	for (;;) {
		char *from = lr->buf + lr->start + lr->scan;
		size_t avail = lr->end - lr->start - lr->scan;
		char *nl = memchr(from, '\n', avail);
		int r;

		if (nl != NULL) {
			size_t l = (size_t)(nl - (lr->buf + lr->start));

			take(lr, l, l + 1, line, len);
			if (*len == 0)
				continue;
			return 1;
		}
		lr->scan = lr->end - lr->start;
		if (lr->eof) {
			size_t l = lr->end - lr->start;

			if (l == 0)
				return 0;
			take(lr, l, l, line, len);
			if (*len == 0)
				continue;
			return 1;
		}
		r = fill(lr);
		if (r < 0)
			return r;
	}
}

int lineio_read(struct lineio *lr, const char **line, size_t *len)
{
	int r = read_line(lr, line, len);

	if (r == 1 && counting(lr))
		count_line(lr, *line, *len);
	return r;
}

bool lineio_has_line(struct lineio *lr)
{
	const char *from = lr->buf + lr->start, *nl;

	if (lr->eof)
		return true;
	nl = memchr(from + lr->scan, '\n', lr->end - lr->start - lr->scan);
	if (nl == NULL)
		return false;
	/* The next read finds it at once. */
	lr->scan = (size_t)(nl - from);
	return true;
}

int lineio_wait(struct lineio *lr, int timeout_ms)
{
	struct pollfd p = { .fd = lr->fd, .events = POLLIN };
	int r;

	if (lineio_has_line(lr))
		return 1;
	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? -2 : 1;
	return r > 0;
}

void lineio_close(struct lineio *lr)
{
	if (lr->fd > 0)
		close(lr->fd);
	free(lr->buf);
	free(lr->name);
	lr->buf = NULL;
	lr->name = NULL;
	lr->fd = -1;
}
