/* Unit tests: options from one table (opt.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opt.h"
#include "tap.h"

/* Every kind, onto one struct. */
enum color { RED, GREEN, BLUE };
static const char *const color_words[] = { "red", "green", "blue", NULL };

static struct vals {
	bool alpha, beta;
	const char *str;
	int64_t num, every, wait, start;
	double ratio;
	uint64_t memory;
	enum color color;
	struct opt_list keys;
	int calls;
	char called[64];
	struct fs_common common;
} v;

static void call(void *data, const char *name, const char *arg)
{
	struct vals *x = data;
	size_t len = strlen(x->called);

	x->calls++;
	snprintf(x->called + len, sizeof x->called - len, "%s%s=%s",
	    len ? " " : "", name, arg);
}

static const char all_usage[] = "usage: test-opt [options] [FILE...]\n";

static int parse_all(int argc, char **argv, unsigned flags)
{
	const struct opt opts[] = {
		OPT_FLAG('a', "alpha", &v.alpha, "a flag"),
		OPT_FLAG('b', NULL, &v.beta, "a short-only flag"),
		OPT_STRING('s', "string", &v.str, "S", "a string"),
		OPT_INT('n', "num", &v.num, -5, 10, "N", "an integer"),
		OPT_NUMBER(0, "ratio", &v.ratio, 0, 1, "R", "a number"),
		OPT_DURATION(0, "every", &v.every, 1, 86400000, "DURATION",
		    "a duration from 1ms to 1d"),
		OPT_DURATION(0, "wait", &v.wait, 0, INT64_MAX, "DURATION",
		    "any duration"),
		OPT_SIZE('m', "memory", &v.memory, 16 << 20, INT64_C(1) << 44,
		    "SIZE", "a size from 16M to 16T"),
		OPT_TIME(0, "start", &v.start, "TIME", "a time"),
		OPT_POLICY(0, "color", &v.color, color_words, "COLOR",
		    "red, green or blue"),
		OPT_LIST('k', "key", &v.keys, "KEY", "repeatable"),
		OPT_CALLBACK('c', "call", call, &v, "ARG", "a callback"),
		OPT_FLAG(0, "old-alpha", &v.alpha, NULL),
		OPT_GROUP_COMMON(&v.common),
		OPT_END
	};

	return opt_parse(all_usage, opts, flags, argc, argv);
}

static void reset(void)
{
	opt_list_free(&v.keys);
	memset(&v, 0, sizeof v);
	v.num = 99;
	v.color = BLUE;
	diag_set_verbosity(DIAG_NORMAL);
}

/* argv of "test-opt" and the arguments up to NULL (static: getopt_long
 * permutes it). */
static char *av[32];
static int ac;

static char **args(const char *first, ...)
{
	va_list ap;
	const char *s;

	ac = 0;
	av[ac++] = (char *)"test-opt";
	va_start(ap, first);
	for (s = first; s != NULL && ac < 31; s = va_arg(ap, const char *))
		av[ac++] = (char *)s;
	va_end(ap);
	av[ac] = NULL;
	return av;
}

#define PARSE(...) (reset(), args(__VA_ARGS__, NULL), parse_all(ac, av, 0))

/* The outcome of parse_all() in a child: exit status, stdout, stderr. */
struct outcome {
	int status;
	char out[4096], err[4096];
};

static void drain(int fd, char *dst, size_t n)
{
	size_t len = 0;
	ssize_t r;

	while (len + 1 < n && (r = read(fd, dst + len, n - 1 - len)) > 0)
		len += (size_t)r;
	dst[len] = '\0';
	close(fd);
}

typedef int parse_fn(int argc, char **argv, unsigned flags);

static void run_with(struct outcome *r, unsigned flags, parse_fn *parse)
{
	int po[2], pe[2];
	pid_t pid;

	fflush(stdout);
	if (pipe(po) < 0 || pipe(pe) < 0 || (pid = fork()) < 0) {
		perror("test_opt");
		exit(1);
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		reset();
		parse(ac, av, flags);
		fflush(stdout);
		_exit(0);
	}
	close(po[1]);
	close(pe[1]);
	drain(po[0], r->out, sizeof r->out);
	drain(pe[0], r->err, sizeof r->err);
	waitpid(pid, &r->status, 0);
	r->status = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128;
}

static void run(struct outcome *r, unsigned flags)
{
	run_with(r, flags, parse_all);
}

#define TRY "Try 'test-opt --help' for more information.\n"

/* A usage error: exit 2, the message and the pointer to --help. */
static void check_usage(const char *msg, const char *name, ...)
{
	struct outcome r;
	char want[512];
	va_list ap;
	const char *s;

	ac = 0;
	av[ac++] = (char *)"test-opt";
	va_start(ap, name);
	while ((s = va_arg(ap, const char *)) != NULL && ac < 31)
		av[ac++] = (char *)s;
	va_end(ap);
	av[ac] = NULL;
	run(&r, 0);
	snprintf(want, sizeof want, "test-opt: %s\n" TRY, msg);
	CHECK_I64(r.status, 2, name);
	CHECK_STR(r.err, want, name);
	CHECK_STR(r.out, "", name);
}

static void test_kinds(void)
{
	int first = PARSE("-a", "-b", "--string", "x y", "--num", "7",
	    "--ratio", "0.25", "--every", "1h30m", "--wait", "0s",
	    "--memory", "512M", "--start", "2026-11-25T08:00:00Z",
	    "--color", "green", "--key", "k1", "--call", "c1", "file");

	CHECK_I64(first, ac - 1, "kinds: returns the first operand");
	CHECK_STR(av[first], "file", "kinds: the operand");
	CHECK(v.alpha && v.beta, "flag: long and short-only set");
	CHECK_STR(v.str, "x y", "string: stored as given");
	CHECK_I64(v.num, 7, "int: stored");
	CHECK(v.ratio == 0.25, "number: stored");
	CHECK_I64(v.every, 5400000, "duration: milliseconds");
	CHECK_I64(v.wait, 0, "duration: zero within [0, max]");
	CHECK_I64((int64_t)v.memory, 512 << 20, "size: M is 2^20");
	CHECK_I64(v.start, 1795593600000LL, "time: RFC 3339");
	CHECK_I64(v.color, GREEN, "policy: the word's index");
	CHECK(v.keys.n == 1 && strcmp(v.keys.v[0], "k1") == 0,
	    "list: one value");
	CHECK_STR(v.called, "--call=c1", "callback: name and argument");

	PARSE("--start", "1000", "-m", "16m", "--color", "red");
	CHECK_I64(v.start, 1000, "time: epoch milliseconds");
	CHECK_I64((int64_t)v.memory, 16 << 20, "size: lower-case suffix");
	CHECK_I64(v.color, RED, "policy: first word is 0");
	PARSE("-m", "17179869184", "--old-alpha");
	CHECK_I64((int64_t)v.memory, INT64_C(16) << 30, "size: bare bytes");
	CHECK(v.alpha, "hidden: accepted");
	PARSE("--num=4", "--alp", "--str=s");
	CHECK_I64(v.num, 4, "long option with =");
	CHECK(v.alpha, "long option abbreviated");
	CHECK_STR(v.str, "s", "abbreviation with =");
	PARSE("--time-field", "t.x", "--on-error", "skip", "--stats",
	    "--data-only", "--checkpoint-dir", "d", "--stage", "s1",
	    "--dead-letter", "dl");
	CHECK_STR(v.common.time_field, "t.x", "common: --time-field");
	CHECK_I64(v.common.on_error, ON_ERROR_SKIP, "common: --on-error");
	CHECK(v.common.stats && v.common.data_only, "common: flags");
	CHECK_STR(v.common.ckpt_dir, "d", "common: --checkpoint-dir");
	CHECK_STR(v.common.stage, "s1", "common: --stage");
	CHECK_STR(v.common.dead_letter, "dl", "common: --dead-letter");
	PARSE("--quiet");
	CHECK_I64(diag_verbosity(), DIAG_QUIET, "common: --quiet");
	PARSE("-v");
	CHECK_I64(diag_verbosity(), DIAG_PROGRESS, "common: -v");
}

static void test_ranges(void)
{
	PARSE("-n", "-5");
	CHECK_I64(v.num, -5, "int: lower bound accepted");
	PARSE("-n", "10");
	CHECK_I64(v.num, 10, "int: upper bound accepted");
	check_usage("-n: expected an integer from -5 to 10: '-6'",
	    "int: below the range", "-n", "-6", NULL);
	check_usage("--num: expected an integer from -5 to 10: '11'",
	    "int: above the range, named as written", "--num", "11", NULL);
	check_usage("--num: expected an integer from -5 to 10: '1x'",
	    "int: trailing garbage", "--num", "1x", NULL);
	check_usage("--num: expected an integer from -5 to 10: ''",
	    "int: empty", "--num=", NULL);

	PARSE("--ratio", "0");
	CHECK(v.ratio == 0, "number: lower bound accepted");
	PARSE("--ratio", "1");
	CHECK(v.ratio == 1, "number: upper bound accepted");
	check_usage("--ratio: expected a number from 0 to 1: '1.5'",
	    "number: above the range", "--ratio", "1.5", NULL);

	PARSE("--every", "1ms");
	CHECK_I64(v.every, 1, "duration: lower bound accepted");
	PARSE("--every", "1d");
	CHECK_I64(v.every, 86400000, "duration: upper bound accepted");
	check_usage("--every: expected a duration from 1ms to 1d, such as "
	    "250ms, 10s or 1h30m: '0s'", "duration: below the range",
	    "--every", "0s", NULL);
	check_usage("--every: expected a duration from 1ms to 1d, such as "
	    "250ms, 10s or 1h30m: '1d1ms'", "duration: above the range",
	    "--every", "1d1ms", NULL);
	check_usage("--every: expected a duration from 1ms to 1d, such as "
	    "250ms, 10s or 1h30m: '5'", "duration: a bare number",
	    "--every", "5", NULL);
	check_usage("--wait: expected a duration such as 250ms, 10s, 5m, 1h, "
	    "7d or 1h30m: '5'", "duration: unbounded, etime's message",
	    "--wait", "5", NULL);

	PARSE("-m", "16M");
	CHECK_I64((int64_t)v.memory, 16 << 20, "size: lower bound accepted");
	PARSE("-m", "16T");
	CHECK_I64((int64_t)v.memory, INT64_C(1) << 44,
	    "size: upper bound accepted");
	check_usage("-m: expected a size from 16M to 16T, such as 256M or 2G: "
	    "'16383K'", "size: below the range", "-m", "16383K", NULL);
	check_usage("--memory: expected a size from 16M to 16T, such as 256M "
	    "or 2G: '17592186044417'", "size: above the range", "--memory",
	    "17592186044417", NULL);
	check_usage("--memory: expected a size from 16M to 16T, such as 256M "
	    "or 2G: '1MB'", "size: unknown suffix", "--memory", "1MB", NULL);
	check_usage("--memory: expected a size from 16M to 16T, such as 256M "
	    "or 2G: '-1G'", "size: negative", "--memory", "-1G", NULL);
	check_usage("--memory: expected a size from 16M to 16T, such as 256M "
	    "or 2G: '99999999999999999999'", "size: overflow", "--memory",
	    "99999999999999999999", NULL);
	check_usage("--memory: expected a size from 16M to 16T, such as 256M "
	    "or 2G: '17179869184T'", "size: overflow by the unit",
	    "--memory", "17179869184T", NULL);

	check_usage("--color: expected red, green or blue: 'Red'",
	    "policy: words are case-sensitive", "--color", "Red", NULL);
	check_usage("--on-error: expected fail, skip or dead-letter: 'x'",
	    "policy: common --on-error as tool.c says it", "--on-error", "x",
	    NULL);
	check_usage("--start: expected epoch milliseconds or an RFC 3339 time "
	    "such as 2026-11-25T08:00:00Z: 'soon'", "time: etime's message",
	    "--start", "soon", NULL);
}

static void test_repeated(void)
{
	PARSE("--num", "1", "--num", "2", "-n", "3");
	CHECK_I64(v.num, 3, "repeated scalar: the last wins");
	PARSE("--color", "red", "--color", "green");
	CHECK_I64(v.color, GREEN, "repeated policy: the last wins");
	PARSE("--key", "a", "-k", "b", "--key=c", "-kd");
	CHECK(v.keys.n == 4, "repeated list: every value kept");
	CHECK(v.keys.n == 4 && strcmp(v.keys.v[0], "a") == 0 &&
	    strcmp(v.keys.v[1], "b") == 0 && strcmp(v.keys.v[2], "c") == 0 &&
	    strcmp(v.keys.v[3], "d") == 0, "repeated list: in order given");
	PARSE("--call", "x", "-c", "y");
	CHECK_I64(v.calls, 2, "repeated callback: called each time");
	CHECK_STR(v.called, "--call=x -c=y", "callback: the name as written");
	PARSE("--num", "1");
	CHECK_I64(v.keys.n, 0, "a list not given stays empty");
}

static void test_getopt_errors(void)
{
	check_usage("option '--num' requires an argument",
	    "missing argument (long): getopt's message", "--num", NULL);
	check_usage("option requires an argument -- 'n'",
	    "missing argument (short): getopt's message", "-n", NULL);
	check_usage("unrecognized option '--nope'",
	    "unknown long option: getopt's message", "--nope", NULL);
	check_usage("invalid option -- 'z'",
	    "unknown letter in a cluster: getopt's message", "-az", NULL);
	check_usage("option '--alpha' doesn't allow an argument",
	    "argument to a flag: getopt's message", "--alpha=1", NULL);
}

static void test_cluster_and_operands(void)
{
	int first;

	first = PARSE("-qab", "x");
	CHECK(v.alpha && v.beta, "cluster: -qab sets both flags");
	CHECK_I64(diag_verbosity(), DIAG_QUIET, "cluster: and runs -q");
	CHECK_I64(first, 2, "cluster: operand after it");
	PARSE("-abn3");
	CHECK(v.alpha && v.beta && v.num == 3,
	    "cluster: ends in an option with its argument attached");
	PARSE("-ban", "4");
	CHECK_I64(v.num, 4, "cluster: the last takes the next argument");

	first = PARSE("x", "--num", "3", "y");
	CHECK_I64(v.num, 3, "permutation: options after operands");
	CHECK_I64(first, 3, "permutation: operands moved to the end");
	CHECK(strcmp(av[3], "x") == 0 && strcmp(av[4], "y") == 0,
	    "permutation: operands keep their order");
	PARSE("--num", "1", "--", "--num", "2");
	CHECK_I64(v.num, 1, "--: ends the options");

	reset();
	args("-a", "show", "--num", "3", NULL);
	first = parse_all(ac, av, OPT_STOP_AT_OPERAND);
	CHECK(v.alpha && v.num == 99,
	    "stop at operand: options after the command are left");
	CHECK_I64(first, 2, "stop at operand: the command's index");
}

static void test_help_and_version(void)
{
	struct outcome r;
	struct buf b = BUF_INIT;
	const struct opt opts[] = { OPT_GROUP_COMMON(&v.common), OPT_END };

	args("--num", "1", "--help", "--num", "bad", NULL);
	run(&r, 0);
	CHECK_I64(r.status, 0, "--help: exit 0");
	CHECK_STR(r.err, "", "--help: nothing on stderr");
	CHECK(strncmp(r.out, all_usage, strlen(all_usage)) == 0,
	    "--help: usage first");
	CHECK(strstr(r.out, "  --every DURATION      a duration from 1ms to "
	    "1d\n") != NULL, "--help: an entry");
	CHECK(strstr(r.out, "old-alpha") == NULL,
	    "--help: an entry without help is hidden");
	args("--version", NULL);
	run(&r, 0);
	CHECK_I64(r.status, 0, "--version: exit 0");
	CHECK_STR(r.out, "test-opt (fs) " FS_VERSION "\n", "--version: text");

	opt_help(&b, "", opts, 0);
	CHECK_STR(b.data,
	    "  --time-field PATH     event time field (default ts)\n"
	    "  --on-error POLICY     fail (default), skip, or dead-letter\n"
	    "  --dead-letter FILE    write rejected lines to FILE (implies dead-letter)\n"
	    "  --checkpoint-dir DIR  take part in checkpoints under DIR\n"
	    "  --stage NAME          this stage's name in DIR (default: program name)\n"
	    "  --data-only           write no control records (as on a terminal)\n"
	    "  --stats               print statistics to stderr at exit\n"
	    "  --metrics-port [ADDR:]PORT\n"
	    "                        serve Prometheus metrics (ADDR 127.0.0.1)\n"
	    "  --metrics-file FILE   write Prometheus metrics to FILE (a textfile)\n"
	    "  --metrics-interval DURATION\n"
	    "                        how often to write FILE (default 15s)\n"
	    "  -q, --quiet           only errors on stderr\n"
	    "  -v, --verbose         progress on stderr, once a second\n"
	    "  -h, --help            this help\n"
	    "  --version             the version\n",
	    "common group: its help, as fs(7) lists the common options");
	buf_free(&b);
}

/* A small table for exact text and arrays. */
static bool f_alpha, f_hidden;
static int64_t f_n;
static const char *f_long;
static const struct opt small[] = {
	OPT_FLAG('a', "alpha", &f_alpha, "a flag"),
	OPT_INT('n', NULL, &f_n, 0, 9, "N", "short only, with an argument"),
	OPT_STRING(0, "a-very-long-option", &f_long, "ARG",
	    "too long for the column:\non the next line, and a second"),
	OPT_FLAG(0, "hidden", &f_hidden, NULL),
	OPT_STRING(0, "exactly-fits", &f_long, "ARGS", "at the column"),
	OPT_STRING(0, "one-space-left", &f_long, "ARGS", "one space"),
	OPT_HELP_ENTRY(0, "this help"),
	OPT_END
};

static void test_help_text(void)
{
	struct buf b = BUF_INIT;

	opt_help(&b, "usage: t [-a] [-n N]\nDoes things.\n", small, 0);
	CHECK_STR(b.data,
	    "usage: t [-a] [-n N]\n"
	    "Does things.\n"
	    "  -a, --alpha           a flag\n"
	    "  -n N                  short only, with an argument\n"
	    "  --a-very-long-option ARG\n"
	    "                        too long for the column:\n"
	    "                        on the next line, and a second\n"
	    "  --exactly-fits ARGS   at the column\n"
	    "  --one-space-left ARGS one space\n"
	    "  --help                this help\n",
	    "help: exact text for a small table");
	buf_free(&b);
	opt_help(&b, "usage: t\n", small, OPT_HELP_SAME_LINE);
	CHECK_STR(b.data,
	    "usage: t\n"
	    "  -a, --alpha           a flag\n"
	    "  -n N                  short only, with an argument\n"
	    "  --a-very-long-option ARG  too long for the column:\n"
	    "                        on the next line, and a second\n"
	    "  --exactly-fits ARGS   at the column\n"
	    "  --one-space-left ARGS one space\n"
	    "  --help                this help\n",
	    "help: a wide option's help on its line with "
	    "OPT_HELP_SAME_LINE");
	buf_free(&b);
}

/* A usage text that lists its options sorted, a group's among them,
 * with long options' help in a second column (fs-consume's). */
static bool s_flag;
static const char *s_str;
#define GROUP_SORTED(p) \
	OPT_STRING('b', NULL, (p), "B", "from the group"), \
	OPT_STRING(0, "group-long", (p), "DURATION", "the group's long one")
static const struct opt sorted[] = {
	OPT_FLAG(0, "zeta", &s_flag, "long only, last"),
	OPT_FLAG('Q', NULL, &s_flag, "capital Q"),
	OPT_FLAG('V', "value", &s_flag, "letter and name"),
	OPT_STRING(0, "twenty-three", &s_str, "NUMBER", "one space"),
	OPT_FLAG('a', NULL, &s_flag, "small a"),
	OPT_FLAG('A', NULL, &s_flag, "capital A"),
	OPT_FLAG(0, "hidden", &s_flag, NULL),
	OPT_STRING(0, "checkpoint-interval", &s_str, "DURATION",
	    "in the wide column"),
	OPT_STRING(0, "max-out-of-orderness", &s_str, "DURATION",
	    "one space\nand its second line"),
	OPT_STRING(0, "much-too-long-for-either", &s_str, "DURATION",
	    "on the next line"),
	GROUP_SORTED(&s_str),
	OPT_SORTED,
	OPT_FLAG(0, "strict", &s_flag, "after the sorted part,"),
	OPT_FLAG(0, "data", &s_flag, "in table order"),
	OPT_END
};

static void test_help_layout(void)
{
	struct buf b = BUF_INIT;
	struct opt_getopt g;
	char why[160];

	opt_help(&b, "usage: t\n", sorted, OPT_WIDE_HELP(34));
	CHECK_STR(b.data,
	    "usage: t\n"
	    "  -a                    small a\n"
	    "  -A                    capital A\n"
	    "  -b B                  from the group\n"
	    "  -Q                    capital Q\n"
	    "  -V, --value           letter and name\n"
	    "  --checkpoint-interval DURATION  in the wide column\n"
	    "  --group-long DURATION the group's long one\n"
	    "  --max-out-of-orderness DURATION one space\n"
	    "                                  and its second line\n"
	    "  --much-too-long-for-either DURATION\n"
	    "                                  on the next line\n"
	    "  --twenty-three NUMBER one space\n"
	    "  --zeta                long only, last\n"
	    "  --strict              after the sorted part,\n"
	    "  --data                in table order\n",
	    "help: sorted above OPT_SORTED, a wide column for long options");
	buf_reset(&b);
	opt_help(&b, "", sorted + 7, 0);
	CHECK_STR(b.data,
	    "  -b B                  from the group\n"
	    "  --checkpoint-interval DURATION\n"
	    "                        in the wide column\n"
	    "  --group-long DURATION the group's long one\n"
	    "  --max-out-of-orderness DURATION\n"
	    "                        one space\n"
	    "                        and its second line\n"
	    "  --much-too-long-for-either DURATION\n"
	    "                        on the next line\n"
	    "  --strict              after the sorted part,\n"
	    "  --data                in table order\n",
	    "help: without OPT_WIDE_HELP, too long for column 24 is on the "
	    "next line");
	buf_free(&b);
	CHECK(opt_getopt_build(&g, sorted, 0, why, sizeof why) == 0,
	    "sorted: the marker is not an option");
	CHECK_STR(g.shortopts, "QVaAb:", "sorted: getopt's letters in table "
	    "order");
	opt_getopt_free(&g);
}

static void test_getopt_arrays(void)
{
	struct opt_getopt g;
	char why[160];
	const struct option want[] = {
		{ "alpha", no_argument, NULL, 'a' },
		{ "a-very-long-option", required_argument, NULL,
		    OPT_CODE_BASE + 2 },
		{ "hidden", no_argument, NULL, OPT_CODE_BASE + 3 },
		{ "exactly-fits", required_argument, NULL, OPT_CODE_BASE + 4 },
		{ "one-space-left", required_argument, NULL,
		    OPT_CODE_BASE + 5 },
		{ "help", no_argument, NULL, OPT_CODE_BASE + 6 },
		{ NULL, 0, NULL, 0 }
	};
	bool same = true;

	CHECK(opt_getopt_build(&g, small, 0, why, sizeof why) == 0,
	    "arrays: built");
	CHECK_STR(g.shortopts, "an:", "arrays: short options");
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct option *o = &g.longopts[i];

		if ((o->name == NULL) != (want[i].name == NULL) ||
		    (o->name && strcmp(o->name, want[i].name) != 0) ||
		    o->has_arg != want[i].has_arg || o->flag != NULL ||
		    o->val != want[i].val) {
			printf("#   entry %zu: %s %d %d\n", i,
			    o->name ? o->name : "(end)", o->has_arg, o->val);
			same = false;
		}
	}
	CHECK(same, "arrays: long options match the table, in order");
	opt_getopt_free(&g);
	CHECK(opt_getopt_build(&g, small, OPT_STOP_AT_OPERAND, why,
	    sizeof why) == 0, "arrays: built to stop at an operand");
	CHECK_STR(g.shortopts, "+an:", "arrays: '+' to stop at an operand");
	opt_getopt_free(&g);
}

/* -h HOSTS, the old spelling of --hosts, while -h alone is help. */
static const char old_usage[] = "usage: test-opt [--hosts HOSTS] [KEY...]\n";

static int parse_old(int argc, char **argv, unsigned flags)
{
	const struct opt opts[] = {
		OPT_STRING(0, "hosts", &v.str, "HOSTS", "seed hosts"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_GROUP_COMMON(&v.common),
		OPT_END
	};

	return opt_parse(old_usage, opts, flags, argc, argv);
}

#define PARSE_OLD(...) (reset(), args(__VA_ARGS__, NULL), \
	parse_old(ac, av, 0))

/* The outcome of parse_old() on the arguments up to NULL: help? */
static bool old_is_help(const char *first, ...)
{
	struct outcome r;
	va_list ap;
	const char *s;

	ac = 0;
	av[ac++] = (char *)"test-opt";
	va_start(ap, first);
	for (s = first; s != NULL && ac < 31; s = va_arg(ap, const char *))
		av[ac++] = (char *)s;
	va_end(ap);
	av[ac] = NULL;
	run_with(&r, 0, parse_old);
	return r.status == 0 && strncmp(r.out, old_usage,
	    strlen(old_usage)) == 0 && strstr(r.out, "  --hosts HOSTS") &&
	    strstr(r.out, "  -h, --help") && r.err[0] == '\0';
}

static void test_old_short(void)
{
	struct opt_getopt g;
	char why[160] = "";
	int first;
	const struct opt letter_takes_arg[] = {
		OPT_STRING(0, "hosts", &f_long, "HOSTS", "x"),
		OPT_STRING('h', "host", &f_long, "HOST", "x"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_END
	};
	const struct opt target_flag[] = {
		OPT_FLAG(0, "hosts", &f_alpha, "x"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_HELP_ENTRY('h', "this help"),
		OPT_END
	};
	const struct opt no_letter[] = {
		OPT_STRING(0, "hosts", &f_long, "HOSTS", "x"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_END
	};
	const struct opt twice[] = {
		OPT_STRING(0, "hosts", &f_long, "HOSTS", "x"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_HELP_ENTRY('h', "this help"),
		OPT_END
	};
	const struct opt fine[] = {
		OPT_HELP_ENTRY('h', "this help"),
		OPT_STRING(0, "hosts", &f_long, "HOSTS", "x"),
		OPT_OLD_SHORT('h', "hosts"),
		OPT_END
	};

	first = PARSE_OLD("-h", "h1:3000", "k1");
	CHECK_STR(v.str, "h1:3000", "old -h: -h VALUE is --hosts VALUE");
	CHECK_I64(first, 3, "old -h: the value is not an operand");
	PARSE_OLD("-hh2");
	CHECK_STR(v.str, "h2", "old -h: -hVALUE is --hosts=VALUE");
	first = PARSE_OLD("k1", "-h", "h3", "k2");
	CHECK_STR(v.str, "h3", "old -h: after an operand (permuted)");
	CHECK(first == 3 && strcmp(av[3], "k1") == 0 &&
	    strcmp(av[4], "k2") == 0, "old -h: operands keep their order");
	PARSE_OLD("-h", "", "-q");
	CHECK_STR(v.str, "", "old -h: an empty value is a value");
	CHECK_I64(diag_verbosity(), DIAG_QUIET, "old -h: options after it");
	PARSE_OLD("--hosts", "h4", "-h", "h5");
	CHECK_STR(v.str, "h5", "old -h: the last of both spellings wins");
	first = PARSE_OLD("--", "-h", "h6");
	CHECK(v.str == NULL && first == 2, "old -h: not after --");

	CHECK(old_is_help("-h", NULL), "old -h: -h alone is help");
	CHECK(old_is_help("-h", "-q", NULL), "old -h: -h before an option is "
	    "help");
	CHECK(old_is_help("-h", "--hosts", "x", NULL), "old -h: -h before a "
	    "long option is help");
	CHECK(old_is_help("--help", "x", NULL),
	    "old -h: --help takes no value");
	CHECK(old_is_help("-qh", "x", NULL), "old -h: -h ending a cluster is "
	    "help");
	CHECK(old_is_help("k1", "-h", NULL), "old -h: -h last is help");

	CHECK(opt_getopt_build(&g, fine, 0, why, sizeof why) == 0,
	    "old -h: a table with it built");
	CHECK_STR(g.shortopts, "h::", "old -h: an optional attached value");
	CHECK(g.longopts[0].name && strcmp(g.longopts[0].name, "help") == 0 &&
	    g.longopts[1].name && strcmp(g.longopts[1].name, "hosts") == 0 &&
	    g.longopts[2].name == NULL, "old -h: no long option of its own");
	opt_getopt_free(&g);
	CHECK(opt_getopt_build(&g, letter_takes_arg, 0, why, sizeof why) < 0,
	    "old -h: refused when the letter takes an argument now");
	CHECK_STR(why, "old -h: the letter must be an option without argument",
	    "old -h: says why");
	CHECK(opt_getopt_build(&g, no_letter, 0, why, sizeof why) < 0,
	    "old -h: refused when the letter means nothing now (a plain "
	    "entry would do)");
	CHECK(opt_getopt_build(&g, target_flag, 0, why, sizeof why) < 0,
	    "old -h: refused when the target takes no argument");
	CHECK_STR(why, "old -h: --hosts is not an option with an argument",
	    "old -h: says which");
	CHECK(opt_getopt_build(&g, twice, 0, why, sizeof why) < 0,
	    "old -h: refused twice");
	CHECK_STR(why, "old -h declared twice", "old -h: says twice");
}

static void test_table_checks(void)
{
	struct opt_getopt g;
	char why[160] = "";
	const struct opt dup_long[] = {
		OPT_FLAG(0, "alpha", &f_alpha, "x"),
		OPT_FLAG(0, "alpha", &f_alpha, "y"),
		OPT_END
	};
	const struct opt dup_short[] = {
		OPT_FLAG('a', "alpha", &f_alpha, "x"),
		OPT_FLAG('a', "beta", &f_alpha, "y"),
		OPT_END
	};
	const struct opt with_common[] = {
		OPT_FLAG('v', "vivid", &f_alpha, "x"),
		OPT_GROUP_COMMON(&v.common),
		OPT_END
	};
	const struct opt no_argname[] = {
		OPT_STRING(0, "name", &f_long, NULL, "x"),
		OPT_END
	};

	CHECK(opt_getopt_build(&g, dup_long, 0, why, sizeof why) < 0,
	    "table: a long name twice refused");
	CHECK_STR(why, "--alpha declared twice", "table: says which");
	CHECK(opt_getopt_build(&g, dup_short, 0, why, sizeof why) < 0,
	    "table: a letter twice refused");
	CHECK_STR(why, "-a declared twice", "table: says which letter");
	CHECK(opt_getopt_build(&g, with_common, 0, why, sizeof why) < 0,
	    "table: a tool's letter taken by the common group refused");
	CHECK(opt_getopt_build(&g, no_argname, 0, why, sizeof why) < 0,
	    "table: an option with argument needs its name");
	CHECK_STR(why, "name: argument name missing", "table: says so");
}

int main(void)
{
	diag_init("test-opt");
	test_kinds();
	test_ranges();
	test_repeated();
	test_getopt_errors();
	test_cluster_and_operands();
	test_help_and_version();
	test_help_text();
	test_help_layout();
	test_getopt_arrays();
	test_table_checks();
	test_old_short();
	reset();
	return tap_done();
}
