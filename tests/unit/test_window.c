/* Unit tests: window assignment and panes, the watermark tracker, the key
 * table and the timer heap (common/window/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "window/winspec.h"
#include "window/window_state.h"
#include "window/window_wm.h"

#define MIN 60000

static struct winspec spec(enum win_kind k, int64_t size, int64_t slide,
    int64_t offset)
{
	struct winspec w = { k, size, slide, offset, 0, 0 };
	const char *why;

	if (winspec_finish(&w, &why) < 0)
		printf("# winspec_finish: %s\n", why);
	return w;
}

static void test_tumble(void)
{
	struct winspec w = spec(WIN_TUMBLE, 10 * MIN, 0, 0);
	int64_t s[4], e[4];
	/* 2021-06-30 00:00:04 and Flink's offset table. */
	int64_t t = 1625011204000, day = 1625011200000;
	int64_t offs[] = { -16, -6, -4, 0, 4, 6, 16 };
	int64_t want[] = { -6, -6, -4, 0, -6, -4, -4 };

	CHECK_I64(w.pane, 10 * MIN, "tumble: pane is the size");
	CHECK_I64(win_assign(&w, 5 * MIN, s, e), 1, "tumble: one window");
	CHECK_I64(s[0], 0, "tumble: start");
	CHECK_I64(e[0], 10 * MIN, "tumble: end");
	CHECK_I64(win_pane_start(&w, -1), -10 * MIN, "tumble: negative times floor");
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		struct winspec o = spec(WIN_TUMBLE, 10 * MIN, 0, offs[i] * MIN);
		char name[80];

		win_assign(&o, t, s, e);
		snprintf(name, sizeof name, "tumble: offset %+lldm as in Flink",
		    (long long)offs[i]);
		CHECK_I64(s[0], day + want[i] * MIN, name);
	}
}

static void test_hop(void)
{
	struct winspec w = spec(WIN_HOP, 10 * MIN, 4 * MIN, 0);
	int64_t s[8], e[8];
	size_t n;

	CHECK_I64(w.pane, 2 * MIN, "hop: pane is gcd(size, slide)");
	CHECK_I64((int64_t)win_max_windows(&w), 3, "hop: at most ceil(size/slide)");
	n = win_assign(&w, 9 * MIN, s, e);
	CHECK_I64((int64_t)n, 3, "hop: 9m is in three windows");
	CHECK_I64(s[0], 0, "hop: first window start");
	CHECK_I64(s[2], 8 * MIN, "hop: last window start");
	CHECK_I64(e[2], 18 * MIN, "hop: last window end");
	n = win_assign(&w, 11 * MIN, s, e);
	CHECK_I64((int64_t)n, 2, "hop: 11m is in two windows");
	CHECK_I64(win_last_end(&w, 9 * MIN), 18 * MIN, "hop: last end");
	/* Pane [8m,10m): windows ending 10m? no (start 0 ends 10m: holds it). */
	CHECK_I64(win_next_end(&w, 8 * MIN, INT64_MIN), 10 * MIN, "hop: first end of pane");
	CHECK_I64(win_next_end(&w, 8 * MIN, 10 * MIN), 14 * MIN, "hop: next end");
	CHECK_I64(win_next_end(&w, 8 * MIN, 14 * MIN), 18 * MIN, "hop: last end of pane");
	CHECK_I64(win_next_end(&w, 8 * MIN, 18 * MIN), INT64_MAX, "hop: none after");
	CHECK_I64(win_start_for_end(&w, 18 * MIN), 8 * MIN, "hop: start for end");
}

static void test_cumulate(void)
{
	struct winspec w = spec(WIN_CUMULATE, 10 * MIN, 2 * MIN, 0);
	int64_t s[8], e[8];
	size_t n = win_assign(&w, 5 * MIN, s, e);
	struct winspec bad = { WIN_CUMULATE, 10 * MIN, 3 * MIN, 0, 0, 0 };
	const char *why;

	CHECK_I64((int64_t)n, 3, "cumulate: 08:05 is in three windows");
	CHECK_I64(e[0], 6 * MIN, "cumulate: first end");
	CHECK_I64(e[2], 10 * MIN, "cumulate: last end");
	CHECK_I64(s[2], 0, "cumulate: start stays");
	CHECK_I64(win_next_end(&w, 4 * MIN, 6 * MIN), 8 * MIN, "cumulate: next end");
	CHECK_I64(win_next_end(&w, 4 * MIN, 10 * MIN), INT64_MAX, "cumulate: none after max");
	CHECK_I64(win_start_for_end(&w, 16 * MIN), 10 * MIN, "cumulate: start for end");
	CHECK(winspec_finish(&bad, &why) < 0, "cumulate: max not a multiple of step");
}

static void test_spec_json(void)
{
	struct winspec w = spec(WIN_HOP, 10 * MIN, 5 * MIN, 7 * MIN), r;
	struct winfields f = { "ws", "we", "wp", true, 1000 }, g;
	json_t *j = winspec_to_json(&w, &f);
	const char *why;

	CHECK(winspec_from_json(j, &r, &g, &why) == 0, "spec: round trip");
	CHECK_I64(r.offset, 2 * MIN, "spec: offset reduced modulo the slide");
	CHECK_I64(r.pane, 5 * MIN, "spec: pane");
	CHECK_STR(g.pane, "wp", "spec: pane field");
	CHECK_I64(g.lateness, 1000, "spec: lateness");
	json_decref(j);
}

static void test_watermark(void)
{
	struct wmark w, ws[2];

	wm_init(&w, 1000, 0);
	CHECK(!wm_event(&w, 500) || w.current == -499, "wm: first event");
	CHECK_I64(w.current, -499,
	    "wm: derived is max - out-of-orderness + 1 (Flink SQL's max - bound)");
	wm_event(&w, 5000);
	wm_event(&w, 3000);
	CHECK_I64(w.current, 4001, "wm: never goes back");
	CHECK(wm_due(&w, 10000, 0), "wm: first is due");
	wm_event(&w, 9000);
	CHECK(!wm_due(&w, 10000, 0), "wm: not due within the grid cell");
	wm_event(&w, 12000);
	CHECK(wm_due(&w, 10000, 0), "wm: due after crossing a boundary");
	wm_input(&w, 2000);
	CHECK_I64(w.current, 11001, "wm: an older input watermark does not move it");
	wm_event(&w, 99000);
	CHECK_I64(w.current, 11001, "wm: after input watermarks, events derive nothing");
	wm_input(&w, 20000);
	CHECK_I64(w.current, 20000, "wm: input watermark moves it");

	wm_init(&ws[0], 0, 1000);
	wm_init(&ws[1], 0, 1000);
	wm_event(&ws[0], 100);
	wm_event(&ws[1], 50);
	CHECK_I64(wm_min(ws, 2), 51, "wm: min of two inputs");
	ws[1].last_arrival = 0;
	CHECK(wm_tick(&ws[1], 5000), "wm: idle input advances with the clock");
	CHECK_I64(ws[1].current, 51 + 5000, "wm: idle rule");
	CHECK_I64(wm_min(ws, 2), 101, "wm: an idle input does not hold back");
}

static void test_keytab(void)
{
	struct keytab t;
	char key[32];
	bool added;
	int ok = 1;

	keytab_init(&t);
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof key, "\"k%d\"", i);

		if (keytab_intern(&t, key, (size_t)n, &added) != (uint32_t)i || !added)
			ok = 0;
	}
	CHECK(ok, "keytab: dense ids, through growth");
	CHECK_I64((int64_t)keytab_intern(&t, "\"k42\"", 5, &added), 42, "keytab: found again");
	CHECK(!added, "keytab: not added twice");
	for (int i = 0; i < 5000; i += 2)
		keytab_remove(&t, (uint32_t)i);
	ok = 1;
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof key, "\"k%d\"", i);
		uint32_t id = keytab_find(&t, key, (size_t)n);

		if ((i % 2 == 0) != (id == KEYTAB_NONE))
			ok = 0;
	}
	CHECK(ok, "keytab: removal keeps the others findable");
	CHECK_I64((int64_t)t.count, 2500, "keytab: count");
	CHECK_I64((int64_t)keytab_intern(&t, "new", 3, &added), 4998, "keytab: ids are reused");
	ok = 1;
	for (int i = 0; i < 200; i++) {
		/* 8 to 31 bytes: inline below KEYTAB_INLINE, else apart */
		char lkey[64];
		int n = snprintf(lkey, sizeof lkey, "\"%.*s%d\"", i % 21 + 5,
		    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", i);
		uint32_t id = keytab_intern(&t, lkey, (size_t)n, &added);
		size_t len;
		const char *got = keytab_key(&t, id, &len);

		if (!added || len != (size_t)n || memcmp(got, lkey, len) != 0 ||
		    got[len] != '\0' || keytab_find(&t, lkey, (size_t)n) != id)
			ok = 0;
		if (i % 3 == 0)
			keytab_remove(&t, id);
	}
	CHECK(ok, "keytab: short and long keys kept, NUL-terminated, found");
	CHECK(keytab_live(&t, 1) && !keytab_live(&t, 0) &&
	    !keytab_live(&t, t.nids), "keytab: live ids");
	keytab_free(&t);
}

static int bytes_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t xn = strlen(x), yn = strlen(y);
	int c = memcmp(x, y, xn < yn ? xn : yn);

	return c != 0 ? c : (xn > yn) - (xn < yn);
}

/* keytab_sort_ids() against qsort of the key texts: prefixes, short and
 * long keys, sorted and reversed runs. */
static void test_keytab_sort(void)
{
	enum { N = 3000 };
	struct keytab t;
	static char text[N][40];
	const char *want[N];
	uint32_t ids[N];
	bool added;
	int ok = 1;
	uint64_t x = 88172645463325252u;

	keytab_init(&t);
	for (int i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i % 5 == 0)         /* a run of prefixes: a, aa, aaa ... */
			snprintf(text[i], sizeof text[i], "%.*s", i / 5 % 30 + 1,
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		else
			snprintf(text[i], sizeof text[i], "%s%llu",
			    i % 2 ? "k" : "key-longer-than-fifteen-",
			    (unsigned long long)(i < N / 2 ? x % 1000 :
			    (uint64_t)(N - i)));
		ids[i] = keytab_intern(&t, text[i], strlen(text[i]), &added);
	}
	/* Duplicate texts map to one id: sort the distinct ids. */
	size_t n = 0;
	for (size_t id = 0; id < t.nids; id++) {
		size_t len;

		want[n] = keytab_key(&t, (uint32_t)id, &len);
		ids[n++] = (uint32_t)id;
	}
	qsort(want, n, sizeof *want, bytes_cmp);
	keytab_sort_ids(&t, ids, n);
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (strcmp(keytab_key(&t, ids[i], &len), want[i]) != 0)
			ok = 0;
	}
	CHECK(ok && n > 1000, "keytab: ids sorted in place by key bytes");
	keytab_sort_ids(&t, ids, n);
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (strcmp(keytab_key(&t, ids[i], &len), want[i]) != 0)
			ok = 0;
	}
	CHECK(ok, "keytab: sorted ids sort to themselves");
	keytab_free(&t);
}

/* keytimers_pop_time(): the ids of the earliest time, kept in the heap's
 * room while the caller pushes one timer per id consumed. */
static void test_keytimers(void)
{
	struct keytimers h;
	uint32_t *ids, seen[1000] = { 0 };
	int64_t t;
	size_t k;
	int ok = 1;

	keytimers_init(&h);
	for (uint32_t i = 0; i < 1000; i++)
		keytimers_push(&h, (struct ktimer){ i % 3 ? 10 : 20, i });
	CHECK_I64((int64_t)keytimers_pop_time(&h, 5, &t, &ids), 0,
	    "keytimers: nothing due before 10");
	k = keytimers_pop_time(&h, 15, &t, &ids);
	CHECK(k == 666 && t == 10, "keytimers: every timer of the earliest "
	    "time");
	for (size_t j = 0; j < k; j++) {
		if (ids[j] >= 1000 || ids[j] % 3 == 0 || seen[ids[j]]++)
			ok = 0;
		keytimers_push(&h, (struct ktimer){ 30, ids[j] });
	}
	CHECK(ok, "keytimers: each id once, intact while one timer is "
	    "pushed per id consumed");
	CHECK_I64((int64_t)keytimers_pop_time(&h, 100, &t, &ids), 334,
	    "keytimers: then the next time");
	CHECK_I64(t, 20, "keytimers: its time");
	CHECK_I64((int64_t)keytimers_pop_time(&h, 100, &t, &ids), 666,
	    "keytimers: and the timers pushed meanwhile");
	keytimers_free(&h);
}

static void test_timers(void)
{
	struct timerheap h;
	struct timer tm;
	int64_t times[] = { 50, 10, 30, 10, 40, 20 };
	uint32_t order[6];
	int n = 0;

	timerheap_init(&h);
	for (uint32_t i = 0; i < 6; i++)
		timerheap_push(&h, times[i], i);
	CHECK(!timerheap_pop(&h, 5, &tm), "timers: nothing due before 10");
	while (timerheap_pop(&h, 40, &tm))
		order[n++] = tm.id;
	CHECK_I64(n, 5, "timers: five due by 40");
	CHECK(order[0] == 1 && order[1] == 3, "timers: ties pop in push order");
	CHECK(order[2] == 5 && order[3] == 2 && order[4] == 4, "timers: by time");
	CHECK(timerheap_pop(&h, INT64_MAX, &tm) && tm.id == 0, "timers: the last");
	timerheap_free(&h);
}

int main(void)
{
	test_tumble();
	test_hop();
	test_cumulate();
	test_spec_json();
	test_watermark();
	test_keytab();
	test_timers();
	test_keytab_sort();
	test_keytimers();
	return tap_done();
}
