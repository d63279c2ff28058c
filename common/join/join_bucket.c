/*
 * join_bucket.c - held records and the buckets that hold them, shared
 * by the three kinds (join_state.h).
 *
 * A record held in the state is its line, copied (jline_copy(), freed by
 * whoever drops the record); a bucket owns its key and its records'
 * arrays, and goes on the join's free list when emptied.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "join_state.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

int64_t join_sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

char *jline_copy(const char *line, size_t len)
{
	char *p = xmalloc(len + 1);

	memcpy(p, line, len);
	p[len] = '\0';
	return p;
}

/* The held record as an object again (a new reference).  It parsed when
 * it arrived, so it parses now. */
json_t *jline_parse(const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	json_t *o = rec_parse(line, len, why);

	if (o == NULL)
		diag_fatal("held record no longer parses: %s", why);
	return o;
}

json_t *jside_parse(struct join *j, int s, const char *line, size_t len)
{
	char why[REC_ERR_MAX];
	json_t *o;

	if (j->hp[s] == NULL)
		return jline_parse(line, len);
	o = recproj_parse(j->hp[s], line, len, why);
	if (o == NULL)
		diag_fatal("held record no longer parses: %s", why);
	return o;
}

json_t *jrec_parse(struct join *j, int s, const struct jrec *r)
{
	return jside_parse(j, s, r->line, r->len);
}

/* Most keys hold a record or two at a time: start small. */
void jvec_reserve(struct jvec *v, size_t need)
{
	if (need <= v->cap)
		return;
	size_t c = v->cap ? v->cap * 2 : 2;
	while (c < need)
		c *= 2;
	v->v = xrealloc(v->v, c * sizeof *v->v);
	v->cap = c;
}

void jvec_push(struct jvec *v, struct jrec r)
{
	jvec_reserve(v, v->n + 1);
	v->v[v->n++] = r;
}

/*
 * Buckets come and go with every key that is briefly active, so emptied
 * ones are kept on a free list with their buffers instead of going back
 * to malloc (glibc consolidates its heap on such churn).
 */
struct bucket *jbucket_get(struct join *j, const char *key, size_t klen,
    bool create)
{
	struct hashtab_slot *slot = create ? hashtab_put(&j->map, key, klen) :
	    hashtab_get(&j->map, key, klen);

	if (slot == NULL)
		return NULL;
	if (slot->val == NULL) {
		struct bucket *b = j->free_buckets;
		if (b)
			j->free_buckets = b->next_free;
		else
			b = xcalloc(1, sizeof *b);
		if (b->kcap < klen + 1) {
			b->kcap = klen + 1 > 32 ? klen + 1 : 32;
			free(b->key);
			b->key = xmalloc(b->kcap);
		}
		memcpy(b->key, key, klen);
		b->key[klen] = '\0';
		b->klen = klen;
		b->keylen = klen;
		b->sched = INT64_MAX;
		b->refs = 0;
		b->ws = b->we = 0;
		b->next_free = NULL;
		slot->val = b;
		slot->key = b->key;
	}
	return slot->val;
}

void jbucket_maybe_free(struct join *j, struct bucket *b)
{
	if (b->side[0].n || b->side[1].n || b->refs)
		return;
	hashtab_del(&j->map, b->key, b->klen);
	b->next_free = j->free_buckets;
	j->free_buckets = b;
}

void jbucket_destroy(struct bucket *b)
{
	free(b->side[0].v);
	free(b->side[1].v);
	free(b->key);
	free(b);
}

void jbucket_schedule(struct join *j, struct bucket *b, int s, int64_t t,
    uint64_t seq)
{
	if (t >= b->sched)
		return;
	b->sched = t;
	b->refs++;
	jtimers_push(&j->timers, s, t, seq, b);
}

/* Has the watermark passed t?  At +infinity everything has. */
bool join_passed(const struct join *j, int64_t t)
{
	return t < j->W || j->W == INT64_MAX;
}

void join_held_add(struct join *j)
{
	if (++j->st.held > j->st.peak_held)
		j->st.peak_held = j->st.held;
}
