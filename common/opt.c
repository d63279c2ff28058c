/* opt.c - options from one table (see opt.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "etime.h"
#include "num.h"
#include "opt.h"
#include "xalloc.h"
#include "banned.h"

const char *const opt_on_error_words[] = { "fail", "skip", "dead-letter",
    NULL };

_Static_assert(ON_ERROR_FAIL == 0 && ON_ERROR_SKIP == 1 &&
    ON_ERROR_DEAD_LETTER == 2, "opt_on_error_words out of enum order");

void opt_quiet(void *data, const char *name, const char *arg)
{
	(void)data, (void)name, (void)arg;
	diag_set_verbosity(DIAG_QUIET);
}

void opt_verbose(void *data, const char *name, const char *arg)
{
	(void)data, (void)name, (void)arg;
	/* Above --stats's DIAG_VERBOSE: also the progress line. */
	diag_set_verbosity(DIAG_PROGRESS);
}

static bool takes_arg(const struct opt *o)
{
	switch (o->kind) {
	case OPT_KIND_FLAG:
	case OPT_KIND_HELP:
	case OPT_KIND_VERSION:
	case OPT_KIND_OLD_SHORT:
	case OPT_KIND_SORTED:
		return false;
	case OPT_KIND_CALLBACK:
		return o->argname != NULL;
	default:
		return true;
	}
}

/* --- the table's checks and getopt_long's arrays -------------------- */

/* The entry whose letter is c, or whose long name is name, not counting
 * old spellings; NULL if none. */
static const struct opt *entry_by_letter(const struct opt *opts, int c)
{
	for (; opts->kind != OPT_KIND_END; opts++)
		if (opts->kind != OPT_KIND_OLD_SHORT && opts->short_name == c)
			return opts;
	return NULL;
}

static const struct opt *entry_by_name(const struct opt *opts,
    const char *name)
{
	for (; opts->kind != OPT_KIND_END; opts++)
		if (opts->name != NULL && strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

/* The old spelling of letter c, or NULL. */
static const struct opt *old_short(const struct opt *opts, int c)
{
	for (; opts->kind != OPT_KIND_END; opts++)
		if (opts->kind == OPT_KIND_OLD_SHORT && opts->short_name == c)
			return opts;
	return NULL;
}

/* An old spelling: -c is some flag's now, and its target takes an
 * argument. */
static int check_old_short(const struct opt *opts, size_t i, char *why,
    size_t whylen)
{
	const struct opt *o = &opts[i], *now, *to;

	now = entry_by_letter(opts, o->short_name);
	to = o->target ? entry_by_name(opts, o->target) : NULL;
	if (o->name != NULL || o->help != NULL || now == NULL ||
	    takes_arg(now)) {
		snprintf(why, whylen, "old -%c: the letter must be an option "
		    "without argument", o->short_name);
		return -1;
	}
	if (to == NULL || !takes_arg(to)) {
		snprintf(why, whylen, "old -%c: --%s is not an option with an "
		    "argument", o->short_name, o->target ? o->target : "");
		return -1;
	}
	if (old_short(opts, o->short_name) != o) {
		snprintf(why, whylen, "old -%c declared twice", o->short_name);
		return -1;
	}
	return 0;
}

static int check_entry(const struct opt *opts, size_t i, char *why,
    size_t whylen)
{
	const struct opt *o = &opts[i];
	const char *n = o->name ? o->name : "";

	if (o->kind == OPT_KIND_SORTED)
		return 0;
	if (o->name == NULL && o->short_name == 0) {
		snprintf(why, whylen, "entry %zu has no name", i);
		return -1;
	}
	if (o->short_name != 0 && (o->short_name > 127 ||
	    !isalnum(o->short_name))) {
		snprintf(why, whylen, "entry %zu: short option not a letter "
		    "or digit", i);
		return -1;
	}
	if (o->name != NULL && (o->name[0] == '\0' || o->name[0] == '-' ||
	    strlen(o->name) > 64 || strchr(o->name, '=') != NULL)) {
		snprintf(why, whylen, "entry %zu: bad long name '%s'", i, n);
		return -1;
	}
	if (takes_arg(o) != (o->argname != NULL)) {
		snprintf(why, whylen, "%s%s: argument name %s", n,
		    o->name ? "" : "(short)", o->argname ? "given to an "
		    "option without argument" : "missing");
		return -1;
	}
	if (o->kind == OPT_KIND_POLICY && (o->words == NULL ||
	    o->words[0] == NULL)) {
		snprintf(why, whylen, "%s: policy without words", n);
		return -1;
	}
	if (o->kind == OPT_KIND_CALLBACK && o->fn == NULL) {
		snprintf(why, whylen, "%s: callback without function", n);
		return -1;
	}
	if (o->kind == OPT_KIND_OLD_SHORT)
		return check_old_short(opts, i, why, whylen);
	for (size_t j = 0; j < i; j++) {
		if (o->name && opts[j].name && strcmp(o->name, opts[j].name) == 0) {
			snprintf(why, whylen, "--%s declared twice", o->name);
			return -1;
		}
		if (o->short_name && o->short_name == opts[j].short_name &&
		    opts[j].kind != OPT_KIND_OLD_SHORT) {
			snprintf(why, whylen, "-%c declared twice",
			    o->short_name);
			return -1;
		}
	}
	return 0;
}

int opt_getopt_build(struct opt_getopt *g, const struct opt *opts,
    unsigned flags, char *why, size_t whylen)
{
	size_t n = 0, nl = 0, ns = 0;

	g->longopts = NULL;
	g->shortopts = NULL;
	for (; opts[n].kind != OPT_KIND_END; n++)
		if (check_entry(opts, n, why, whylen) < 0)
			return -1;
	g->longopts = xcalloc(n + 1, sizeof *g->longopts);
	g->shortopts = xmalloc(3 * n + 2);
	if (flags & OPT_STOP_AT_OPERAND)
		g->shortopts[ns++] = '+';
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &opts[i];
		int has = takes_arg(o) ? required_argument : no_argument;

		if (o->kind == OPT_KIND_OLD_SHORT || o->kind == OPT_KIND_SORTED)
			continue;
		if (o->short_name) {
			g->shortopts[ns++] = (char)o->short_name;
			if (has == required_argument)
				g->shortopts[ns++] = ':';
			/* -hVALUE: an optional argument, only attached */
			else if (old_short(opts, o->short_name) != NULL) {
				g->shortopts[ns++] = ':';
				g->shortopts[ns++] = ':';
			}
		}
		if (o->name) {
			g->longopts[nl].name = o->name;
			g->longopts[nl].has_arg = has;
			g->longopts[nl].flag = NULL;
			g->longopts[nl].val = o->short_name ? o->short_name :
			    OPT_CODE_BASE + (int)i;
			nl++;
		}
	}
	g->shortopts[ns] = '\0';
	return 0;
}

void opt_getopt_free(struct opt_getopt *g)
{
	free(g->longopts);
	free(g->shortopts);
	g->longopts = NULL;
	g->shortopts = NULL;
}

/* --- --help ---------------------------------------------------------- */

static void append_spaces(struct buf *b, size_t n)
{
	while (n-- > 0)
		buf_appendc(b, ' ');
}

static void help_entry(struct buf *b, const struct opt *o, unsigned flags)
{
	size_t start = b->len, width, col = OPT_HELP_COLUMN;
	size_t wide = (flags >> 8) & 0xffu;
	const char *h = o->help;

	buf_appends(b, "  ");
	if (o->short_name) {
		buf_appendc(b, '-');
		buf_appendc(b, (char)o->short_name);
		if (o->name)
			buf_appends(b, ", ");
	}
	if (o->name) {
		buf_appends(b, "--");
		buf_appends(b, o->name);
	}
	if (o->argname) {
		buf_appendc(b, ' ');
		buf_appends(b, o->argname);
	}
	width = b->len - start;
	if (width >= col && wide > col)
		col = wide;
	if (width < col)
		append_spaces(b, col - width);
	else if (flags & OPT_HELP_SAME_LINE)
		append_spaces(b, 2);
	else {
		buf_appendc(b, '\n');
		append_spaces(b, col);
	}
	for (;;) {
		const char *nl = strchr(h, '\n');

		if (nl == NULL) {
			buf_appends(b, h);
			buf_appendc(b, '\n');
			return;
		}
		buf_append(b, h, (size_t)(nl - h + 1));
		h = nl + 1;
		append_spaces(b, col);
	}
}

/* OPT_SORTED's order: letters first, by letter ignoring case (lower
 * case first), then long-only options by name. */
static int help_order(const void *pa, const void *pb)
{
	const struct opt *a = *(const struct opt *const *)pa;
	const struct opt *b = *(const struct opt *const *)pb;
	int la = tolower(a->short_name), lb = tolower(b->short_name);

	if (a->short_name && b->short_name)
		return la != lb ? la - lb : b->short_name - a->short_name;
	if (a->short_name || b->short_name)
		return a->short_name ? -1 : 1;
	return strcmp(a->name, b->name);
}

void opt_help(struct buf *b, const char *usage, const struct opt *opts,
    unsigned flags)
{
	const struct opt **run = NULL;
	size_t n = 0, cap = 0, i;

	buf_appends(b, usage);
	for (;; opts++) {
		if (opts->kind != OPT_KIND_SORTED && opts->kind != OPT_KIND_END) {
			run = xgrow(run, &cap, n + 1, sizeof *run);
			run[n++] = opts;
			continue;
		}
		if (opts->kind == OPT_KIND_SORTED)
			qsort(run, n, sizeof *run, help_order);
		for (i = 0; i < n; i++)
			if (run[i]->help != NULL)
				help_entry(b, run[i], flags);
		n = 0;
		if (opts->kind == OPT_KIND_END)
			break;
	}
	free(run);
}

/* --- values ---------------------------------------------------------- */

/* "1h30m", "250ms", "0s": ms as dur_parse() reads it back. */
static void format_duration(int64_t ms, char *dst, size_t n)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 }
	};
	size_t len = 0;

	dst[0] = '\0';
	if (ms == 0) {
		snprintf(dst, n, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		int64_t k = ms / units[i].ms;

		if (k == 0)
			continue;
		ms -= k * units[i].ms;
		if (len < n)
			len += (size_t)snprintf(dst + len, n - len, "%" PRId64
			    "%s", k, units[i].unit);
	}
}

static void set_duration(const struct opt *o, const char *name,
    const char *arg)
{
	char lo[64], hi[64];
	int64_t ms;

	if (o->min == 0 && o->max == INT64_MAX) {
		*o->to.i64 = opt_duration(name, arg);
		return;
	}
	if (dur_parse(arg, &ms) == 0 && ms >= o->min && ms <= o->max) {
		*o->to.i64 = ms;
		return;
	}
	format_duration(o->min, lo, sizeof lo);
	format_duration(o->max, hi, sizeof hi);
	if (o->max == INT64_MAX)
		diag_usage("%s: expected a duration of at least %s, such as "
		    "250ms, 10s or 1h30m: '%s'", name, lo, arg);
	diag_usage("%s: expected a duration from %s to %s, such as 250ms, "
	    "10s or 1h30m: '%s'", name, lo, hi, arg);
}

static const char size_units[] = "KMGT";

/* "16M", "2G", "1000": bytes in the largest unit that divides them. */
static void format_size(uint64_t v, char *dst, size_t n)
{
	int u = -1;

	while (v != 0 && u < 3 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(dst, n, "%" PRIu64, v);
	else
		snprintf(dst, n, "%" PRIu64 "%c", v, size_units[u]);
}

/* Digits and an optional K, M, G or T (either case); -1 on overflow. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	const char *u;
	uint64_t mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0' ||
		    (u = strchr(size_units, toupper((unsigned char)*end))) ==
		    NULL)
			return -1;
		mult = (uint64_t)1 << (10 * (u - size_units + 1));
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static void set_size(const struct opt *o, const char *name, const char *arg)
{
	char lo[32], hi[32];
	uint64_t v;

	if (parse_size(arg, &v) == 0 && v >= (uint64_t)o->min &&
	    v <= (uint64_t)o->max) {
		*o->to.u64 = v;
		return;
	}
	format_size((uint64_t)o->min, lo, sizeof lo);
	format_size((uint64_t)o->max, hi, sizeof hi);
	diag_usage("%s: expected a size from %s to %s, such as 256M or 2G: "
	    "'%s'", name, lo, hi, arg);
}

static void set_policy(const struct opt *o, const char *name,
    const char *arg)
{
	struct buf want = BUF_INIT;
	int i;

	for (i = 0; o->words[i] != NULL; i++)
		if (strcmp(arg, o->words[i]) == 0) {
			*o->to.policy = i;
			return;
		}
	for (i = 0; o->words[i] != NULL; i++) {
		if (i > 0)
			buf_appends(&want, o->words[i + 1] ? ", " : " or ");
		buf_appends(&want, o->words[i]);
	}
	diag_usage("%s: expected %s: '%s'", name, want.data, arg);
}

void opt_set(const struct opt *o, const char *name, const char *arg)
{
	struct opt_list *l;

	switch (o->kind) {
	case OPT_KIND_FLAG:
		*o->to.flag = true;
		break;
	case OPT_KIND_STRING:
		*o->to.str = arg;
		break;
	case OPT_KIND_INT:
		*o->to.i64 = opt_i64(name, arg, o->min, o->max);
		break;
	case OPT_KIND_NUMBER:
		*o->to.num = opt_double(name, arg, o->dmin, o->dmax);
		break;
	case OPT_KIND_DURATION:
		set_duration(o, name, arg);
		break;
	case OPT_KIND_SIZE:
		set_size(o, name, arg);
		break;
	case OPT_KIND_TIME:
		*o->to.i64 = opt_timestamp(name, arg);
		break;
	case OPT_KIND_POLICY:
		set_policy(o, name, arg);
		break;
	case OPT_KIND_LIST:
		l = o->to.list;
		l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
		l->v[l->n++] = arg;
		break;
	case OPT_KIND_CALLBACK:
		o->fn(o->to.data, name, arg);
		break;
	case OPT_KIND_END:
	case OPT_KIND_HELP:
	case OPT_KIND_VERSION:
	case OPT_KIND_OLD_SHORT:
	case OPT_KIND_SORTED:
		break;
	}
}

void opt_list_free(struct opt_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* --- the parser ------------------------------------------------------ */

static void print_and_exit(struct buf *b)
{
	fwrite(b->data, 1, b->len, stdout);
	buf_free(b);
	if (fflush(stdout) != 0 || ferror(stdout))
		diag_fatal("write error: stdout");
	exit(0);
}

static const struct opt *find(const struct opt *opts, int c)
{
	if (c >= OPT_CODE_BASE)
		return &opts[c - OPT_CODE_BASE];
	return entry_by_letter(opts, c);
}

/*
 * The value of an old spelling when the letter c just read is one
 * (-hVALUE, or -h alone followed by VALUE, which is taken), else NULL:
 * the letter means what it means now.
 */
static const char *old_short_value(const struct opt *opts, int c,
    int argc, char **argv)
{
	const char *el = argv[optind - 1];     /* the argument c was in */

	if (old_short(opts, c) == NULL)
		return NULL;
	if (optarg != NULL)
		return optarg;
	if (el[0] == '-' && el[1] == c && el[2] == '\0' && optind < argc &&
	    argv[optind][0] != '-')
		return argv[optind++];
	return NULL;
}

int opt_parse(const char *usage, const struct opt *opts, unsigned flags,
    int argc, char **argv)
{
	struct opt_getopt g;
	struct buf b = BUF_INIT;
	char why[160], name[80];
	const struct opt *o;
	const char *old;
	int c, li;

	if (opt_getopt_build(&g, opts, flags, why, sizeof why) < 0)
		diag_fatal("option table: %s", why);
	optind = 0;     /* glibc: start afresh, also on a second parse */
	for (;;) {
		li = -1;
		c = getopt_long(argc, argv, g.shortopts, g.longopts, &li);
		if (c == -1)
			break;
		o = find(opts, c);
		if (o == NULL) {
			/* '?': getopt_long has already said what was wrong. */
			opt_getopt_free(&g);
			fprintf(stderr, "Try '%s --help' for more information.\n",
			    diag_progname());
			exit(2);
		}
		if (li >= 0)
			snprintf(name, sizeof name, "--%s", o->name);
		else
			snprintf(name, sizeof name, "-%c", o->short_name);
		if (li < 0 && (old = old_short_value(opts, c, argc, argv))) {
			opt_set(entry_by_name(opts, old_short(opts, c)->target),
			    name, old);
			continue;
		}
		if (o->kind == OPT_KIND_HELP || o->kind == OPT_KIND_VERSION) {
			opt_getopt_free(&g);
			if (o->kind == OPT_KIND_HELP)
				opt_help(&b, usage, opts, flags);
			else {
				buf_appends(&b, diag_progname());
				buf_appends(&b, " (fs) " FS_VERSION "\n");
			}
			print_and_exit(&b);
		}
		opt_set(o, name, optarg);
	}
	opt_getopt_free(&g);
	return optind;
}
