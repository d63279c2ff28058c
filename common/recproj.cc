/*
 * recproj.cc - records parsed by simdjson, keeping only the members a
 * stage reads (see recproj.h).  The one C++ file of fs: simdjson is a
 * C++ library, and this file is its only user.
 */
#include <simdjson.h>

#include <cstdint>
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
	/* The quick scan of projections with nested paths: the tree of the
	 * kept paths' parts, a node's children contiguous in qwant and
	 * qspan (the top-level ones first), built on first use. */
	struct rec_want *qwant;
	struct rec_span *qspan;
	size_t *qfirst, *qnchild;       /* a node's children */
	size_t *qdepth, *qrep;          /* its depth, a kept path through it */
	size_t *qnode;                  /* a kept path's last node */
	size_t nq, nqroot;
	bool qbuilt;
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
	rp->qwant = nullptr;
	rp->qspan = nullptr;
	rp->qfirst = rp->qnchild = rp->qdepth = rp->qrep = rp->qnode = nullptr;
	rp->nq = rp->nqroot = 0;
	rp->qbuilt = false;
	return rp;
}

static void nested_free(struct recproj *rp)
{
	free(rp->qwant);
	free(rp->qspan);
	free(rp->qfirst);
	free(rp->qnchild);
	free(rp->qdepth);
	free(rp->qrep);
	free(rp->qnode);
	rp->qwant = nullptr;
	rp->qspan = nullptr;
	rp->qfirst = rp->qnchild = rp->qdepth = rp->qrep = rp->qnode = nullptr;
	rp->nq = rp->nqroot = 0;
	rp->qbuilt = false;
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
	nested_free(rp);
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
	nested_free(rp);
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

/* project() when every kept path is one part: the last projection
 * updated in place when the caller gave it back and the same members
 * are present (so the order of members is what a new object would
 * have), else a new one.  NULL to fall back. */
static json_t *project_flat(struct recproj *rp)
{
	json_t *o = rp->last;
	bool same = o != nullptr && o->refcount == 1 &&
	    memcmp(rp->has, rp->had, rp->ninfo) == 0;

	if (!same) {
		json_decref(o);
		o = rp->last = json_object();
		memcpy(rp->had, rp->has, rp->ninfo);
	}
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
static json_t *project_quick(struct recproj *rp, const char *line,
    size_t len)
{
	json_t *o;
	bool same;

	if (!rec_quick_members(line, len, rp->want, rp->ninfo, rp->span))
		return nullptr;
	for (size_t i = 0; i < rp->ninfo; i++)
		rp->has[i] = rp->span[i].p != nullptr;
	o = rp->last;
	same = o != nullptr && o->refcount == 1 &&
	    memcmp(rp->has, rp->had, rp->ninfo) == 0;
	if (!same) {
		json_decref(o);
		o = rp->last = json_object();
		memcpy(rp->had, rp->has, rp->ninfo);
	}
	for (size_t i = 0; i < rp->ninfo; i++) {
		json_t *cur = same ? rp->cur[i] : nullptr, *j;

		if (!rp->has[i])
			continue;
		j = quick_value(cur, &rp->span[i]);
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

/* --- the quick scan of nested projections --------------------------- */

/* Do paths a and b have the same first n parts? */
static bool same_parts(const struct path *a, const struct path *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(a->parts[k], b->parts[k]) != 0)
			return false;
	return true;
}

/* Appends to the tree the distinct parts at depth d of the kept paths
 * that go on below node x (SIZE_MAX: the top level). */
static void nested_children(struct recproj *rp, size_t x, size_t d)
{
	size_t first = rp->nq;

	for (size_t i = 0; i < rp->ninfo; i++) {
		const struct path *p = kept(rp, i);
		bool have = false;

		if (p->n <= d || (x != SIZE_MAX &&
		    !same_parts(p, kept(rp, rp->qrep[x]), d)))
			continue;
		for (size_t c = first; c < rp->nq && !have; c++)
			have = strcmp(rp->qwant[c].name, p->parts[d]) == 0;
		if (have)
			continue;
		rp->qwant[rp->nq].name = p->parts[d];
		rp->qwant[rp->nq].len = strlen(p->parts[d]);
		rp->qdepth[rp->nq] = d;
		rp->qrep[rp->nq] = i;
		rp->qnchild[rp->nq] = 0;
		rp->nq++;
	}
}

/* The tree of the kept paths, level by level, so that a node's
 * children are contiguous; and each kept path's last node. */
static void nested_build(struct recproj *rp)
{
	size_t max = 1;

	for (size_t i = 0; i < rp->ninfo; i++)
		max += kept(rp, i)->n;
	rp->qwant = static_cast<struct rec_want *>(xmalloc(max *
	    sizeof *rp->qwant));
	rp->qspan = static_cast<struct rec_span *>(xmalloc(max *
	    sizeof *rp->qspan));
	rp->qfirst = static_cast<size_t *>(xmalloc(max * sizeof(size_t)));
	rp->qnchild = static_cast<size_t *>(xmalloc(max * sizeof(size_t)));
	rp->qdepth = static_cast<size_t *>(xmalloc(max * sizeof(size_t)));
	rp->qrep = static_cast<size_t *>(xmalloc(max * sizeof(size_t)));
	rp->qnode = static_cast<size_t *>(xmalloc(max * sizeof(size_t)));
	rp->nq = 0;
	nested_children(rp, SIZE_MAX, 0);
	rp->nqroot = rp->nq;
	for (size_t x = 0; x < rp->nq; x++) {
		rp->qfirst[x] = rp->nq;
		nested_children(rp, x, rp->qdepth[x] + 1);
		rp->qnchild[x] = rp->nq - rp->qfirst[x];
	}
	for (size_t i = 0; i < rp->ninfo; i++) {
		const struct path *p = kept(rp, i);
		size_t first = 0, n = rp->nqroot, x = 0;

		for (size_t d = 0; d < p->n; d++) {
			for (x = first; x < first + n; x++)
				if (strcmp(rp->qwant[x].name, p->parts[d]) == 0)
					break;
			first = rp->qfirst[x];
			n = rp->qnchild[x];
		}
		rp->qnode[i] = x;
	}
	rp->qbuilt = true;
}

/* Marks the nodes below x absent. */
static void nested_clear(struct recproj *rp, size_t x)
{
	for (size_t c = rp->qfirst[x]; c < rp->qfirst[x] + rp->qnchild[x];
	    c++) {
		rp->qspan[c].p = nullptr;
		nested_clear(rp, c);
	}
}

/* One quick scan of the object p[0..n) for the n nodes from first, and
 * of the objects found for their children; false when not sure. */
static bool nested_scan(struct recproj *rp, size_t first, size_t nchild,
    const char *p, size_t n)
{
	if (!rec_quick_members(p, n, rp->qwant + first, nchild,
	    rp->qspan + first))
		return false;
	for (size_t c = first; c < first + nchild; c++) {
		const struct rec_span *s = &rp->qspan[c];

		if (rp->qnchild[c] == 0)
			continue;
		if (s->p == nullptr || s->p[0] != '{')
			nested_clear(rp, c);
		else if (!nested_scan(rp, rp->qfirst[c], rp->qnchild[c], s->p,
		    s->n))
			return false;
	}
	return true;
}

/*
 * The projection of kept paths that are not all one part, from quick
 * scans of the line and of the objects on the kept paths (what
 * project() makes from simdjson's DOM): NULL when a scan is not sure or
 * a kept value is one the quick path leaves to simdjson.
 */
static json_t *project_quick_nested(struct recproj *rp, const char *line,
    size_t len)
{
	json_t *out;

	if (!rp->qbuilt)
		nested_build(rp);
	if (!nested_scan(rp, 0, rp->nqroot, line, len))
		return nullptr;
	out = json_object();
	for (size_t i = 0; i < rp->ninfo; i++) {
		const struct path *p = kept(rp, i);
		const struct rec_span *s = &rp->qspan[rp->qnode[i]];
		json_t *j;
		int rc;

		if (s->p == nullptr)
			continue;
		j = quick_value(nullptr, s);
		if (j == nullptr) {
			json_decref(out);
			return nullptr;
		}
		rc = p->n == 1 ? json_object_setn_new_nocheck(out, p->parts[0],
		    rp->len0[i], j) : path_set(p, out, j);
		if (rc < 0) {
			json_decref(out);
			return nullptr;
		}
	}
	return out;
}

/* The kept members of a parsed object, or NULL to fall back. */
static json_t *project(struct recproj *rp, element root)
{
	json_t *out;

	prepare(rp);
	match_top(rp, object(root));
	if (rp->flat)
		return project_flat(rp);
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

json_t *recproj_parse(struct recproj *rp, const char *line, size_t len,
    char *why)
{
	element root;
	json_t *out;
	size_t need = len + simdjson::SIMDJSON_PADDING;

	prepare(rp);
	if (rp->quick && (out = rp->flat ? project_quick(rp, line, len) :
	    project_quick_nested(rp, line, len)) != nullptr)
		return out;
	if (need > rp->padcap) {
		free(rp->pad);
		rp->padcap = need * 2;
		rp->pad = static_cast<char *>(xmalloc(rp->padcap));
	}
	memcpy(rp->pad, line, len);
	memset(rp->pad + len, 0, simdjson::SIMDJSON_PADDING);
	/* rec_parse() gives the reasons, and refuses what jansson refuses:
	 * NUL bytes, "\u0000", anything simdjson does not accept. */
	const char *bs = static_cast<const char *>(memchr(line, '\\', len));

	if (memchr(line, '\0', len) != nullptr || (bs != nullptr &&
	    memmem(bs, len - size_t(bs - line), "\\u0000", 6) != nullptr) ||
	    rp->parser.parse(rp->pad, len, false).get(root) !=
	    simdjson::SUCCESS || !root.is_object())
		return fallback(rp, line, len, why);
	out = project(rp, root);
	return out != nullptr ? out : fallback(rp, line, len, why);
}

json_t *recproj_read(struct recproj *rp, const char *line, size_t len,
    struct ctl *c, char *why)
{
	json_t *obj;

	if (!rec_line_maybe_control(line, len)) {
		memset(c, 0, sizeof *c);
		return recproj_parse(rp, line, len, why);
	}
	obj = rec_parse(line, len, why);
	if (obj != nullptr)
		rec_control(obj, c, why);
	return obj;
}
