/*
 * recproj.cc - records parsed by simdjson, keeping only the members a
 * stage reads (see recproj.h).  The one C++ file of fs: simdjson is a
 * C++ library, and this file is its only user.
 */
#include <simdjson.h>

#include <cstring>
#include <new>

extern "C" {
#include "diag.h"
#include "path.h"
#include "rec.h"
#include "xalloc.h"
}
#include "recproj.h"

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

struct recproj {
	simdjson::dom::parser parser;
	const struct path **keep;       /* the kept paths, no two alike */
	size_t nkeep, capkeep;
	struct path *owned;             /* recproj_keep_name()'s paths */
	size_t nowned, capowned;
	char *pad;                      /* the line, with simdjson's padding */
	size_t padcap;
	/* One-part kept paths, matched in one pass over the record's
	 * members: their name lengths, and what the pass found. */
	size_t *len0;
	unsigned char *first0;          /* their first bytes (0 if empty) */
	element *found;
	bool *has;
	size_t ninfo;                   /* entries valid in the four above */
	bool flat;                      /* every kept path is one part */
	/* The last projection, reused when the caller let it go (refcount
	 * back to 1) and the same kept members are present: its scalars are
	 * set in place, so a line costs no allocation (habit 18). */
	json_t *last;
	bool *had;                      /* which kept members last holds */
	json_t **cur;                   /* and their values in it */
	/* The quick scan (rec_quick_members) of flat projections. */
	struct rec_want *want;
	struct rec_span *span;
	bool quick;                     /* recproj_set_quick() */
	/* The quick scan of other projections: the distinct first parts
	 * (twant, tspan); under top t, the distinct second parts of the
	 * paths below it, swant[soff[t] ..] (scnt[t] of them, found in
	 * sspan); per kept path, its first part's index (tidx) and its
	 * second's under it (sidx). */
	struct rec_want *twant, *swant;
	struct rec_span *tspan, *sspan;
	size_t ntop, *soff, *scnt, *tidx, *sidx;
	/* No kept path lies inside another: the objects on the way to the
	 * kept values are the projection's own, so it may be reused. */
	bool reuse;
};

struct recproj *recproj_new(void)
{
	struct recproj *rp = new (std::nothrow) recproj();

	if (rp == nullptr)
		diag_fatal("out of memory");
	rp->keep = nullptr;
	rp->nkeep = rp->capkeep = 0;
	rp->owned = nullptr;
	rp->nowned = rp->capowned = 0;
	rp->pad = nullptr;
	rp->padcap = 0;
	rp->len0 = nullptr;
	rp->first0 = nullptr;
	rp->found = nullptr;
	rp->has = nullptr;
	rp->ninfo = 0;
	rp->flat = false;
	rp->last = nullptr;
	rp->had = nullptr;
	rp->cur = nullptr;
	rp->want = nullptr;
	rp->span = nullptr;
	rp->quick = true;
	rp->twant = rp->swant = nullptr;
	rp->tspan = rp->sspan = nullptr;
	rp->ntop = 0;
	rp->soff = rp->scnt = rp->tidx = rp->sidx = nullptr;
	rp->reuse = false;
	return rp;
}

/* Is a path with this text kept already?  Tools keep the same member
 * under several roles (fs-agg's window end and its option's default). */
static bool kept_already(const struct recproj *rp, const char *text)
{
	for (size_t i = 0; i < rp->nkeep; i++)
		if (strcmp(rp->keep[i]->text, text) == 0)
			return true;
	for (size_t i = 0; i < rp->nowned; i++)
		if (strcmp(rp->owned[i].text, text) == 0)
			return true;
	return false;
}

void recproj_keep(struct recproj *rp, const struct path *p)
{
	if (kept_already(rp, p->text))
		return;
	rp->keep = static_cast<const struct path **>(xgrow(rp->keep,
	    &rp->capkeep, rp->nkeep + 1, sizeof *rp->keep));
	rp->keep[rp->nkeep++] = p;
}

void recproj_keep_name(struct recproj *rp, const char *name)
{
	struct path p;

	/* A name is one part: a dot in it is part of the name.  The text
	 * is written as a path would be, so kept_already() compares alike. */
	if (strchr(name, '.') == nullptr && strchr(name, '\\') == nullptr &&
	    kept_already(rp, name))
		return;
	p.text = xstrdup(name);
	p.parts = static_cast<char **>(xmalloc(sizeof *p.parts));
	p.parts[0] = xstrdup(name);
	p.n = 1;
	p.why_missing = xstrdup(name);
	p.why_unparsable = xstrdup(name);
	rp->owned = static_cast<struct path *>(xgrow(rp->owned,
	    &rp->capowned, rp->nowned + 1, sizeof *rp->owned));
	rp->owned[rp->nowned++] = p;
}

void recproj_set_quick(struct recproj *rp, bool on)
{
	rp->quick = on;
}

json_t *recproj_member(const struct recproj *rp, const json_t *obj,
    const char *name)
{
	/* last, while rp holds it, is the flat projection has[] and cur[]
	 * describe (both paths that build it set them). */
	if (obj == rp->last && rp->flat && name != nullptr) {
		size_t n = strlen(name);

		for (size_t i = 0; i < rp->ninfo; i++)
			if (rp->len0[i] == n &&
			    memcmp(rp->want[i].name, name, n) == 0)
				return rp->has[i] ? rp->cur[i] : nullptr;
	}
	return json_object_get(obj, name);
}

static const struct path *kept(const struct recproj *rp, size_t i);
static void prepare(struct recproj *rp);

static bool same_parts(const struct path *a, const struct path *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->parts[i], b->parts[i]) != 0)
			return false;
	return true;
}

int recproj_slot(struct recproj *rp, const struct path *p)
{
	prepare(rp);
	for (size_t i = 0; i < rp->ninfo; i++)
		if (same_parts(kept(rp, i), p))
			return int(i);
	return -1;
}

int recproj_slot_name(struct recproj *rp, const char *name)
{
	char *part = const_cast<char *>(name);
	struct path p = { const_cast<char *>(name), &part, 1, nullptr,
	    nullptr };

	return recproj_slot(rp, &p);
}

json_t *recproj_at(const struct recproj *rp, const json_t *obj, int i)
{
	if (i < 0)
		return nullptr;
	/* has[] and cur[] describe last, whichever way it was made. */
	if (obj == rp->last)
		return rp->has[i] ? rp->cur[i] : nullptr;
	return path_get(kept(rp, size_t(i)), obj);
}

static void free_nested(struct recproj *rp)
{
	free(rp->twant);
	free(rp->swant);
	free(rp->tspan);
	free(rp->sspan);
	free(rp->soff);
	free(rp->scnt);
	free(rp->tidx);
	free(rp->sidx);
}

void recproj_free(struct recproj *rp)
{
	if (rp == nullptr)
		return;
	for (size_t i = 0; i < rp->nowned; i++)
		path_free(&rp->owned[i]);
	free(rp->owned);
	free(rp->keep);
	free(rp->pad);
	free(rp->len0);
	free(rp->first0);
	delete[] rp->found;
	free(rp->has);
	free(rp->had);
	free(rp->cur);
	free(rp->want);
	free(rp->span);
	free_nested(rp);
	json_decref(rp->last);
	delete rp;
}

static const struct path *kept(const struct recproj *rp, size_t i)
{
	return i < rp->nkeep ? rp->keep[i] : &rp->owned[i - rp->nkeep];
}

/* The value at p, the last of duplicate members as jansson keeps it. */
static bool lookup(element e, const struct path *p, element *out)
{
	for (size_t i = 0; i < p->n; i++) {
		object o;
		bool found = false;
		size_t plen = strlen(p->parts[i]);

		if (e.get(o) != simdjson::SUCCESS)
			return false;
		for (auto field : o) {
			if (field.key.size() == plen &&
			    memcmp(field.key.data(), p->parts[i], plen) == 0) {
				e = field.value;
				found = true;
			}
		}
		if (!found)
			return false;
	}
	*out = e;
	return true;
}

static bool has_nul(std::string_view s)
{
	return memchr(s.data(), '\0', s.size()) != nullptr;
}

/* Converts to jansson; NULL where jansson would have refused the value
 * (the caller then lets rec_parse() say why). */
static json_t *to_json(element e)
{
	switch (e.type()) {
	case element_type::OBJECT: {
		json_t *o = json_object();

		for (auto field : object(e)) {
			json_t *v = has_nul(field.key) ? nullptr :
			    to_json(field.value);

			if (v == nullptr) {
				json_decref(o);
				return nullptr;
			}
			json_object_setn_new_nocheck(o, field.key.data(),
			    field.key.size(), v);
		}
		return o;
	}
	case element_type::ARRAY: {
		json_t *a = json_array();

		for (element x : simdjson::dom::array(e)) {
			json_t *v = to_json(x);

			if (v == nullptr) {
				json_decref(a);
				return nullptr;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	case element_type::INT64:
		return json_integer(int64_t(e));
	case element_type::UINT64:
		return nullptr;         /* above INT64_MAX: jansson refuses */
	case element_type::DOUBLE:
		return json_real(double(e));
	case element_type::STRING: {
		std::string_view s(e);

		return has_nul(s) ? nullptr :
		    json_stringn_nocheck(s.data(), s.size());
	}
	case element_type::BOOL:
		return json_boolean(bool(e));
	case element_type::NULL_VALUE:
		return json_null();
	}
	return nullptr;
}

/* The index of name in w[0..*n), appended when absent. */
static size_t want_index(struct rec_want *w, size_t *n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < *n; i++)
		if (w[i].len == len && memcmp(w[i].name, name, len) == 0)
			return i;
	w[*n].name = name;
	w[*n].len = len;
	return (*n)++;
}

/* Does path a lie inside path b (b a proper prefix of a)? */
static bool inside(const struct path *a, const struct path *b)
{
	if (b->n >= a->n)
		return false;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(a->parts[i], b->parts[i]) != 0)
			return false;
	return true;
}

/* The tables of the nested quick scan (see struct recproj). */
static void prepare_nested(struct recproj *rp)
{
	size_t n = rp->ninfo, m = n ? n : 1, ns = 0;

	free_nested(rp);
	rp->twant = static_cast<struct rec_want *>(xmalloc(m *
	    sizeof *rp->twant));
	rp->swant = static_cast<struct rec_want *>(xmalloc(m *
	    sizeof *rp->swant));
	rp->tspan = static_cast<struct rec_span *>(xmalloc(m *
	    sizeof *rp->tspan));
	rp->sspan = static_cast<struct rec_span *>(xmalloc(m *
	    sizeof *rp->sspan));
	rp->soff = static_cast<size_t *>(xcalloc(m, sizeof *rp->soff));
	rp->scnt = static_cast<size_t *>(xcalloc(m, sizeof *rp->scnt));
	rp->tidx = static_cast<size_t *>(xcalloc(m, sizeof *rp->tidx));
	rp->sidx = static_cast<size_t *>(xcalloc(m, sizeof *rp->sidx));
	rp->ntop = 0;
	rp->reuse = true;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (j != i && inside(kept(rp, j), kept(rp, i)))
				rp->reuse = false;
	for (size_t i = 0; i < n; i++)
		rp->tidx[i] = want_index(rp->twant, &rp->ntop,
		    kept(rp, i)->parts[0]);
	/* Each top's second parts together, top after top. */
	for (size_t t = 0; t < rp->ntop; t++) {
		rp->soff[t] = ns;
		for (size_t i = 0; i < n; i++) {
			const struct path *p = kept(rp, i);

			if (rp->tidx[i] == t && p->n > 1)
				rp->sidx[i] = want_index(rp->swant + ns,
				    &rp->scnt[t], p->parts[1]);
		}
		ns += rp->scnt[t];
	}
}

/* Sizes the per-path arrays when paths were kept since the last call. */
static void prepare(struct recproj *rp)
{
	size_t n = rp->nkeep + rp->nowned;

	if (rp->ninfo == n && rp->len0 != nullptr)
		return;
	free(rp->len0);
	free(rp->first0);
	delete[] rp->found;
	free(rp->has);
	free(rp->had);
	free(rp->cur);
	free(rp->want);
	free(rp->span);
	json_decref(rp->last);
	rp->last = nullptr;
	rp->len0 = static_cast<size_t *>(xmalloc((n ? n : 1) *
	    sizeof *rp->len0));
	rp->first0 = static_cast<unsigned char *>(xmalloc(n ? n : 1));
	rp->found = new (std::nothrow) element[n ? n : 1];
	if (rp->found == nullptr)
		diag_fatal("out of memory");
	rp->has = static_cast<bool *>(xmalloc(n ? n : 1));
	rp->had = static_cast<bool *>(xmalloc(n ? n : 1));
	rp->cur = static_cast<json_t **>(xcalloc(n ? n : 1, sizeof *rp->cur));
	rp->want = static_cast<struct rec_want *>(xmalloc((n ? n : 1) *
	    sizeof *rp->want));
	rp->span = static_cast<struct rec_span *>(xmalloc((n ? n : 1) *
	    sizeof *rp->span));
	rp->flat = true;
	for (size_t i = 0; i < n; i++) {
		const struct path *p = kept(rp, i);

		rp->len0[i] = strlen(p->parts[0]);
		rp->first0[i] = (unsigned char)p->parts[0][0];
		rp->want[i].name = p->parts[0];
		rp->want[i].len = rp->len0[i];
		if (p->n != 1)
			rp->flat = false;
	}
	rp->ninfo = n;
	prepare_nested(rp);
}

/* One pass over the top-level members for the one-part paths (the last
 * of duplicates wins, as in jansson). */
static void match_top(struct recproj *rp, object root)
{
	size_t n = rp->ninfo;

	memset(rp->has, 0, n);
	for (auto field : root) {
		std::string_view k = field.key;
		unsigned char k0 = k.empty() ? 0 : (unsigned char)k[0];

		for (size_t i = 0; i < n; i++) {
			const struct path *p;

			if (k.size() != rp->len0[i] || k0 != rp->first0[i])
				continue;
			p = kept(rp, i);
			if (p->n == 1 && memcmp(k.data(), p->parts[0],
			    rp->len0[i]) == 0) {
				rp->found[i] = field.value;
				rp->has[i] = true;
			}
		}
	}
}

/* Sets the member name of o to e's value, in place when the value there
 * is a scalar of the same type nobody else holds.  -1 where jansson
 * would have refused the value. */
static int set_member(json_t *o, const char *name, size_t nlen, element e)
{
	json_t *cur = json_object_getn(o, name, nlen), *j;

	if (cur != nullptr && cur->refcount == 1) {
		switch (e.type()) {
		case element_type::INT64:
			if (json_is_integer(cur))
				return json_integer_set(cur, int64_t(e));
			break;
		case element_type::DOUBLE:
			if (json_is_real(cur))
				return json_real_set(cur, double(e));
			break;
		case element_type::STRING:
			if (json_is_string(cur)) {
				std::string_view sv(e);

				return has_nul(sv) ? -1 : json_string_setn_nocheck(
				    cur, sv.data(), sv.size());
			}
			break;
		default:
			break;
		}
	}
	j = to_json(e);
	return j == nullptr ? -1 : json_object_setn_new_nocheck(o, name, nlen,
	    j);
}

/* The object a flat projection fills: the last one when the caller
 * gave it back (nobody else holds it) and the same members are present
 * as in it (so the order of members is what a new object would have),
 * else a new one, which becomes the last.  *same says which. */
static json_t *flat_object(struct recproj *rp, bool *same)
{
	json_t *o = rp->last;

	*same = o != nullptr && o->refcount == 1 &&
	    memcmp(rp->has, rp->had, rp->ninfo) == 0;
	if (!*same) {
		json_decref(o);
		o = rp->last = json_object();
		memcpy(rp->had, rp->has, rp->ninfo);
	}
	return o;
}

/* project() when every kept path is one part: the last projection
 * updated in place, or a new one (flat_object()).  NULL to fall
 * back. */
static json_t *project_flat(struct recproj *rp)
{
	bool same;
	json_t *o = flat_object(rp, &same);

	for (size_t i = 0; i < rp->ninfo; i++) {
		if (!rp->has[i])
			continue;
		if (set_member(o, kept(rp, i)->parts[0], rp->len0[i],
		    rp->found[i]) < 0) {
			json_decref(o);
			rp->last = nullptr;
			return nullptr;
		}
		rp->cur[i] = json_object_getn(o, kept(rp, i)->parts[0],
		    rp->len0[i]);
	}
	return json_incref(o);
}

/* Eight ASCII digits at p as a number, in a few multiplications instead
 * of eight dependent steps (the timestamps fs-agg reads have 13); false
 * when they are not all digits. */
static inline bool eight_digits(const char *p, uint64_t *out)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	if (((v + 0x4646464646464646) | (v - 0x3030303030303030)) &
	    0x8080808080808080)
		return false;
	v -= 0x3030303030303030;
	v = v * 10 + (v >> 8);
	*out = ((v & 0x000000ff000000ff) * (100 + (1000000ULL << 32)) +
	    ((v >> 16) & 0x000000ff000000ff) * (1 + (10000ULL << 32))) >> 32;
	return true;
}

/* A real the quick scan found: at most 100 digits and a 2-digit
 * exponent (the scan made sure), so strtod rounds as simdjson does and
 * cannot overflow. */
static json_t *quick_real(json_t *cur, bool own, const struct rec_span *v)
{
	char tmp[128];
	double d;

	if (v->n >= sizeof tmp)
		return nullptr;
	memcpy(tmp, v->p, v->n);
	tmp[v->n] = '\0';
	d = strtod(tmp, nullptr);
	if (own && json_is_real(cur)) {
		json_real_set(cur, d);
		return cur;
	}
	return json_real(d);
}

/*
 * A scalar the quick scan found, as jansson would read it: a new value,
 * or cur set in place when it is a value of the same type nobody else
 * holds (then cur itself comes back).  NULL for what the quick path
 * leaves to simdjson: containers and strings with escapes.
 */
static json_t *quick_value(json_t *cur, const struct rec_span *v)
{
	const char *p = v->p, *s = p + 1;
	size_t n = v->n - 2, i;
	bool own = cur != nullptr && cur->refcount == 1;

	switch (p[0]) {
	case '"':
		for (i = 0; i < n; i++)
			if (s[i] == '\\')
				return nullptr;
		if (own && json_is_string(cur)) {
			const char *c = json_string_value(cur);

			/* The same text (a key seen again) costs no copy. */
			if (json_string_length(cur) == n) {
				for (i = 0; i < n && c[i] == s[i]; i++)
					;
				if (i == n)
					return cur;
			}
			return json_string_setn_nocheck(cur, s, n) < 0 ?
			    nullptr : cur;
		}
		return json_stringn_nocheck(s, n);
	case 't':
		return json_true();
	case 'f':
		return json_false();
	case 'n':
		return json_null();
	case '{':
	case '[':
		return nullptr;
	default:
		break;
	}
	/* A number: an integer of at most 18 digits unless a '.' or an
	 * exponent comes (the scan made sure). */
	bool neg = p[0] == '-';
	int64_t x = 0;

	i = neg;
	for (uint64_t d; v->n - i >= 8 && eight_digits(p + i, &d); i += 8)
		x = x * 100000000 + int64_t(d);
	for (; i < v->n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return quick_real(cur, own, v);
		x = x * 10 + (p[i] - '0');
	}
	if (neg)
		x = -x;
	if (own && json_is_integer(cur)) {
		json_integer_set(cur, x);
		return cur;
	}
	return json_integer(x);
}

/*
 * The flat projection from one quick scan of the line, without
 * simdjson: NULL when the scan is not sure, or a kept value is one the
 * quick path leaves to simdjson (the caller then parses the line the
 * usual way).
 */
/* Copies n bytes at p into rp->pad with simdjson's padding. */
static void pad_copy(struct recproj *rp, const char *p, size_t n)
{
	size_t need = n + simdjson::SIMDJSON_PADDING;

	if (need > rp->padcap) {
		free(rp->pad);
		rp->padcap = need * 2;
		rp->pad = static_cast<char *>(xmalloc(rp->padcap));
	}
	memcpy(rp->pad, p, n);
	memset(rp->pad + n, 0, simdjson::SIMDJSON_PADDING);
}

/* A value the quick scan found and quick_value() leaves alone (a
 * container, a string with escapes): the span alone parsed by simdjson,
 * not the whole line again; NULL where jansson would refuse it. */
static json_t *span_value(struct recproj *rp, const struct rec_span *v)
{
	element e;

	pad_copy(rp, v->p, v->n);
	if (rp->parser.parse(rp->pad, v->n, false).get(e) != simdjson::SUCCESS)
		return nullptr;
	return to_json(e);
}

static json_t *project_spans(struct recproj *rp)
{
	json_t *o;
	bool same;

	for (size_t i = 0; i < rp->ninfo; i++)
		rp->has[i] = rp->span[i].p != nullptr;
	o = flat_object(rp, &same);
	for (size_t i = 0; i < rp->ninfo; i++) {
		json_t *cur = same ? rp->cur[i] : nullptr, *j;

		if (!rp->has[i])
			continue;
		j = quick_value(cur, &rp->span[i]);
		if (j == nullptr)
			j = span_value(rp, &rp->span[i]);
		if (j == nullptr) {
			json_decref(o);
			rp->last = nullptr;
			return nullptr;
		}
		if (j != cur && json_object_setn_new_nocheck(o,
		    kept(rp, i)->parts[0], rp->len0[i], j) < 0) {
			json_decref(o);
			rp->last = nullptr;
			return nullptr;
		}
		rp->cur[i] = j;
	}
	return json_incref(o);
}

static json_t *project_quick(struct recproj *rp, const char *line,
    size_t len)
{
	if (!rec_quick_members(line, len, rp->want, rp->ninfo, rp->span))
		return nullptr;
	return project_spans(rp);
}

/* project_spans() for nested paths: the last projection updated in
 * place when the caller gave it back and the same paths are present
 * (its values set in place, or replaced where the type changed), else a
 * new one. */
static json_t *project_nested_spans(struct recproj *rp)
{
	json_t *o = rp->last;
	bool same = rp->reuse && o != nullptr && o->refcount == 1 &&
	    memcmp(rp->has, rp->had, rp->ninfo) == 0;

	if (!same) {
		json_decref(o);
		o = rp->last = json_object();
		memcpy(rp->had, rp->has, rp->ninfo);
	}
	for (size_t i = 0; i < rp->ninfo; i++) {
		const struct path *p = kept(rp, i);
		json_t *cur = same ? rp->cur[i] : nullptr, *j;

		if (!rp->has[i])
			continue;
		if ((j = quick_value(cur, &rp->span[i])) == nullptr)
			j = span_value(rp, &rp->span[i]);
		if (j == nullptr ||
		    (j != cur && (p->n == 1 ? json_object_setn_new_nocheck(o,
		    p->parts[0], rp->len0[i], j) : path_set(p, o, j)) < 0)) {
			json_decref(o);
			rp->last = nullptr;
			return nullptr;
		}
		rp->cur[i] = j;
	}
	/* A kept path inside another one set after it: its value went
	 * with the member the outer one replaced. */
	if (!rp->reuse)
		for (size_t i = 0; i < rp->ninfo; i++)
			if (rp->has[i])
				rp->cur[i] = path_get(kept(rp, i), o);
	return json_incref(o);
}

/* The object span v's member named by want, into *out (p NULL:
 * absent, also when v is not an object); false when not sure. */
static bool quick_sub(const struct rec_span *v, const struct rec_want *want,
    size_t nwant, struct rec_span *out)
{
	if (v->p == nullptr || v->p[0] != '{') {
		for (size_t i = 0; i < nwant; i++)
			out[i].p = nullptr;
		return true;
	}
	return rec_quick_members(v->p, v->n, want, nwant, out);
}

/*
 * A projection with nested paths from quick scans, without simdjson:
 * the line once for the first parts, each object among them once for
 * the second parts below it, deeper parts one by one.  NULL when a scan
 * is not sure or a kept value is one the quick path leaves to simdjson.
 */
static json_t *project_nested(struct recproj *rp, const char *line,
    size_t len)
{
	if (!rec_quick_members(line, len, rp->twant, rp->ntop, rp->tspan))
		return nullptr;
	for (size_t t = 0; t < rp->ntop; t++)
		if (rp->scnt[t] > 0 && !quick_sub(&rp->tspan[t],
		    rp->swant + rp->soff[t], rp->scnt[t],
		    rp->sspan + rp->soff[t]))
			return nullptr;
	for (size_t i = 0; i < rp->ninfo; i++) {
		const struct path *p = kept(rp, i);
		struct rec_span *v = &rp->span[i];

		*v = p->n == 1 ? rp->tspan[rp->tidx[i]] :
		    rp->sspan[rp->soff[rp->tidx[i]] + rp->sidx[i]];
		for (size_t k = 2; v->p != nullptr && k < p->n; k++) {
			struct rec_want w = { p->parts[k], strlen(p->parts[k]) };
			struct rec_span sub;

			if (!quick_sub(v, &w, 1, &sub))
				return nullptr;
			*v = sub;
		}
		rp->has[i] = v->p != nullptr;
	}
	return project_nested_spans(rp);
}

/* The kept members of a parsed object, or NULL to fall back. */
static json_t *project(struct recproj *rp, element root)
{
	json_t *out;

	prepare(rp);
	match_top(rp, object(root));
	if (rp->flat)
		return project_flat(rp);
	/* has[] no longer describes the last quick projection. */
	json_decref(rp->last);
	rp->last = nullptr;
	out = json_object();
	for (size_t i = 0; i < rp->ninfo; i++) {
		const struct path *p = kept(rp, i);
		element v;
		json_t *j;
		int rc;

		if (p->n == 1) {
			if (!rp->has[i])
				continue;
			j = to_json(rp->found[i]);
			rc = j == nullptr ? -1 : json_object_setn_new_nocheck(out,
			    p->parts[0], rp->len0[i], j);
		} else {
			if (!lookup(root, p, &v))
				continue;
			j = to_json(v);
			rc = j == nullptr ? -1 : path_set(p, out, j);
		}
		if (rc < 0) {
			json_decref(out);
			return nullptr;
		}
	}
	return out;
}

/* The slow way, for lines simdjson does not take as jansson would:
 * rec_parse(), then the kept members copied, so the result is the same
 * either way. */
static json_t *fallback(struct recproj *rp, const char *line, size_t len,
    char *why)
{
	json_t *full = rec_parse(line, len, why), *out;

	if (full == nullptr)
		return nullptr;
	out = json_object();
	for (size_t i = 0; i < rp->nkeep + rp->nowned; i++) {
		json_t *v = path_get(kept(rp, i), full);

		if (v != nullptr)
			path_set(kept(rp, i), out, json_deep_copy(v));
	}
	json_decref(full);
	return out;
}

/* A run of 19 digits or more: it may be an integer above INT64_MAX,
 * which jansson refuses wherever it stands and simdjson takes as a
 * uint64.  (The quick scan leaves such numbers to simdjson.) */
static bool long_digit_run(const char *p, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			run = 0;
		else if (++run >= 19)
			return true;
	}
	return false;
}

/* recproj_parse(), the quick scan tried when quick. */
static json_t *parse(struct recproj *rp, const char *line, size_t len,
    char *why, bool quick)
{
	element root;
	json_t *out;

	prepare(rp);
	if (quick && rp->quick && (out = rp->flat ? project_quick(rp, line,
	    len) : project_nested(rp, line, len)) != nullptr)
		return out;
	pad_copy(rp, line, len);
	/* rec_parse() gives the reasons, and refuses what jansson refuses:
	 * NUL bytes, "\u0000", an integer above INT64_MAX, anything
	 * simdjson does not accept. */
	const char *bs = static_cast<const char *>(memchr(line, '\\', len));

	if (memchr(line, '\0', len) != nullptr || (bs != nullptr &&
	    memmem(bs, len - size_t(bs - line), "\\u0000", 6) != nullptr) ||
	    long_digit_run(line, len) ||
	    rp->parser.parse(rp->pad, len, false).get(root) !=
	    simdjson::SUCCESS || !root.is_object())
		return fallback(rp, line, len, why);
	out = project(rp, root);
	return out != nullptr ? out : fallback(rp, line, len, why);
}

json_t *recproj_parse(struct recproj *rp, const char *line, size_t len,
    char *why)
{
	return parse(rp, line, len, why, true);
}

json_t *recproj_read(struct recproj *rp, const char *line, size_t len,
    struct ctl *c, char *why)
{
	json_t *obj;
	int r = 0;

	prepare(rp);
	/* Flat projections: one scan says whether the line may be a
	 * control record and finds the kept members. */
	if (rp->flat && rp->quick) {
		r = rec_quick_data_members(line, len, rp->want, rp->ninfo,
		    rp->span);
		if (r > 0 && (obj = project_spans(rp)) != nullptr) {
			memset(c, 0, sizeof *c);
			return obj;
		}
	}
	if (r > 0 || (r == 0 && rp->flat && rp->quick) ||
	    !rec_line_maybe_control(line, len)) {
		memset(c, 0, sizeof *c);
		/* The quick scan was tried, unless the projection is not
		 * flat. */
		return parse(rp, line, len, why, !(rp->flat && rp->quick));
	}
	obj = rec_parse(line, len, why);
	if (obj != nullptr)
		rec_control(obj, c, why);
	return obj;
}
