/* bf_sort.c - external sort in bounded memory (see bf_sort.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bf_sort.h"
#include "buf.h"
#include "diag.h"
#include "xalloc.h"
#include "banned.h"

#define CHUNK (4u << 20)        /* arena chunk for record bytes */
#define WBUF (1u << 20)         /* spill writer buffer */
#define RBUF (256u << 10)       /* run reader buffer, per run */
#define HDR 28                  /* ts, src, pos (8 each), len (4) */

struct ent {
	struct bf_key k;
	char *data;
	uint32_t len;
};

struct chunk {
	char *mem;
	size_t cap, used;
};

/* A sorted run being read: a temporary file, or the last run, which
 * stays in memory (fd < 0). */
struct src {
	int fd;
	char *buf;
	size_t start, end;
	struct buf rec;
	size_t mi;              /* memory run: next index */
	struct bf_key k;
	const char *data;
	size_t len;
};

struct merger {
	struct src *s;
	size_t n;
	struct bf_heap h;
	long pending;           /* source to advance before the next pop */
};

struct bf_sort {
	uint64_t budget;
	char *tmpdir;
	struct ent *e;
	size_t n, cap;
	struct chunk *chunks;
	size_t nchunks, capchunks, cur;
	uint64_t arena;
	int *runs;              /* spilled runs, descriptors at offset 0 */
	size_t nruns, capruns;
	struct merger m;
	bool merging;
	struct bf_sort_stats st;
};

struct bf_sort *bf_sort_new(uint64_t budget, const char *tmpdir)
{
	struct bf_sort *s = xcalloc(1, sizeof *s);

	s->budget = budget;
	s->tmpdir = xstrdup(tmpdir);
	return s;
}

static uint64_t mem_in_use(const struct bf_sort *s)
{
	return s->arena + (uint64_t)s->cap * sizeof(struct ent);
}

static void note_peak(struct bf_sort *s, uint64_t extra)
{
	if (mem_in_use(s) + extra > s->st.mem_peak)
		s->st.mem_peak = mem_in_use(s) + extra;
}

/* --- sorting a run in place (qsort may allocate a copy) ----------- */

static void sort_ents(struct ent *a, size_t n)
{
	while (n > 16) {
		struct bf_key p = a[n / 2].k;
		ptrdiff_t i = -1, j = (ptrdiff_t)n;
		struct ent t;

		for (;;) {
			do
				i++;
			while (bf_key_cmp(&a[i].k, &p) < 0);
			do
				j--;
			while (bf_key_cmp(&a[j].k, &p) > 0);
			if (i >= j)
				break;
			t = a[i];
			a[i] = a[j];
			a[j] = t;
		}
		/* [0, j] and [j+1, n): recurse into the smaller. */
		if ((size_t)j + 1 < n - (size_t)j - 1) {
			sort_ents(a, (size_t)j + 1);
			a += j + 1;
			n -= (size_t)j + 1;
		} else {
			sort_ents(a + j + 1, n - (size_t)j - 1);
			n = (size_t)j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct ent t = a[i];
		size_t j = i;

		for (; j > 0 && bf_key_cmp(&a[j - 1].k, &t.k) > 0; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

/* --- spilling ------------------------------------------------------ */

struct writer {
	struct bf_sort *s;
	int fd;
	char *buf;
	size_t len;
};

static void wflush(struct writer *w)
{
	size_t off = 0;

	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			diag_fatal("write error: temporary file in '%s': %s",
			    w->s->tmpdir, strerror(errno));
		off += (size_t)n;
	}
	w->s->st.spilled += w->len;
	w->len = 0;
}

static void wput(struct writer *w, const void *p, size_t n)
{
	while (n > 0) {
		size_t k = WBUF - w->len < n ? WBUF - w->len : n;

		memcpy(w->buf + w->len, p, k);
		w->len += k;
		p = (const char *)p + k;
		n -= k;
		if (w->len == WBUF)
			wflush(w);
	}
}

static void wrecord(struct writer *w, const struct bf_key *k,
    const char *data, size_t len)
{
	unsigned char h[HDR];
	uint32_t l = (uint32_t)len;

	memcpy(h, &k->ts, 8);
	memcpy(h + 8, &k->src, 8);
	memcpy(h + 16, &k->pos, 8);
	memcpy(h + 24, &l, 4);
	wput(w, h, HDR);
	wput(w, data, len);
}

static void writer_open(struct writer *w, struct bf_sort *s)
{
	size_t n = strlen(s->tmpdir) + 32;
	char *path = xmalloc(n);

	snprintf(path, n, "%s/fs-backfill-XXXXXX", s->tmpdir);
	w->s = s;
	w->fd = mkstemp(path);
	if (w->fd < 0)
		diag_fatal("cannot create a temporary file in '%s': %s",
		    s->tmpdir, strerror(errno));
	unlink(path);
	free(path);
	w->buf = xmalloc(WBUF);
	w->len = 0;
}

/* Flushes and rewinds; the run's descriptor is kept in s->runs. */
static void writer_close(struct writer *w)
{
	struct bf_sort *s = w->s;

	wflush(w);
	free(w->buf);
	if (lseek(w->fd, 0, SEEK_SET) < 0)
		diag_fatal("temporary file in '%s': %s", s->tmpdir,
		    strerror(errno));
	s->runs = xgrow(s->runs, &s->capruns, s->nruns + 1, sizeof *s->runs);
	s->runs[s->nruns++] = w->fd;
	s->st.runs++;
}

static void spill(struct bf_sort *s)
{
	struct writer w;

	note_peak(s, WBUF);
	sort_ents(s->e, s->n);
	writer_open(&w, s);
	for (size_t i = 0; i < s->n; i++)
		wrecord(&w, &s->e[i].k, s->e[i].data, s->e[i].len);
	writer_close(&w);
	s->n = 0;
	/* Keep the regular chunks for the next run; drop outsized ones. */
	for (size_t i = 0; i < s->nchunks; i++) {
		if (s->chunks[i].cap != CHUNK) {
			s->arena -= s->chunks[i].cap;
			free(s->chunks[i].mem);
			s->chunks[i--] = s->chunks[--s->nchunks];
			continue;
		}
		s->chunks[i].used = 0;
	}
	s->cur = 0;
}

/* Room for len bytes in the arena, spilling first when over budget. */
static char *arena_take(struct bf_sort *s, size_t len)
{
	struct chunk *c;

	while (s->cur < s->nchunks &&
	    s->chunks[s->cur].cap - s->chunks[s->cur].used < len)
		s->cur++;
	if (s->cur == s->nchunks) {
		size_t cap = len > CHUNK ? len : CHUNK;

		if (s->n > 0 && mem_in_use(s) + cap > s->budget) {
			spill(s);
			return arena_take(s, len);
		}
		s->chunks = xgrow(s->chunks, &s->capchunks, s->nchunks + 1,
		    sizeof *s->chunks);
		s->chunks[s->nchunks].mem = xmalloc(cap);
		s->chunks[s->nchunks].cap = cap;
		s->chunks[s->nchunks].used = 0;
		s->nchunks++;
		s->arena += cap;
	}
	c = &s->chunks[s->cur];
	c->used += len;
	return c->mem + c->used - len;
}

void bf_sort_add(struct bf_sort *s, const struct bf_key *k,
    const char *data, size_t len)
{
	struct ent *e;

	if (len > UINT32_MAX)
		diag_fatal("a line of %zu bytes is too long to sort", len);
	if (s->n == s->cap) {
		size_t more = s->cap ? s->cap : 4096;

		if (s->n > 0 && mem_in_use(s) + more * sizeof *s->e > s->budget)
			spill(s);
		else {
			s->e = xrealloc(s->e, (s->cap + more) * sizeof *s->e);
			s->cap += more;
		}
	}
	e = &s->e[s->n];
	e->data = arena_take(s, len);
	memcpy(e->data, data, len);
	e->k = *k;
	e->len = (uint32_t)len;
	s->n++;
	s->st.records++;
	note_peak(s, 0);
}

/* --- merging ------------------------------------------------------- */

static int rfill(struct src *r, size_t need)
{
	if (r->end - r->start >= need)
		return 1;
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
	while (r->end < need) {
		ssize_t n = read(r->fd, r->buf + r->end, RBUF - r->end);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			diag_fatal("read error: temporary file: %s",
			    strerror(errno));
		if (n == 0)
			return r->end == 0 ? 0 : -1;
		r->end += (size_t)n;
	}
	return 1;
}

/* Reads n bytes into dst, through the buffer. */
static void rget(struct src *r, void *dst, size_t n)
{
	char *d = dst;

	while (n > 0) {
		size_t k;

		if (rfill(r, 1) != 1)
			diag_fatal("temporary file ends early");
		k = r->end - r->start < n ? r->end - r->start : n;
		memcpy(d, r->buf + r->start, k);
		r->start += k;
		d += k;
		n -= k;
	}
}

/* Advances src to its next record: 1, or 0 at its end. */
static int src_next(struct bf_sort *s, struct src *r)
{
	unsigned char h[HDR];
	uint32_t len;
	int f;

	if (r->fd < 0) {
		if (r->mi == s->n)
			return 0;
		r->k = s->e[r->mi].k;
		r->data = s->e[r->mi].data;
		r->len = s->e[r->mi].len;
		r->mi++;
		return 1;
	}
	f = rfill(r, HDR);
	if (f == 0)
		return 0;
	if (f < 0)
		diag_fatal("temporary file ends early");
	memcpy(h, r->buf + r->start, HDR);
	r->start += HDR;
	memcpy(&r->k.ts, h, 8);
	memcpy(&r->k.src, h + 8, 8);
	memcpy(&r->k.pos, h + 16, 8);
	memcpy(&len, h + 24, 4);
	buf_reset(&r->rec);
	buf_reserve(&r->rec, len);
	rget(r, r->rec.data, len);
	r->rec.len = len;
	r->data = r->rec.data;
	r->len = len;
	return 1;
}

/* Merges the runs fds[0..n) and, when with_mem, the in-memory run. */
static void merger_start(struct bf_sort *s, struct merger *m, const int *fds,
    size_t n, bool with_mem)
{
	memset(m, 0, sizeof *m);
	m->s = xcalloc(n + 1, sizeof *m->s);
	for (size_t i = 0; i < n; i++) {
		m->s[i].fd = fds[i];
		m->s[i].buf = xmalloc(RBUF);
	}
	m->n = n;
	if (with_mem)
		m->s[m->n++].fd = -1;
	note_peak(s, (uint64_t)n * RBUF);
	for (size_t i = 0; i < m->n; i++)
		if (src_next(s, &m->s[i]))
			bf_heap_push(&m->h,
			    (struct bf_hent){ m->s[i].k, &m->s[i] });
	m->pending = -1;
}

static int merger_next(struct bf_sort *s, struct merger *m, struct bf_key *k,
    const char **data, size_t *len)
{
	struct src *r;

	if (m->pending >= 0) {
		r = &m->s[m->pending];
		if (src_next(s, r))
			bf_heap_replace_top(&m->h, (struct bf_hent){ r->k, r });
		else {
			struct bf_hent gone;

			bf_heap_pop(&m->h, &gone);
		}
		m->pending = -1;
	}
	if (m->h.n == 0)
		return 0;
	r = m->h.v[0].ptr;
	m->pending = r - m->s;
	*k = r->k;
	*data = r->data;
	*len = r->len;
	return 1;
}

static void merger_end(struct merger *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->s[i].fd >= 0)
			close(m->s[i].fd);
		free(m->s[i].buf);
		buf_free(&m->s[i].rec);
	}
	free(m->s);
	bf_heap_free(&m->h);
	memset(m, 0, sizeof *m);
}

void bf_sort_finish(struct bf_sort *s)
{
	struct bf_key k;
	const char *data;
	size_t len;

	sort_ents(s->e, s->n);
	/* Too many runs to read at once: merge the oldest into one. */
	while (s->nruns + 1 > BF_SORT_FANIN) {
		struct merger m;
		struct writer w;
		int *first = xmalloc(BF_SORT_FANIN * sizeof *first);

		memcpy(first, s->runs, BF_SORT_FANIN * sizeof *first);
		memmove(s->runs, s->runs + BF_SORT_FANIN,
		    (s->nruns - BF_SORT_FANIN) * sizeof *s->runs);
		s->nruns -= BF_SORT_FANIN;
		merger_start(s, &m, first, BF_SORT_FANIN, false);
		writer_open(&w, s);
		while (merger_next(s, &m, &k, &data, &len))
			wrecord(&w, &k, data, len);
		merger_end(&m);
		writer_close(&w);
		s->st.runs--;   /* counted once, when first spilled */
		s->st.passes++;
		free(first);
	}
	merger_start(s, &s->m, s->runs, s->nruns, true);
	s->nruns = 0;
	s->merging = true;
}

int bf_sort_next(struct bf_sort *s, struct bf_key *k, const char **data,
    size_t *len)
{
	if (!s->merging)
		return 0;
	return merger_next(s, &s->m, k, data, len);
}

void bf_sort_stats(const struct bf_sort *s, struct bf_sort_stats *st)
{
	*st = s->st;
}

void bf_sort_free(struct bf_sort *s)
{
	if (s == NULL)
		return;
	if (s->merging)
		merger_end(&s->m);
	for (size_t i = 0; i < s->nruns; i++)
		close(s->runs[i]);
	free(s->runs);
	for (size_t i = 0; i < s->nchunks; i++)
		free(s->chunks[i].mem);
	free(s->chunks);
	free(s->e);
	free(s->tmpdir);
	free(s);
}
