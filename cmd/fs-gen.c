/*
 * fs-gen - a deterministic generator of events for demos, tests and
 * benchmarks: clicks (the default) or the Nexmark auction.  See fs-gen(1).
 *
 * The same options and seed give the same bytes on every machine: the
 * random numbers come from splitmix64, not the C library, and times are
 * computed from the event index, not the clock.
 *
 * Clicks: {"ts":MS,"user":"u0042","event":"view","item":"i0123",
 * "amount":37}.  Users are skewed (a few users make many events, as on
 * a real site); events are views, clicks, carts and purchases in the
 * ratio 70:20:7:3; amount is the item's price, a whole number 1..500.
 *
 * Nexmark (--model nexmark): the online auction of the Nexmark
 * benchmark, modelled on its generator (Apache Beam's and the nexmark
 * repository's GeneratorConfig, PersonGenerator, AuctionGenerator and
 * BidGenerator, default configuration): of every 50 events 1 is a
 * person, 3 are auctions and 46 bids; ids, hot sellers, bidders and
 * auctions, prices, categories, auction lengths, channels, urls and the
 * padding "extra" strings follow those classes.  Each event draws from
 * its own stream, seeded by the seed and its number, as Nexmark seeds a
 * java.util.Random with the event id (the numbers are not Java's).
 * Records take the shape of the Flink nexmark source's rows:
 * {"event_type":2,"ts":MS,"bid":{...}} (0 person, 1 auction, 2 bid).
 *
 * Records are written with rec.h's splicing functions (escaping stays
 * rec.c's), not through jansson values: that was most of the time.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "tool.h"
#include "banned.h"

static const char usage_text[] =
"usage: fs-gen [--model MODEL] [--count N] [--users N] [--items N]\n"
"              [--seed N] [--start TIME] [--rate N] [--disorder DURATION]\n"
"Writes deterministic click or Nexmark events as NDJSON.\n";

enum model { MODEL_CLICKS, MODEL_NEXMARK };

static const char *const model_words[] = { "clicks", "nexmark", NULL };

struct opts {
	struct fs_common c;
	int64_t count, users, items, seed, start, rate, disorder;
	enum model model;
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

/* Uniform in [0, 1). */
static double unit(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * 0x1.0p-53;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
		OPT_INT(0, "count", &o->count, 0, INT64_MAX / 2, "N",
		    "events to write (default 1000)"),
		OPT_INT(0, "users", &o->users, 1, 100000000, "N",
		    "clicks: distinct users (default 100)"),
		OPT_INT(0, "items", &o->items, 1, 100000000, "N",
		    "clicks: distinct items (default 500)"),
		OPT_POLICY(0, "model", &o->model, model_words, "MODEL",
		    "clicks (default) or nexmark (persons,\n"
		    "auctions and bids)"),
		OPT_INT(0, "seed", &o->seed, 0, INT64_MAX, "N",
		    "random seed (default 1)"),
		OPT_TIME(0, "start", &o->start, "TIME",
		    "time of the first event (default\n"
		    "2026-01-01T00:00:00Z)"),
		OPT_INT(0, "rate", &o->rate, 1, 1000000, "N",
		    "events per second of event time (default\n"
		    "10; nexmark 10000)"),
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
	o->rate = 0;                    /* by model, below */
	o->model = MODEL_CLICKS;
	first = opt_parse(usage_text, opts, 0, argc, argv);
	fs_common_finish(&o->c);
	if (first < argc)
		diag_usage("no operands expected: '%s'", argv[first]);
	if (o->rate == 0)
		o->rate = o->model == MODEL_NEXMARK ? 10000 : 10;
}

/* Event i's time: TIME + i / rate seconds, earlier by up to --disorder. */
static int64_t event_time(const struct opts *o, int64_t i, uint64_t *rng)
{
	int64_t ts = o->start + i * 1000 / o->rate;

	if (o->disorder > 0)
		ts -= (int64_t)below(rng, (uint64_t)o->disorder + 1);
	return ts;
}

/* --- clicks ------------------------------------------------------------ */

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

/* "p" and v zero-padded to width digits into dst (room for 24 bytes). */
static void padded(char *dst, char p, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	*dst++ = p;
	for (int k = n; k < width; k++)
		*dst++ = '0';
	while (n > 0)
		*dst++ = tmp[--n];
	*dst = '\0';
}

static int digits(int64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void gen_clicks(const struct opts *o, struct out *out)
{
	struct buf b = BUF_INIT;
	uint64_t rng = (uint64_t)o->seed;
	char user[32], item[32];
	int uw = digits(o->users - 1), iw = digits(o->items - 1);

	uw = uw < 4 ? 4 : uw;
	iw = iw < 4 ? 4 : iw;
	for (int64_t i = 0; i < o->count && !sig_stop_requested(); i++) {
		uint64_t u = skewed(&rng, (uint64_t)o->users);
		uint64_t it = below(&rng, (uint64_t)o->items);
		int64_t ts = event_time(o, i, &rng);

		padded(user, 'u', u, uw);
		padded(item, 'i', it, iw);
		rec_splice_begin(&b, "{}", 2);
		rec_splice_i64(&b, "ts", ts);
		rec_splice_str(&b, "user", user);
		rec_splice_str(&b, "event", event_type(&rng));
		rec_splice_str(&b, "item", item);
		rec_splice_i64(&b, "amount", price(it, (uint64_t)o->seed));
		rec_splice_end(&b);
		out_line(out, b.data, b.len);
	}
	buf_free(&b);
}

/* --- nexmark ----------------------------------------------------------- */

/* Nexmark's GeneratorConfig and NexmarkConfiguration defaults. */
#define NX_PERSON_PROPORTION 1
#define NX_AUCTION_PROPORTION 3
#define NX_PROPORTION_DENOMINATOR 50    /* 1 + 3 + 46 */
#define NX_FIRST_PERSON_ID 1000
#define NX_FIRST_AUCTION_ID 1000
#define NX_FIRST_CATEGORY_ID 10
#define NX_NUM_CATEGORIES 5
#define NX_NUM_ACTIVE_PEOPLE 1000
#define NX_NUM_IN_FLIGHT_AUCTIONS 100
#define NX_PERSON_ID_LEAD 10
#define NX_AUCTION_ID_LEAD 10
#define NX_HOT_SELLERS_RATIO 4          /* 3 in 4 auctions by hot sellers */
#define NX_HOT_AUCTION_RATIO 2          /* 1 in 2 bids on hot auctions */
#define NX_HOT_BIDDERS_RATIO 4          /* 3 in 4 bids by hot bidders */
#define NX_HOT_BATCH 100                /* HOT_{SELLER,AUCTION,BIDDER}_RATIO */
#define NX_HOT_CHANNELS_RATIO 2         /* 1 in 2 bids from hot channels */
#define NX_CHANNELS 10000
#define NX_AVG_PERSON_BYTES 200
#define NX_AVG_AUCTION_BYTES 500
#define NX_AVG_BID_BYTES 100

static const char *const nx_first_names[] = { "Peter", "Paul", "Luke",
	"John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter",
	"Walter" };
static const char *const nx_last_names[] = { "Shultz", "Abrams",
	"Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris" };
static const char *const nx_cities[] = { "Phoenix", "Los Angeles",
	"San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle",
	"Kent", "Cheyenne" };
static const char *const nx_states[] = { "AZ", "CA", "ID", "OR", "WA",
	"WY" };
static const char *const nx_hot_channels[] = { "Google", "Facebook",
	"Baidu", "Apple" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int64_t nx_last_person(int64_t id)
{
	int64_t epoch = id / NX_PROPORTION_DENOMINATOR;
	int64_t off = id % NX_PROPORTION_DENOMINATOR;

	if (off >= NX_PERSON_PROPORTION)
		off = NX_PERSON_PROPORTION - 1;
	return epoch * NX_PERSON_PROPORTION + off;
}

/* A person who exists: one of the active ones, or up to 10 ahead. */
static int64_t nx_next_person(int64_t id, uint64_t *r)
{
	int64_t people = nx_last_person(id) + 1;
	int64_t active = people < NX_NUM_ACTIVE_PEOPLE ? people :
	    NX_NUM_ACTIVE_PEOPLE;

	return people - active +
	    (int64_t)below(r, (uint64_t)(active + NX_PERSON_ID_LEAD));
}

static int64_t nx_last_auction(int64_t id)
{
	int64_t epoch = id / NX_PROPORTION_DENOMINATOR;
	int64_t off = id % NX_PROPORTION_DENOMINATOR;

	if (off < NX_PERSON_PROPORTION) {
		epoch--;
		off = NX_AUCTION_PROPORTION - 1;
	} else if (off >= NX_PERSON_PROPORTION + NX_AUCTION_PROPORTION) {
		off = NX_AUCTION_PROPORTION - 1;
	} else {
		off -= NX_PERSON_PROPORTION;
	}
	return epoch * NX_AUCTION_PROPORTION + off;
}

static int64_t nx_next_auction(int64_t id, uint64_t *r)
{
	int64_t last = nx_last_auction(id);
	int64_t lo = last - NX_NUM_IN_FLIGHT_AUCTIONS > 0 ?
	    last - NX_NUM_IN_FLIGHT_AUCTIONS : 0;

	return lo + (int64_t)below(r, (uint64_t)(last - lo + 1 +
	    NX_AUCTION_ID_LEAD));
}

/* 10^(6u) * 100 rounded: 100 to 100,000,000, log-uniform. */
static int64_t nx_price(uint64_t *r)
{
	return llround(pow(10.0, unit(r) * 6.0) * 100.0);
}

/* 3 to max-1 letters, a few of them special, trimmed of spaces. */
static size_t nx_string(char *dst, uint64_t *r, int max, char special)
{
	int len = 3 + (int)below(r, (uint64_t)max - 3);
	size_t n = 0, lo = 0;

	while (len-- > 0)
		dst[n++] = below(r, 13) == 0 ? special :
		    (char)('a' + below(r, 26));
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	while (lo < n && dst[lo] == ' ')
		lo++;
	memmove(dst, dst + lo, n - lo);
	dst[n - lo] = '\0';
	return n - lo;
}

/* Padding that brings a record of size bytes to avg bytes on average
 * (80% to 120% of what is missing); dst has room for 2 * avg. */
static void nx_extra(char *dst, uint64_t *r, size_t size, int avg)
{
	int want, delta, n;

	dst[0] = '\0';
	if ((int)size > avg)
		return;
	want = avg - (int)size;
	delta = (int)lround(want * 0.2);
	n = want - delta + (delta ? (int)below(r, 2 * (uint64_t)delta) : 0);
	for (int k = 0; k < n; k++)
		dst[k] = (char)('a' + below(r, 26));
	dst[n] = '\0';
}

/* https://www.nexmark.com/a/b/c/item.htm?query=1 */
static void nx_base_url(char *dst, size_t cap, uint64_t *r)
{
	char p[3][8];

	for (int k = 0; k < 3; k++)
		nx_string(p[k], r, 5, '_');
	snprintf(dst, cap, "https://www.nexmark.com/%s/%s/%s/item.htm?query=1",
	    p[0], p[1], p[2]);
}

/* Nexmark's Integer.reverse(): the bits of a 32-bit number reversed. */
static uint32_t reverse32(uint32_t v)
{
	uint32_t r = 0;

	for (int k = 0; k < 32; k++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

/* A channel's url, fixed per channel and seed (Nexmark caches them);
 * nine in ten carry the channel's id. */
static void nx_channel_url(char *dst, size_t cap, uint64_t seed, uint64_t ch,
    bool hot)
{
	uint64_t r = seed * 0xd1342543de82ef95ULL ^
	    ((hot ? NX_CHANNELS + ch : ch) + 1) * 0x9e3779b97f4a7c15ULL;
	size_t n;

	nx_base_url(dst, cap, &r);
	if (!hot && below(&r, 10) > 0) {
		int32_t rev = (int32_t)reverse32((uint32_t)ch);
		int64_t id = rev < 0 ? -(int64_t)rev : rev;

		n = strlen(dst);
		snprintf(dst + n, cap - n, "&channel_id=%" PRId64, id);
	}
}

static void nx_person(struct buf *b, int64_t id, int64_t ts, uint64_t *r)
{
	char name[32], email[32], card[24], extra[2 * NX_AVG_PERSON_BYTES];
	const char *city, *state;
	size_t n;

	snprintf(name, sizeof name, "%s %s",
	    nx_first_names[below(r, NELEM(nx_first_names))],
	    nx_last_names[below(r, NELEM(nx_last_names))]);
	n = nx_string(email, r, 7, ' ');
	email[n++] = '@';
	n += nx_string(email + n, r, 5, ' ');
	memcpy(email + n, ".com", 5);
	snprintf(card, sizeof card, "%04d %04d %04d %04d",
	    (int)below(r, 10000), (int)below(r, 10000),
	    (int)below(r, 10000), (int)below(r, 10000));
	city = nx_cities[below(r, NELEM(nx_cities))];
	state = nx_states[below(r, NELEM(nx_states))];
	nx_extra(extra, r, 8 + strlen(name) + strlen(email) + strlen(card) +
	    strlen(city) + strlen(state), NX_AVG_PERSON_BYTES);
	rec_splice_object(b, "person");
	rec_splice_i64(b, "id", nx_last_person(id) + NX_FIRST_PERSON_ID);
	rec_splice_str(b, "name", name);
	rec_splice_str(b, "emailAddress", email);
	rec_splice_str(b, "creditCard", card);
	rec_splice_str(b, "city", city);
	rec_splice_str(b, "state", state);
	rec_splice_i64(b, "dateTime", ts);
	rec_splice_str(b, "extra", extra);
	rec_splice_end(b);
}

static void nx_auction(struct buf *b, const struct opts *o, int64_t id,
    int64_t ts, uint64_t *r)
{
	char item[24], desc[104], extra[2 * NX_AVG_AUCTION_BYTES];
	int64_t seller, category, initial, reserve, horizon, expires;

	if (below(r, NX_HOT_SELLERS_RATIO) > 0)
		seller = nx_last_person(id) / NX_HOT_BATCH * NX_HOT_BATCH;
	else
		seller = nx_next_person(id, r);
	category = NX_FIRST_CATEGORY_ID + (int64_t)below(r, NX_NUM_CATEGORIES);
	initial = nx_price(r);
	/* open until about twice the time 100 more auctions take */
	horizon = (id + NX_NUM_IN_FLIGHT_AUCTIONS * NX_PROPORTION_DENOMINATOR /
	    NX_AUCTION_PROPORTION) * 1000 / o->rate - id * 1000 / o->rate;
	expires = ts + 1 + (int64_t)below(r, (uint64_t)(horizon * 2 > 1 ?
	    horizon * 2 : 1));
	nx_string(item, r, 20, ' ');
	nx_string(desc, r, 100, ' ');
	reserve = initial + nx_price(r);
	nx_extra(extra, r, 8 + strlen(item) + strlen(desc) + 40,
	    NX_AVG_AUCTION_BYTES);
	rec_splice_object(b, "auction");
	rec_splice_i64(b, "id", nx_last_auction(id) + NX_FIRST_AUCTION_ID);
	rec_splice_str(b, "itemName", item);
	rec_splice_str(b, "description", desc);
	rec_splice_i64(b, "initialBid", initial);
	rec_splice_i64(b, "reserve", reserve);
	rec_splice_i64(b, "dateTime", ts);
	rec_splice_i64(b, "expires", expires);
	rec_splice_i64(b, "seller", seller + NX_FIRST_PERSON_ID);
	rec_splice_i64(b, "category", category);
	rec_splice_str(b, "extra", extra);
	rec_splice_end(b);
}

static void nx_bid(struct buf *b, const struct opts *o, int64_t id,
    int64_t ts, uint64_t *r)
{
	char channel[24], url[128], extra[2 * NX_AVG_BID_BYTES];
	int64_t auction, bidder, price_;
	uint64_t ch;

	if (below(r, NX_HOT_AUCTION_RATIO) > 0)
		auction = nx_last_auction(id) / NX_HOT_BATCH * NX_HOT_BATCH;
	else
		auction = nx_next_auction(id, r);
	if (below(r, NX_HOT_BIDDERS_RATIO) > 0)
		bidder = nx_last_person(id) / NX_HOT_BATCH * NX_HOT_BATCH + 1;
	else
		bidder = nx_next_person(id, r);
	price_ = nx_price(r);
	if (below(r, NX_HOT_CHANNELS_RATIO) > 0) {
		ch = below(r, NELEM(nx_hot_channels));
		snprintf(channel, sizeof channel, "%s", nx_hot_channels[ch]);
		nx_channel_url(url, sizeof url, (uint64_t)o->seed, ch, true);
	} else {
		ch = below(r, NX_CHANNELS);
		snprintf(channel, sizeof channel, "channel-%d", (int)ch);
		nx_channel_url(url, sizeof url, (uint64_t)o->seed, ch, false);
	}
	nx_extra(extra, r, 32, NX_AVG_BID_BYTES);
	rec_splice_object(b, "bid");
	rec_splice_i64(b, "auction", auction + NX_FIRST_AUCTION_ID);
	rec_splice_i64(b, "bidder", bidder + NX_FIRST_PERSON_ID);
	rec_splice_i64(b, "price", price_);
	rec_splice_str(b, "channel", channel);
	rec_splice_str(b, "url", url);
	rec_splice_i64(b, "dateTime", ts);
	rec_splice_str(b, "extra", extra);
	rec_splice_end(b);
}

static void gen_nexmark(const struct opts *o, struct out *out)
{
	struct buf b = BUF_INIT;

	for (int64_t i = 0; i < o->count && !sig_stop_requested(); i++) {
		/* the event's own stream, as Nexmark's new Random(eventId) */
		uint64_t r = (uint64_t)o->seed * 0xbf58476d1ce4e5b9ULL ^
		    (uint64_t)i * 0x94d049bb133111ebULL;
		int64_t off = i % NX_PROPORTION_DENOMINATOR;
		int type = off < NX_PERSON_PROPORTION ? 0 :
		    off < NX_PERSON_PROPORTION + NX_AUCTION_PROPORTION ? 1 : 2;
		int64_t ts = event_time(o, i, &r);

		rec_splice_begin(&b, "{}", 2);
		rec_splice_i64(&b, "event_type", type);
		rec_splice_i64(&b, "ts", ts);
		if (type == 0)
			nx_person(&b, i, ts, &r);
		else if (type == 1)
			nx_auction(&b, o, i, ts, &r);
		else
			nx_bid(&b, o, i, ts, &r);
		rec_splice_end(&b);
		out_line(out, b.data, b.len);
	}
	buf_free(&b);
}

int main(int argc, char **argv)
{
	static struct opts o;
	struct out out;

	parse_options(&o, argc, argv);
	out_init(&out, 1, "stdout");
	out_set_metrics(&out, o.c.metrics);
	if (o.model == MODEL_NEXMARK)
		gen_nexmark(&o, &out);
	else
		gen_clicks(&o, &out);
	out_close(&out);
	return 0;
}
