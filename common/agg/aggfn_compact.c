/*
 * aggfn_compact.c - the compact encoding of a state (aggfn.h): for a set
 * of count, sum, avg, min and max only, a state whose values were all
 * integers and whose counts fit in 32 bits is kept in a few bytes per
 * slot, no padding:
 *
 *   count      the count, 4 bytes
 *   sum, avg   the integer sum, 8 bytes, and the count of values, 4
 *   min, max   the integer extreme, 8 bytes, and a bit "has a value"
 *              in the flag bytes at the end of the block
 *
 * Fields are read and written with memcpy, so a block may lie at any
 * address.  aggset_compress() keeps exactly the states aggset_expand()
 * gives back bit for bit: a state that a real, an int64 overflow or a
 * count past 2^32 - 1 reached is refused, and its owner keeps it in full
 * (the promotion path), so every result, merge and snapshot is the one
 * of the full state.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "aggfn_state.h"
#include "mpjson.h"
#include "banned.h"

/* Compact bytes of a slot of kind k, or 0 when k has no compact form. */
static size_t ckind_size(enum kind k)
{
	switch (k) {
	case K_COUNT:
		return 4;
	case K_SUM:
		return 12;
	case K_MIN:
	case K_MAX:
		return 8;
	default:
		return 0;
	}
}

size_t aggset_compact_size(const struct aggset *as)
{
	size_t n = 0, next = 0;

	for (size_t i = 0; i < as->nslots; i++) {
		size_t k = ckind_size(as->slots[i].kind);

		if (k == 0)
			return 0;
		n += k;
		if (as->slots[i].kind == K_MIN || as->slots[i].kind == K_MAX)
			next++;
	}
	n += (next + 7) / 8;
	n = (n + 3) & ~(size_t)3;
	return n < as->size ? n : 0;
}

void aggset_compact_init(const struct aggset *as, void *c)
{
	memset(c, 0, aggset_compact_size(as));
}

/* The flag bytes: after the slots' fields. */
static size_t flags_off(const struct aggset *as)
{
	size_t n = 0;

	for (size_t i = 0; i < as->nslots; i++)
		n += ckind_size(as->slots[i].kind);
	return n;
}

void aggset_expand(const struct aggset *as, const void *c, void *state)
{
	const unsigned char *p = c, *flags = p + flags_off(as);
	unsigned char *base = state;
	size_t e = 0;

	aggset_init(as, state);
	for (size_t i = 0; i < as->nslots; i++) {
		const struct slot *sl = &as->slots[i];
		void *st = base + sl->off;
		uint32_t u;

		switch (sl->kind) {
		case K_COUNT: {
			uint64_t n;

			memcpy(&u, p, 4);
			n = u;
			memcpy(st, &n, sizeof n);
			p += 4;
			break;
		}
		case K_SUM: {
			struct s_sum s = { 0 };

			memcpy(&s.i, p, 8);
			memcpy(&u, p + 8, 4);
			s.n = u;
			memcpy(st, &s, sizeof s);
			p += 12;
			break;
		}
		case K_MIN:
		case K_MAX:
			if (flags[e / 8] & (1u << (e % 8))) {
				struct s_ext x;

				memset(&x, 0, sizeof x);
				memcpy(&x.u.i, p, 8);
				x.tag = EXT_INT;
				memcpy(st, &x, sizeof x);
			}
			e++;
			p += 8;
			break;
		default:
			break;
		}
	}
}

bool aggset_compress(const struct aggset *as, const void *state, void *c)
{
	static const unsigned char zero[sizeof(struct s_ext)];
	const unsigned char *base = state;
	unsigned char *p = c, *flags = p + flags_off(as);
	size_t e = 0;

	memset(flags, 0, aggset_compact_size(as) - flags_off(as));
	for (size_t i = 0; i < as->nslots; i++) {
		const struct slot *sl = &as->slots[i];
		const void *st = base + sl->off;

		switch (sl->kind) {
		case K_COUNT: {
			uint64_t n;
			uint32_t u;

			memcpy(&n, st, sizeof n);
			if (n > UINT32_MAX)
				return false;
			u = (uint32_t)n;
			memcpy(p, &u, 4);
			p += 4;
			break;
		}
		case K_SUM: {
			struct s_sum s;
			uint32_t u;
			uint64_t d, cc;

			memcpy(&s, st, sizeof s);
			memcpy(&d, &s.d, sizeof d);
			memcpy(&cc, &s.c, sizeof cc);
			/* Flags and a count past 32 bits are in the high bits. */
			if (s.n > UINT32_MAX || d != 0 || cc != 0)
				return false;
			u = (uint32_t)s.n;
			memcpy(p, &s.i, 8);
			memcpy(p + 8, &u, 4);
			p += 12;
			break;
		}
		case K_MIN:
		case K_MAX: {
			struct s_ext x;

			memcpy(&x, st, sizeof x);
			if (x.tag == EXT_INT) {
				memcpy(p, &x.u.i, 8);
				flags[e / 8] |= (unsigned char)(1u << (e % 8));
			} else if (memcmp(st, zero, sizeof zero) == 0) {
				memset(p, 0, 8);
			} else {
				return false;   /* a real */
			}
			e++;
			p += 8;
			break;
		}
		default:
			return false;
		}
	}
	return true;
}

/* Can compact slot i (its fields at p) take the prepared record? */
static bool compact_takes(const struct aggset *as, size_t i,
    const unsigned char *p)
{
	const struct slot *sl = &as->slots[i];
	const struct fval *f = sl->field >= 0 ? &as->fv[sl->field] : NULL;
	uint32_t u;
	int64_t x, r;

	if (!as->active[i])
		return true;
	switch (sl->kind) {
	case K_COUNT:
		memcpy(&u, p, 4);
		return u < UINT32_MAX;
	case K_SUM:
		if (f == NULL || f->type != V_INT)
			return false;
		memcpy(&x, p, 8);
		memcpy(&u, p + 8, 4);
		return u < UINT32_MAX && !__builtin_add_overflow(x, f->i, &r);
	case K_MIN:
	case K_MAX:
		return f != NULL && f->type == V_INT;
	default:
		return false;
	}
}

bool aggset_compact_apply(const struct aggset *as, void *c)
{
	unsigned char *p = c, *flags = p + flags_off(as);
	size_t e = 0;

	for (size_t i = 0; i < as->nslots; i++) {
		if (!compact_takes(as, i, p))
			return false;
		p += ckind_size(as->slots[i].kind);
	}
	p = c;
	for (size_t i = 0; i < as->nslots; i++) {
		const struct slot *sl = &as->slots[i];
		const struct fval *f = sl->field >= 0 ? &as->fv[sl->field] : NULL;
		uint32_t u;
		int64_t x;

		switch (sl->kind) {
		case K_COUNT:
			if (as->active[i]) {
				memcpy(&u, p, 4);
				u++;
				memcpy(p, &u, 4);
			}
			break;
		case K_SUM:
			if (as->active[i]) {
				memcpy(&x, p, 8);
				memcpy(&u, p + 8, 4);
				x += f->i;
				u++;
				memcpy(p, &x, 8);
				memcpy(p + 8, &u, 4);
			}
			break;
		default:        /* K_MIN, K_MAX */
			if (as->active[i]) {
				bool has = flags[e / 8] & (1u << (e % 8));

				memcpy(&x, p, 8);
				if (!has || (sl->kind == K_MIN ? f->i < x :
				    f->i > x)) {
					memcpy(p, &f->i, 8);
					flags[e / 8] |= (unsigned char)(1u << (e % 8));
				}
			}
			e++;
			break;
		}
		p += ckind_size(sl->kind);
	}
	return true;
}

/* The bytes slot_pack() (aggfn_snap.c) writes for the expanded state: a
 * sum's flags 0 and its real parts 0.0 (floats 32), an extreme without a
 * value nil. */
void aggset_pack_compact(const struct aggset *as, struct buf *b,
    const void *c)
{
	const unsigned char *p = c, *flags = p + flags_off(as);
	size_t e = 0;

	mpb_pack_array(b, as->nslots);
	for (size_t i = 0; i < as->nslots; i++) {
		uint32_t u;
		int64_t v;

		switch (as->slots[i].kind) {
		case K_COUNT:
			memcpy(&u, p, 4);
			mpb_pack_int64(b, (int64_t)u);
			p += 4;
			break;
		case K_SUM:
			memcpy(&v, p, 8);
			memcpy(&u, p + 8, 4);
			mpb_pack_array(b, 5);
			mpb_pack_int64(b, (int64_t)u);
			mpb_pack_int(b, 0);
			mpb_pack_int64(b, v);
			mpb_pack_float(b, 0.0f);
			mpb_pack_float(b, 0.0f);
			p += 12;
			break;
		case K_MIN:
		case K_MAX:
			if (flags[e / 8] & (1u << (e % 8))) {
				memcpy(&v, p, 8);
				mpb_pack_int64(b, v);
			} else {
				mpb_pack_nil(b);
			}
			e++;
			p += 8;
			break;
		default:
			break;
		}
	}
}
