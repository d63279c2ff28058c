/*
 * fs-gen - a deterministic generator of click events for demos, tests
 * and benchmarks.  See fs-gen(1).
 *
 * The same options and seed give the same bytes on every machine: the
 * random numbers come from splitmix64, not the C library, and times are
 * computed from the event index, not the clock.
 *
 * Each event: {"ts":MS,"user":"u0042","event":"view","item":"i0123",
 * "amount":37}.  Users are skewed (a few users make many events, as on
 * a real site); events are views, clicks, carts and purchases in the
 * ratio 70:20:7:3; amount is the item's price, a whole number 1..500.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "tool.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-gen [--count N] [--users N] [--items N] [--seed N]\n"
"              [--start TIME] [--rate N] [--disorder DURATION]\n"
"Writes deterministic click events as NDJSON.\n";

struct opts {
	struct fs_common c;
	int64_t count, users, items, seed, start, rate, disorder;
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)splitmix64(s) * n) >> 64);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_INT(0, "count", &o->count, 0, INT64_MAX / 2, "N",
		    "events to write (default 1000)"),
		OPT_INT(0, "users", &o->users, 1, 100000000, "N",
		    "distinct users (default 100)"),
		OPT_INT(0, "items", &o->items, 1, 100000000, "N",
		    "distinct items (default 500)"),
		OPT_INT(0, "seed", &o->seed, 0, INT64_MAX, "N",
		    "random seed (default 1)"),
		OPT_TIME(0, "start", &o->start, "TIME",
		    "time of the first event (default\n"
		    "2026-01-01T00:00:00Z)"),
		OPT_INT(0, "rate", &o->rate, 1, 1000000, "N",
		    "events per second of event time (default 10)"),
		OPT_DURATION(0, "disorder", &o->disorder, 0, INT64_MAX,
		    "DURATION", "events arrive up to DURATION out of order\n"
		    "(default 0: in order)"),
		OPT_GROUP_COMMON(&o->c),
		OPT_END
	};
	int first;

	fs_common_init(&o->c, argc, argv);
	o->count = 1000;
	o->users = 100;
	o->items = 500;
	o->seed = 1;
	o->start = 1767225600000;       /* 2026-01-01T00:00:00Z */
	o->rate = 10;
	first = opt_parse(usage_text, opts, 0, argc, argv);
	fs_common_finish(&o->c);
	if (first < argc)
		diag_usage("no operands expected: '%s'", argv[first]);
}

/* Skewed towards low numbers: the smaller of two uniform variates. */
static uint64_t skewed(uint64_t *s, uint64_t n)
{
	uint64_t a = below(s, n), b = below(s, n);

	return a < b ? a : b;
}

static const char *event_type(uint64_t *s)
{
	uint64_t r = below(s, 100);

	if (r < 70)
		return "view";
	if (r < 90)
		return "click";
	if (r < 97)
		return "cart";
	return "purchase";
}

/* An item's price: fixed per item, 1..500. */
static int64_t price(uint64_t item, uint64_t seed)
{
	uint64_t s = seed ^ (item * 0x9e3779b97f4a7c15ULL);

	return (int64_t)below(&s, 500) + 1;
}

int main(int argc, char **argv)
{
	static struct opts o;
	struct out out;
	uint64_t rng;
	char user[32], item[32];
	int uw, iw;
	json_t *ev = json_object();

	parse_options(&o, argc, argv);
	rng = (uint64_t)o.seed;
	uw = snprintf(user, sizeof user, "%" PRId64, o.users - 1);
	iw = snprintf(item, sizeof item, "%" PRId64, o.items - 1);
	out_init(&out, 1, "stdout");
	out_set_metrics(&out, o.c.metrics);
	for (int64_t i = 0; i < o.count && !sig_stop_requested(); i++) {
		uint64_t u = skewed(&rng, (uint64_t)o.users);
		uint64_t it = below(&rng, (uint64_t)o.items);
		int64_t ts = o.start + i * 1000 / o.rate;

		if (o.disorder > 0)
			ts -= (int64_t)below(&rng, (uint64_t)o.disorder + 1);
		snprintf(user, sizeof user, "u%0*llu", uw < 4 ? 4 : uw,
		    (unsigned long long)u);
		snprintf(item, sizeof item, "i%0*llu", iw < 4 ? 4 : iw,
		    (unsigned long long)it);
		json_object_set_new(ev, "ts", json_integer(ts));
		json_object_set_new(ev, "user", json_string(user));
		json_object_set_new(ev, "event", json_string(event_type(&rng)));
		json_object_set_new(ev, "item", json_string(item));
		json_object_set_new(ev, "amount",
		    json_integer(price(it, (uint64_t)o.seed)));
		rec_emit(&out, ev);
	}
	json_decref(ev);
	out_close(&out);
	return 0;
}
