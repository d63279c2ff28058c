/* window_session.c - the open session windows of a run
 * (window_session.h). */
#include <stdlib.h>
#include <string.h>

#include "window_emit.h"
#include "window_session.h"
#include "xalloc.h"
#include "banned.h"

void win_session_arm(struct win_run *s, uint32_t id)
{
	struct win_skey *k = &s->sk[id];
	int64_t t;

	if (k->n == 0)
		return;
	t = k->s[0].end + s->o->lateness;
	if (t < k->armed) {
		k->armed = t;
		timerheap_push(&s->timers, t, id);
	}
}

static void emit_session(struct win_run *s, struct win_session *ss)
{
	const char *p = ss->lines.data, *end = p + ss->lines.len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		win_emit_spliced(s, p, (size_t)(nl - p), ss->start, ss->end);
		p = nl + 1;
	}
	buf_free(&ss->lines);
	s->open_sessions--;
}

struct win_skey *win_skey_for(struct win_run *s, uint32_t id,
    bool added)
{
	if (added) {
		s->sk = xgrow(s->sk, &s->cap_sk, (size_t)id + 1, sizeof *s->sk);
		memset(&s->sk[id], 0, sizeof s->sk[id]);
		s->sk[id].armed = INT64_MAX;
	}
	return &s->sk[id];
}

void win_session_add(struct win_run *s, uint32_t id, int64_t t,
    const char *line, size_t len)
{
	struct win_skey *k = &s->sk[id];
	struct win_session nw = { t, t + s->o->w.gap, BUF_INIT, 0 };
	size_t i = 0, j;

	while (i < k->n && k->s[i].end < nw.start)
		i++;
	for (j = i; j < k->n && k->s[j].start <= nw.end; j++) {
		struct win_session *m = &k->s[j];

		if (m->start < nw.start)
			nw.start = m->start;
		if (m->end > nw.end)
			nw.end = m->end;
		if (j == i) {
			/* The first session's lines become the merged one's:
			 * a record extending a session appends to it rather
			 * than copying it (quadratic in the session's size). */
			nw.lines = m->lines;
			m->lines = (struct buf)BUF_INIT;
		} else {
			buf_append(&nw.lines, m->lines.data, m->lines.len);
			buf_free(&m->lines);
		}
		nw.n += m->n;
		s->open_sessions--;
	}
	buf_append(&nw.lines, line, len);
	buf_appendc(&nw.lines, '\n');
	nw.n++;
	/* Replace k->s[i..j) by nw. */
	if (j == i) {
		k->s = xgrow(k->s, &k->cap, k->n + 1, sizeof *k->s);
		memmove(&k->s[i + 1], &k->s[i], (k->n - i) * sizeof *k->s);
		k->n++;
	} else if (j > i + 1) {
		memmove(&k->s[i + 1], &k->s[j], (k->n - j) * sizeof *k->s);
		k->n -= j - i - 1;
	}
	k->s[i] = nw;
	if (++s->open_sessions > s->peak_sessions)
		s->peak_sessions = s->open_sessions;
	win_session_arm(s, id);
}

/* Writes key id's sessions that end (plus the lateness) by t. */
static void session_close_key(struct win_run *s, uint32_t id, int64_t t)
{
	struct win_skey *k = &s->sk[id];
	size_t n = 0;

	while (n < k->n && k->s[n].end + s->o->lateness <= t)
		emit_session(s, &k->s[n++]);
	memmove(k->s, &k->s[n], (k->n - n) * sizeof *k->s);
	k->n -= n;
	if (k->n == 0) {
		free(k->s);
		memset(k, 0, sizeof *k);
		k->armed = INT64_MAX;
		keytab_remove(&s->keys, id);
	} else {
		win_session_arm(s, id);
	}
}

void win_sessions_close(struct win_run *s, int64_t upto)
{
	struct timer tm;

	while (timerheap_pop(&s->timers, upto, &tm)) {
		int64_t t = tm.t;

		s->ndue = 0;
		do {
			if (tm.t != s->sk[tm.id].armed)
				continue;       /* stale */
			s->sk[tm.id].armed = INT64_MAX;
			s->due = xgrow(s->due, &s->cap_due, s->ndue + 1,
			    sizeof *s->due);
			s->due[s->ndue++] = tm.id;
		} while (timerheap_pop(&s->timers, t, &tm));
		keytab_sort_ids(&s->keys, s->due, s->ndue);
		for (size_t i = 0; i < s->ndue; i++)
			session_close_key(s, s->due[i], t);
	}
}

void win_sessions_clear(struct win_run *s)
{
	for (size_t i = 0; i < s->keys.nids; i++) {
		if (!keytab_live(&s->keys, i))
			continue;
		for (size_t j = 0; j < s->sk[i].n; j++)
			buf_free(&s->sk[i].s[j].lines);
		free(s->sk[i].s);
	}
	free(s->sk);
	s->sk = NULL;
	s->cap_sk = 0;
	keytab_free(&s->keys);
	keytab_init(&s->keys);
	timerheap_free(&s->timers);
	s->open_sessions = 0;
}
