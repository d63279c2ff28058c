/*
 * recscan.c - the record module's scanner (rec.h): the hot-path check
 * fs-consume -V and fs-produce make on every message (is this line
 * certainly a record?), and whether bytes are UTF-8 text.
 *
 * rec_parse() builds a jansson tree only to throw it away when a tool
 * passes a record's bytes through unchanged; at a million messages a
 * second that allocation is most of the cost.  rec_quick_object()
 * scans the bytes once without allocating.  It only ever answers "yes,
 * rec_parse() accepts this as an object" or "not sure": anything
 * unusual (deep nesting, \u0000, surrogate escapes, very long numbers)
 * is "not sure", and the caller then asks rec_parse(), which stays the
 * only judge of what is valid and the only source of error messages.
 * tests/unit/test_recscan.c checks that every "yes" is one
 * rec_parse() agrees with.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rec.h"

#include "banned.h"

#define QJ_MAX_DEPTH 64

/*
 * Each scanner takes the position and the end, and returns the position
 * after what it scanned, or NULL for "not sure".  (Positions travel as
 * values, not through a struct: a byte load may alias a pointer held in
 * memory, and the compiler would reload it on every byte.)
 */
typedef const unsigned char *pos;

/* In canonical mode (rec_quick_canonical) whitespace is refused
 * where jansson's compact output has none: everywhere outside strings. */
#define QJ_WS(p, e, canon) ((canon) ? (p) : qj_ws((p), (e)))

static inline pos qj_ws(pos p, pos e)
{
	if (p < e && *p > ' ')
		return p;       /* compact JSON: the usual case */
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hexval(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

/* The length of the UTF-8 sequence at p (valid, not overlong, not a
 * surrogate, at most U+10FFFF), or 0. */
static size_t utf8_seq(pos p, pos e)
{
	unsigned c = *p;

	if (c >= 0xc2 && c <= 0xdf)
		return e - p >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (e - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (e - p < 4 || (p[1] & 0xc0) != 0x80 ||
		    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* Bytes a string's plain run stops at: '"', '\\', controls, non-ASCII. */
static const unsigned char qj_stop[256] = {
	[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1
};

/* The first byte at or after p that stops a plain run, or e. */
static inline pos qj_plain_run(pos p, pos e)
{
#ifdef __SSE2__
	/* Sixteen bytes at a time: '"', '\\', and (compared as signed
	 * bytes) below 0x20, which takes in 0x80..0xff. */
	const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	const __m128i sp = _mm_set1_epi8(0x20);

	while (e - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
		    _mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bs)),
		    _mm_cmplt_epi8(x, sp)));

		if (m != 0)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (e - p >= 4 && !(qj_stop[p[0]] | qj_stop[p[1]] |
	    qj_stop[p[2]] | qj_stop[p[3]]))
		p += 4;
	while (p < e && !qj_stop[*p])
		p++;
	return p;
}

static pos qj_string(pos p, pos e, bool canon)
{
	p++;            /* the opening quote */
	for (;;) {
		unsigned c;

		p = qj_plain_run(p, e);
		if (p >= e)
			return NULL;
		c = *p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (e - p < 2)
				return NULL;
			c = p[1];
			if (c == 'u') {
				int v = 0;

				if (e - p < 6)
					return NULL;
				for (int i = 2; i < 6; i++) {
					int h = hexval(p[i]);

					if (h < 0)
						return NULL;
					v = v << 4 | h;
				}
				/* NUL and surrogates: rec_parse() decides;
				 * jansson writes \u only for controls */
				if (v == 0 || (v >= 0xd800 && v <= 0xdfff) || canon)
					return NULL;
				p += 6;
				continue;
			}
			if (c != '"' && c != '\\' && c != '/' && c != 'b' &&
			    c != 'f' && c != 'n' && c != 'r' && c != 't')
				return NULL;
			if (canon && c != '"' && c != '\\')
				return NULL;    /* (jansson's choice of escape) */
			p += 2;
			continue;
		}
		size_t n = utf8_seq(p, e);

		if (n == 0)
			return NULL;
		p += n;
	}
}

static pos qj_digits(pos p, pos e, size_t *n)
{
	pos s = p;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Eight bytes at a time (timestamps have 13 digits): the high bit
	 * of each byte that is not a digit, exact up to the first such byte
	 * (borrows and carries only travel up from it). */
	while (e - p >= 8) {
		uint64_t v, nd;

		memcpy(&v, p, 8);
		nd = ((v + 0x4646464646464646) | (v - 0x3030303030303030)) &
		    0x8080808080808080;
		if (nd != 0) {
			p += __builtin_ctzll(nd) / 8;
			*n = (size_t)(p - s);
			return p;
		}
		p += 8;
	}
#endif
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	*n = (size_t)(p - s);
	return p;
}

/*
 * Numbers short enough that strtoll/strtod cannot overflow.  In
 * canonical mode, reals only as rec_dump() writes them: plain decimals
 * of at most 15 significant digits, no exponent, no trailing zero, and
 * at most 3 zeros after "0." (what "%.15g" prints back unchanged).
 */
static pos qj_number(pos p, pos e, bool canon)
{
	pos start = p, frac = NULL;
	size_t digits, idigits, f = 0, edigits;
	bool real = false, exp = false;

	if (p < e && *p == '-')
		p++;
	if (p >= e || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0') {
		p++;
		digits = 1;
	} else {
		p = qj_digits(p, e, &digits);
	}
	idigits = digits;
	if (p < e && *p == '.') {
		real = true;
		frac = p + 1;
		p = qj_digits(p + 1, e, &f);
		if (f == 0)
			return NULL;
		digits += f;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		real = exp = true;
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		p = qj_digits(p, e, &edigits);
		if (edigits == 0 || edigits > 2)
			return NULL;
	}
	if (real ? digits > 100 : digits > 18)
		return NULL;
	if (!canon)
		return p;
	if (!real)      /* jansson writes -0 as 0 */
		return p - start == 2 && start[0] == '-' ? NULL : p;
	if (exp || frac[f - 1] == '0')
		return NULL;
	if (idigits == 1 && frac[-2] == '0') {
		size_t z = 0;

		while (z < f && frac[z] == '0')
			z++;
		return z <= 3 && f - z <= 15 ? p : NULL;
	}
	return digits <= 15 ? p : NULL;
}

static pos qj_literal(pos p, pos e, const char *lit, size_t n)
{
	if ((size_t)(e - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

static pos qj_value(pos p, pos e, int depth, bool canon);

/* Keys remembered per object in canonical mode, to refuse duplicates
 * (jansson keeps one); an object with more keys is "not sure". */
#define QJ_MAX_KEYS 32

static pos qj_container(pos p, pos e, int depth, bool object, bool canon)
{
	unsigned char close = object ? '}' : ']';
	pos keys[QJ_MAX_KEYS];
	size_t klen[QJ_MAX_KEYS], nkeys = 0;

	if (depth > QJ_MAX_DEPTH)
		return NULL;
	p = QJ_WS(p + 1, e, canon);
	if (p < e && *p == close)
		return p + 1;
	for (;;) {
		if (object) {
			pos k = p;

			if (p >= e || *p != '"' ||
			    (p = qj_string(p, e, canon)) == NULL)
				return NULL;
			if (canon) {
				if (nkeys == QJ_MAX_KEYS)
					return NULL;
				for (size_t i = 0; i < nkeys; i++)
					if (klen[i] == (size_t)(p - k) &&
					    memcmp(keys[i], k, klen[i]) == 0)
						return NULL;
				keys[nkeys] = k;
				klen[nkeys++] = (size_t)(p - k);
			}
			p = QJ_WS(p, e, canon);
			if (p >= e || *p != ':')
				return NULL;
			p = QJ_WS(p + 1, e, canon);
		}
		if ((p = qj_value(p, e, depth + 1, canon)) == NULL)
			return NULL;
		p = QJ_WS(p, e, canon);
		if (p >= e)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p = QJ_WS(p + 1, e, canon);
	}
}

static pos qj_value(pos p, pos e, int depth, bool canon)
{
	if (p >= e)
		return NULL;
	switch (*p) {
	case '{':
		return qj_container(p, e, depth, true, canon);
	case '[':
		return qj_container(p, e, depth, false, canon);
	case '"':
		return qj_string(p, e, canon);
	case 't':
		return qj_literal(p, e, "true", 4);
	case 'f':
		return qj_literal(p, e, "false", 5);
	case 'n':
		return qj_literal(p, e, "null", 4);
	default:
		return qj_number(p, e, canon);
	}
}

bool rec_quick_object(const void *vp, size_t n)
{
	pos p = vp, e = p + n;

	p = qj_ws(p, e);
	if (p >= e || *p != '{' ||
	    (p = qj_container(p, e, 1, true, false)) == NULL)
		return false;
	return qj_ws(p, e) == e;
}

/* A top-level key: its bytes between the quotes when it holds no
 * escape (a key with one could decode to a kept name: "not sure"). */
static pos qj_plain_key(pos p, pos e)
{
	pos s = p;

	p = qj_plain_run(p, e);
	if (p < e && *p == '"')
		return p;
	p = qj_string(s - 1, e, false);
	if (p == NULL || memchr(s, '\\', (size_t)(p - 1 - s)) != NULL)
		return NULL;
	return p - 1;
}

/* Short keys: a loop beats a call to memcmp. */
static inline bool same_bytes(pos a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != (unsigned char)b[i])
			return false;
	return true;
}

/*
 * One member of an object from p: its key k..ke (no escape) and its
 * value v..the position returned; NULL when not sure.
 */
static inline pos qj_member(pos p, pos e, pos *k, pos *ke, pos *v)
{
	if (p >= e || *p != '"' || (*ke = qj_plain_key(p + 1, e)) == NULL)
		return NULL;
	*k = p + 1;
	p = qj_ws(*ke + 1, e);
	if (p >= e || *p != ':')
		return NULL;
	*v = p = qj_ws(p + 1, e);
	/* Strings and numbers, the usual members, without the dispatch of
	 * qj_value(). */
	if (p < e && *p == '"')
		return qj_string(p, e, false);
	if (p < e && (*p == '-' || (*p >= '0' && *p <= '9')))
		return qj_number(p, e, false);
	return qj_value(p, e, 2, false);
}

/*
 * After a member's value at *pp: 1 at a ',' (*pp then at the next
 * member), 0 when the object closes and ends the line, -1 otherwise.
 */
static inline int qj_member_next(pos *pp, pos e)
{
	pos p = qj_ws(*pp, e);

	if (p < e && *p == ',') {
		*pp = qj_ws(p + 1, e);
		return 1;
	}
	return p < e && *p == '}' && qj_ws(p + 1, e) == e ? 0 : -1;
}

bool rec_quick_members(const void *vp, size_t n,
    const struct rec_want *want, size_t nwant, struct rec_span *found)
{
	pos p = vp, e = p + n;

	for (size_t i = 0; i < nwant; i++)
		found[i].p = NULL;
	p = qj_ws(p, e);
	if (p >= e || *p != '{')
		return false;
	p = qj_ws(p + 1, e);
	if (p < e && *p == '}')
		return qj_ws(p + 1, e) == e;
	for (;;) {
		pos k, ke, v;
		int next;

		if ((p = qj_member(p, e, &k, &ke, &v)) == NULL)
			return false;
		for (size_t i = 0; i < nwant; i++) {
			if (want[i].len == (size_t)(ke - k) &&
			    same_bytes(k, want[i].name, want[i].len)) {
				found[i].p = (const char *)v;
				found[i].n = (size_t)(p - v);
			}
		}
		if ((next = qj_member_next(&p, e)) <= 0)
			return next == 0;
	}
}

/*
 * The fast path of rec_quick_members() for a line of at most QF_MAX
 * bytes with no backslash, control byte or non-ASCII byte (what most
 * lines are): an index of its quotes is made sixteen bytes at a time,
 * and since no quote is escaped, every string ends at the next quote in
 * it; all such strings are valid, so only the structure is left to
 * check.  Same answers as the full scan, or "not sure".
 */
#define QF_MAX 256

#ifdef __SSE2__
/* Quotes of p[0..n) as bits in q; false when the line holds a byte the
 * fast path leaves to the full scan; *at: it holds an '@'. */
static bool qf_index(pos p, size_t n, uint64_t q[QF_MAX / 64], bool *at)
{
	const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	const __m128i sp = _mm_set1_epi8(0x20), atc = _mm_set1_epi8('@');
	unsigned special = 0, ats = 0;

	memset(q, 0, QF_MAX / 8);
	if (n < 16)
		return false;   /* (no room for the last load below) */
	for (size_t i = 0; i < n; i += 16) {
		unsigned shift = 0, mq, ms, ma;
		__m128i x;

		/* The last sixteen bytes of a line that does not fill them:
		 * loaded from the end, the bytes seen already shifted out. */
		if (n - i < 16)
			shift = (unsigned)(16 - (n - i));
		x = _mm_loadu_si128((const __m128i *)(const void *)(p + i -
		    shift));
		mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, quote)) >> shift;
		ms = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_cmpeq_epi8(x, bs), _mm_cmplt_epi8(x, sp))) >> shift;
		ma = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, atc)) >> shift;
		q[i / 64] |= (uint64_t)mq << (i % 64);
		special |= ms;
		ats |= ma;
	}
	*at = ats != 0;
	return special == 0;
}

/* The first quote at or after x, or QF_MAX. */
static inline size_t qf_next(const uint64_t q[QF_MAX / 64], size_t x)
{
	size_t w = x / 64;
	uint64_t m;

	if (w >= QF_MAX / 64)
		return QF_MAX;
	m = q[w] & (~(uint64_t)0 << (x % 64));
	while (m == 0) {
		if (++w == QF_MAX / 64)
			return QF_MAX;
		m = q[w];
	}
	return w * 64 + (size_t)__builtin_ctzll(m);
}

/* Notes the value v..p of the member named k..ke where wanted. */
static inline void qf_found(pos k, pos ke, pos v, pos p,
    const struct rec_want *want, size_t nwant, struct rec_span *found)
{
	for (size_t i = 0; i < nwant; i++) {
		if (want[i].len == (size_t)(ke - k) &&
		    same_bytes(k, want[i].name, want[i].len)) {
			found[i].p = (const char *)v;
			found[i].n = (size_t)(p - v);
		}
	}
}

/* 1: yes, the members found; 0: not sure.  *at as qf_index(). */
static int qf_members(pos b, size_t n, const struct rec_want *want,
    size_t nwant, struct rec_span *found, bool *at)
{
	uint64_t q[QF_MAX / 64];
	pos e = b + n, p;

	if (n > QF_MAX || !qf_index(b, n, q, at))
		return 0;
	for (size_t i = 0; i < nwant; i++)
		found[i].p = NULL;
	p = qj_ws(b, e);
	if (p >= e || *p != '{')
		return 0;
	p = qj_ws(p + 1, e);
	if (p < e && *p == '}')
		return qj_ws(p + 1, e) == e;
	for (;;) {
		pos k, ke, v;
		size_t c;

		if (p >= e || *p != '"')
			return 0;
		k = p + 1;
		if ((c = qf_next(q, (size_t)(k - b))) >= n)
			return 0;
		ke = b + c;
		p = qj_ws(ke + 1, e);
		if (p >= e || *p != ':')
			return 0;
		v = p = qj_ws(p + 1, e);
		if (p >= e)
			return 0;
		if (*p == '"') {
			if ((c = qf_next(q, (size_t)(p + 1 - b))) >= n)
				return 0;
			p = b + c + 1;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			p = qj_number(p, e, false);
		} else {
			p = qj_value(p, e, 2, false);
		}
		if (p == NULL)
			return 0;
		qf_found(k, ke, v, p, want, nwant, found);
		p = qj_ws(p, e);
		if (p >= e)
			return 0;
		if (*p == '}')
			return qj_ws(p + 1, e) == e;
		if (*p != ',')
			return 0;
		p = qj_ws(p + 1, e);
	}
}
#endif

int rec_quick_data_members(const void *vp, size_t n,
    const struct rec_want *want, size_t nwant, struct rec_span *found)
{
#ifdef __SSE2__
	bool at = true;

	if (qf_members(vp, n, want, nwant, found, &at))
		return at && rec_line_maybe_control(vp, n) ? -1 : 1;
#endif
	if (rec_line_maybe_control(vp, n))
		return -1;
	return rec_quick_members(vp, n, want, nwant, found) ? 1 : 0;
}

bool rec_quick_all(const void *vp, size_t n, struct rec_member *m,
    size_t max, size_t *count)
{
	pos p = vp, e = p + n;

	*count = 0;
	p = qj_ws(p, e);
	if (p >= e || *p != '{')
		return false;
	p = qj_ws(p + 1, e);
	if (p < e && *p == '}')
		return qj_ws(p + 1, e) == e;
	for (;;) {
		pos k, ke, v;
		int next;

		if (*count == max || (p = qj_member(p, e, &k, &ke, &v)) == NULL)
			return false;
		m[*count].key = (struct rec_span){ (const char *)k,
		    (size_t)(ke - k) };
		m[*count].val = (struct rec_span){ (const char *)v,
		    (size_t)(p - v) };
		++*count;
		if ((next = qj_member_next(&p, e)) <= 0)
			return next == 0;
	}
}

bool rec_quick_canonical(const void *vp, size_t n)
{
	pos p = vp, e = p + n;

	if (p >= e || *p != '{' ||
	    (p = qj_container(p, e, 1, true, true)) == NULL)
		return false;
	return p == e;
}

bool rec_utf8_text(const void *vp, size_t n)
{
	pos p = vp, e = p + n;

	while (p < e) {
		size_t k;

		if (*p >= 0x01 && *p < 0x80) {
			p++;
			continue;
		}
		if (*p == 0 || (k = utf8_seq(p, e)) == 0)
			return false;
		p += k;
	}
	return true;
}
