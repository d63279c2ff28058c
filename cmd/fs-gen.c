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

#include "tool.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-gen [--count N] [--users N] [--items N] [--seed N]\n"
"              [--start TIME] [--rate N] [--disorder DURATION]\n"
"Writes deterministic click events as NDJSON.\n"
"  --count N             events to write (default 1000)\n"
"  --users N             distinct users (default 100)\n"
"  --items N             distinct items (default 500)\n"
"  --seed N              random seed (default 1)\n"
"  --start TIME          time of the first event (default\n"
"                        2026-01-01T00:00:00Z)\n"
"  --rate N              events per second of event time (default 10)\n"
"  --disorder DURATION   events arrive up to DURATION out of order\n"
"                        (default 0: in order)\n";

enum {
	OPT_COUNT = OPT_TOOL_BASE,
	OPT_DISORDER,
	OPT_ITEMS,
	OPT_RATE,
	OPT_SEED,
	OPT_START,
	OPT_USERS
};

static const struct option longopts[] = {
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "disorder", required_argument, NULL, OPT_DISORDER },
	{ "items", required_argument, NULL, OPT_ITEMS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "start", required_argument, NULL, OPT_START },
	{ "users", required_argument, NULL, OPT_USERS },
	FS_COMMON_LONGOPTS
};

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
	int c;

	fs_common_init(&o->c, argc, argv);
	o->count = 1000;
	o->users = 100;
	o->items = 500;
	o->seed = 1;
	o->start = 1767225600000;       /* 2026-01-01T00:00:00Z */
	o->rate = 10;
	while ((c = getopt_long(argc, argv, FS_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (fs_common_option(&o->c, c, optarg, usage_text))
			continue;
		switch (c) {
		case OPT_COUNT:
			o->count = opt_i64("--count", optarg, 0, INT64_MAX / 2);
			break;
		case OPT_DISORDER:
			o->disorder = opt_duration("--disorder", optarg);
			break;
		case OPT_ITEMS:
			o->items = opt_i64("--items", optarg, 1, 100000000);
			break;
		case OPT_RATE:
			o->rate = opt_i64("--rate", optarg, 1, 1000000);
			break;
		case OPT_SEED:
			o->seed = opt_i64("--seed", optarg, 0, INT64_MAX);
			break;
		case OPT_START:
			o->start = opt_timestamp("--start", optarg);
			break;
		case OPT_USERS:
			o->users = opt_i64("--users", optarg, 1, 100000000);
			break;
		default:
			diag_usage("unknown option");
		}
	}
	fs_common_finish(&o->c);
	if (optind < argc)
		diag_usage("no operands expected: '%s'", argv[optind]);
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
