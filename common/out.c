/* out.c - buffered, checked output (see out.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "out.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

#define OUT_CAP (64 * 1024)

/* --data-only: a setting of the process, made once (see out.h). */
static bool data_only_asked;

void out_set_data_only(bool on)
{
	data_only_asked = on;
}

void out_init(struct out *o, int fd, const char *name)
{
	bool std = fd == STDOUT_FILENO;

	o->fd = fd;
	o->name = name;
	o->cap = OUT_CAP;
	o->buf = xmalloc(o->cap);
	o->len = 0;
	o->join = (struct buf)BUF_INIT;
	/* A person reads a terminal; a stage reads a pipe or a file. */
	o->data_only = std && (data_only_asked || isatty(fd));
	progress_init(&o->prog, true);
	o->prog.on = o->prog.on && std;
	o->inspect = o->data_only || o->prog.on;
	o->gate = NULL;
	o->gate_ctx = NULL;
}

void out_set_gate(struct out *o, void (*gate)(void *ctx), void *ctx)
{
	o->gate = gate;
	o->gate_ctx = ctx;
}

/* Opens the gate, if any, before a write to the descriptor. */
static void pass_gate(struct out *o)
{
	void (*gate)(void *) = o->gate;

	if (gate == NULL)
		return;
	o->gate = NULL;
	gate(o->gate_ctx);
}

void out_set_metrics(struct out *o, struct metrics *m)
{
	progress_set_metrics(&o->prog, m);
	o->inspect = o->data_only || progress_counting(&o->prog);
}

void out_set_progress(struct out *o, bool on)
{
	o->prog.on = on && diag_verbosity() >= DIAG_PROGRESS &&
	    o->fd == STDOUT_FILENO;
	o->inspect = o->data_only || progress_counting(&o->prog);
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
	progress_tick(&o->prog);
}

void out_flush(struct out *o)
{
	pass_gate(o);
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

/*
 * Whether a line goes out when dropping or counting is on: a control
 * record is dropped under data_only, and its watermark noted.  The
 * quick test spares data lines the parse.
 */
static bool keep_line(struct out *o, const char *p, size_t n)
{
	if (rec_line_maybe_control(p, n)) {
		char why[REC_ERR_MAX];
		json_t *obj = rec_parse(p, n, why);
		struct ctl c;
		enum ctl_kind k = CTL_NONE;

		if (obj != NULL) {
			k = rec_control(obj, &c, why);
			json_decref(obj);
		}
		if (k == CTL_WATERMARK)
			progress_watermark(&o->prog, c.ts);
		if (k != CTL_NONE && o->data_only)
			return false;
	}
	o->prog.out++;
	return true;
}

static void put_line(struct out *o, const void *p, size_t n)
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

void out_line(struct out *o, const void *p, size_t n)
{
	if (o->inspect && !keep_line(o, p, n))
		return;
	put_line(o, p, n);
}

void out_line_join(struct out *o, const void *p, size_t n, const void *q,
    size_t m)
{
	if (o->inspect) {
		buf_reset(&o->join);
		buf_append(&o->join, p, n);
		buf_append(&o->join, q, m);
		out_line(o, o->join.data, o->join.len);
		return;
	}
	if (o->len + n + m + 1 <= o->cap) {
		memcpy(o->buf + o->len, p, n);
		memcpy(o->buf + o->len + n, q, m);
		o->buf[o->len + n + m] = '\n';
		o->len += n + m + 1;
		return;
	}
	out_write(o, p, n);
	out_write(o, q, m);
	out_write(o, "\n", 1);
}

void out_control_line(struct out *o, const void *p, size_t n)
{
	if (o->data_only)
		return;
	o->prog.out++;
	put_line(o, p, n);
}

void out_close(struct out *o)
{
	out_flush(o);
	progress_publish(&o->prog);
	if (close(o->fd) < 0 && errno != EINTR)
		diag_fatal("write error: %s: %s", o->name, strerror(errno));
	free(o->buf);
	o->buf = NULL;
	buf_free(&o->join);
	o->fd = -1;
}
