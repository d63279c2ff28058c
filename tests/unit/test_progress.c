/* Unit tests: the -v progress line (progress.h), the reader's and the
 * writer's counts, and standard output without control records (out.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "diag.h"
#include "lineio.h"
#include "out.h"
#include "progress.h"
#include "rec.h"
#include "tap.h"

#define SEC INT64_C(1000000000)

static const char *count(uint64_t n)
{
	static char b[16];

	progress_count(n, b, sizeof b);
	return b;
}

static void test_count(void)
{
	CHECK_STR(count(0), "0", "count: 0");
	CHECK_STR(count(999), "999", "count: 999 as is");
	CHECK_STR(count(1000), "1.0k", "count: 1000");
	CHECK_STR(count(1234), "1.2k", "count: one decimal below 10");
	CHECK_STR(count(30000), "30k", "count: no decimal from 10");
	CHECK_STR(count(410499), "410k", "count: 410k");
	CHECK_STR(count(999499), "999k", "count: 999k");
	CHECK_STR(count(999500), "1.0M", "count: rounds up into M, not 1000k");
	CHECK_STR(count(1200000), "1.2M", "count: 1.2M");
	CHECK_STR(count(3400000000u), "3.4G", "count: 3.4G");
}

static const char *line(const struct progress *p, uint64_t din,
    uint64_t dout, int64_t ns)
{
	static char b[160];

	progress_format(p, din, dout, ns, b, sizeof b);
	return b;
}

static void test_format(void)
{
	struct progress p = { .writer = true, .reader = true, .in = 1200000,
	    .out = 30000, .has_wm = true, .wm = INT64_C(1767225900000) };
	struct progress src = { .writer = true, .out = 5000 };
	struct progress sink = { .reader = true, .in = 12 };

	CHECK_STR(line(&p, 410000, 9000, SEC), "1.2M in (410k/s), 30k out, "
	    "watermark 2026-01-01T00:05:00Z", "format: a stage");
	CHECK_STR(line(&p, 820000, 9000, 2 * SEC), "1.2M in (410k/s), 30k out, "
	    "watermark 2026-01-01T00:05:00Z", "format: the rate over 2 s");
	CHECK_STR(line(&src, 0, 2500, SEC), "5.0k out (2.5k/s)",
	    "format: a source counts out, no watermark yet");
	CHECK_STR(line(&sink, 5, 0, SEC), "12 in (5/s)", "format: a sink");
	p.wm = INT64_MIN;
	CHECK_STR(line(&p, 0, 0, SEC), "1.2M in (0/s), 30k out, watermark -inf",
	    "format: the lowest watermark");
}

/* A file of the given lines on standard input. */
static void stdin_from(const char *data)
{
	char path[] = "/tmp/fs-test-progress-XXXXXX";
	int fd = mkstemp(path);

	if (write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		abort();
	lseek(fd, 0, SEEK_SET);
	dup2(fd, 0);
	close(fd);
	unlink(path);
}

static void test_reader(void)
{
	struct lineio lr;
	const char *l;
	size_t n;

	stdin_from("{\"a\":1}\n{\"@fs\":\"watermark\",\"ts\":7}\n\n{\"a\":2}\n");
	diag_set_verbosity(DIAG_VERBOSE);
	lineio_init_fd(&lr, 0, "-");
	CHECK(!lr.counting, "reader: --stats alone counts nothing");
	lineio_close(&lr);

	stdin_from("{\"a\":1}\n{\"@fs\":\"watermark\",\"ts\":7}\n\n{\"a\":2}\n");
	diag_set_verbosity(DIAG_PROGRESS);
	lineio_init_fd(&lr, 0, "-");
	CHECK(lr.counting, "reader: -v counts standard input");
	while (lineio_read(&lr, &l, &n) == 1)
		;
	CHECK_I64((int64_t)lr.own.in, 3, "reader: lines in, not empty ones");
	CHECK(lr.own.has_wm && lr.own.wm == 7,
	    "reader: a sink notes the watermark it read");
	lineio_close(&lr);
	diag_set_verbosity(DIAG_NORMAL);
}

/* What an out whose output drops control records writes. */
static const char *written(bool data_only)
{
	static char got[512];
	char path[] = "/tmp/fs-test-progress-XXXXXX";
	int fd = mkstemp(path);
	struct out o;
	ssize_t r;
	static const char *lines[] = {
		"{\"a\":1}",
		"{\"@fs\":\"barrier\",\"id\":1}",
		"{\"x\":\"@fs\"}",                      /* data: a value */
		"{\"b\":{\"@fs\":\"watermark\"}}",      /* data: nested */
		"{\"\\u0040fs\":\"end\",\"id\":2}",     /* control, escaped */
		"{\"@fs\":\"window\",\"size\":1}",      /* control, a kind */
	};

	out_init(&o, fd, "test");
	o.data_only = data_only;        /* as on a terminal */
	o.inspect = data_only;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		out_line(&o, lines[i], strlen(lines[i]));
	rec_emit_watermark(&o, 5);
	rec_emit_barrier(&o, 3);
	out_close(&o);
	fd = open(path, O_RDONLY);
	r = read(fd, got, sizeof got - 1);
	got[r > 0 ? r : 0] = '\0';
	close(fd);
	unlink(path);
	return got;
}

static void test_data_only(void)
{
	CHECK_STR(written(true), "{\"a\":1}\n{\"x\":\"@fs\"}\n"
	    "{\"b\":{\"@fs\":\"watermark\"}}\n",
	    "out: data only: control records dropped, data kept");
	CHECK_STR(written(false), "{\"a\":1}\n{\"@fs\":\"barrier\",\"id\":1}\n"
	    "{\"x\":\"@fs\"}\n{\"b\":{\"@fs\":\"watermark\"}}\n"
	    "{\"\\u0040fs\":\"end\",\"id\":2}\n{\"@fs\":\"window\",\"size\":1}\n"
	    "{\"@fs\":\"watermark\",\"ts\":5}\n{\"@fs\":\"barrier\",\"id\":3}\n",
	    "out: otherwise every line as given");
}

int main(void)
{
	test_count();
	test_format();
	test_reader();
	test_data_only();
	return tap_done();
}
