/* Unit tests: the metrics registry and its exposition (metrics.h), the
 * textfile, the HTTP endpoint, and the counts out.c and lineio.c
 * publish. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "lineio.h"
#include "metrics.h"
#include "out.h"
#include "rec.h"
#include "tap.h"
#include "xalloc.h"

static char *render(struct metrics *m, int64_t now_ms)
{
	struct buf b = BUF_INIT;

	metrics_render(m, &b, now_ms);
	buf_appendc(&b, '\0');
	return b.data;
}

static void test_escape(void)
{
	struct buf b = BUF_INIT;

	metrics_escape_label(&b, "a\\b\"c\nd");
	buf_appendc(&b, '\0');
	CHECK_STR(b.data, "a\\\\b\\\"c\\nd", "escape: backslash, quote, newline");
	buf_free(&b);
}

static void test_render(void)
{
	struct metrics *m = metrics_new("fs-x", "st\"age");
	static const char *const part3[] = { "partition", "3", NULL };
	static const char *const odd[] = { "topic", "a\\b\nc", NULL };
	struct metric *c, *g, *a, *c2;
	char *s;

	c = metrics_counter(m, "fs_things_total", "Things.\nTwo lines \\ one.",
	    NULL);
	g = metrics_gauge(m, "fs_level", "A level.", part3);
	a = metrics_age(m, "fs_age_seconds", "An age.", NULL);
	metrics_counter(m, "fs_odd_total", "Odd labels.", odd);
	metric_add(c, 2);
	metric_add(c, 3);
	s = render(m, 10000);
	CHECK_STR(s,
	    "# HELP fs_things_total Things.\\nTwo lines \\\\ one.\n"
	    "# TYPE fs_things_total counter\n"
	    "fs_things_total{tool=\"fs-x\",stage=\"st\\\"age\"} 5\n"
	    "# HELP fs_level A level.\n"
	    "# TYPE fs_level gauge\n"
	    "# HELP fs_age_seconds An age.\n"
	    "# TYPE fs_age_seconds gauge\n"
	    "# HELP fs_odd_total Odd labels.\n"
	    "# TYPE fs_odd_total counter\n"
	    "fs_odd_total{tool=\"fs-x\",stage=\"st\\\"age\",topic=\"a\\\\b\\nc\"} 0\n",
	    "render: counters at once, gauges only once set, escaped");
	free(s);
	metric_set(g, 0.25);
	metric_set_time(a, 7500);
	c2 = metrics_counter(m, "fs_things_total", "Things.", NULL);
	CHECK(c2 == c, "render: the same name and labels are the same series");
	s = render(m, 10000);
	CHECK(strstr(s, "fs_level{tool=\"fs-x\",stage=\"st\\\"age\","
	    "partition=\"3\"} 0.25\n") != NULL, "render: a gauge with a label");
	CHECK(strstr(s, "fs_age_seconds{tool=\"fs-x\",stage=\"st\\\"age\"} 2.5\n")
	    != NULL, "render: an age is seconds to the time of the render");
	free(s);
	metric_set(g, 1767225600.5);
	s = render(m, 10000);
	CHECK(strstr(s, "partition=\"3\"} 1767225600.5\n") != NULL,
	    "render: the shortest digits that read back");
	free(s);
	metric_set(g, 1.0 / 0.0);
	s = render(m, 10000);
	CHECK(strstr(s, "partition=\"3\"} +Inf\n") != NULL, "render: +Inf");
	free(s);
	metric_add(NULL, 1);
	metric_set(NULL, 1);
	CHECK(metrics_counter(NULL, "fs_x_total", "x", NULL) == NULL,
	    "render: no registry, no series, and updates of NULL are ignored");
	metrics_free(m);
}

static void test_file(void)
{
	char dir[] = "/tmp/fs-test-metrics-XXXXXX", path[64], why[256];
	struct metrics *m = metrics_new("fs-x", "fs-x");
	struct stat st;
	char buf[512];
	ssize_t n;
	int fd;

	CHECK(mkdtemp(dir) != NULL, "file: a temporary directory");
	snprintf(path, sizeof path, "%s/x.prom", dir);
	metric_add(metrics_counter(m, "fs_n_total", "N.", NULL), 7);
	CHECK(metrics_write_file(m, path, why, sizeof why) == 0,
	    "file: written");
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	CHECK(strstr(buf, "fs_n_total{tool=\"fs-x\",stage=\"fs-x\"} 7\n") != NULL,
	    "file: holds the exposition");
	snprintf(buf, sizeof buf, "%s.tmp.%d", path, (int)getpid());
	CHECK(stat(buf, &st) < 0, "file: no temporary file left");
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof path, "%s/x.prom", dir);
	CHECK(metrics_write_file(m, path, why, sizeof why) < 0 &&
	    strstr(why, "cannot write") != NULL,
	    "file: a missing directory is an error with the reason");
	metrics_free(m);
}

/* GET path from 127.0.0.1:port; the whole response. */
static char *http_get(unsigned port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct buf b = BUF_INIT;
	char req[128], chunk[1024];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		return xstrdup("(no connection)");
	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0)
		return xstrdup("(write failed)");
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	buf_appendc(&b, '\0');
	return b.data;
}

static void test_serve(void)
{
	struct metrics *m = metrics_new("fs-x", "fs-x");
	char why[256];
	char *r;

	metric_add(metrics_counter(m, "fs_n_total", "N.", NULL), 3);
	CHECK(metrics_serve(m, "nope:1", why, sizeof why) < 0 &&
	    strstr(why, "not an IP address") != NULL,
	    "serve: a bad address is an error");
	CHECK(metrics_serve(m, "70000", why, sizeof why) < 0 &&
	    strstr(why, "0 to 65535") != NULL, "serve: a bad port is an error");
	CHECK(metrics_serve(m, "127.0.0.1:0", why, sizeof why) == 0 &&
	    metrics_port(m) > 0, "serve: port 0 picks one");
	r = http_get(metrics_port(m), "/metrics");
	CHECK(strncmp(r, "HTTP/1.0 200", 12) == 0 ||
	    strncmp(r, "HTTP/1.1 200", 12) == 0, "serve: 200 on /metrics");
	CHECK(strstr(r, "Content-Type: text/plain; version=0.0.4") != NULL,
	    "serve: the exposition's content type");
	CHECK(strstr(r, "fs_n_total{tool=\"fs-x\",stage=\"fs-x\"} 3\n") != NULL,
	    "serve: the body is the exposition");
	free(r);
	r = http_get(metrics_port(m), "/other");
	CHECK(strstr(r, " 404 ") != NULL, "serve: 404 elsewhere");
	free(r);
	metrics_free(m);
}

/* An out's lines and the lines read into it, with metrics set after the
 * reader was hooked (as rejects_init() does). */
static void test_counts(void)
{
	struct metrics *m = metrics_new("fs-x", "fs-x");
	int in[2], dn = open("/dev/null", O_WRONLY);
	struct lineio lr;
	struct out o;
	const char *line;
	size_t len;
	char *s;

	CHECK(pipe(in) == 0 && dn >= 0, "counts: a pipe");
	CHECK(write(in[1], "{\"a\":1}\n{\"a\":2}\n", 16) == 16,
	    "counts: input written");
	close(in[1]);
	out_init(&o, dn, "null");
	lineio_init_fd(&lr, in[0], "in");
	lineio_set_flush_hook(&lr, &o);
	out_set_metrics(&o, m);
	while (lineio_read(&lr, &line, &len) == 1)
		out_line(&o, line, len);
	rec_emit_watermark(&o, INT64_C(1767225600000));
	out_close(&o);
	lineio_close(&lr);
	s = render(m, INT64_C(1767225610000));
	CHECK(strstr(s, "fs_records_in_total{tool=\"fs-x\",stage=\"fs-x\"} 2\n")
	    != NULL, "counts: lines read");
	CHECK(strstr(s, "fs_records_out_total{tool=\"fs-x\",stage=\"fs-x\"} 3\n")
	    != NULL, "counts: lines written, the watermark among them");
	CHECK(strstr(s, "fs_watermark_seconds{tool=\"fs-x\",stage=\"fs-x\"} "
	    "1767225600\n") != NULL, "counts: the watermark written");
	CHECK(strstr(s, "fs_watermark_lag_seconds{tool=\"fs-x\",stage=\"fs-x\"} "
	    "10\n") != NULL, "counts: its lag behind the clock");
	free(s);
	metrics_free(m);
}

static void test_merge(void)
{
	struct buf in[2] = { BUF_INIT, BUF_INIT }, out = BUF_INIT;

	buf_appends(&in[0], "# HELP a_total A.\n# TYPE a_total counter\n"
	    "a_total{stage=\"x\"} 1\n# HELP b B.\n# TYPE b gauge\n"
	    "b{stage=\"x\"} 2\n");
	buf_appends(&in[1], "# HELP b B again.\n# TYPE b gauge\n"
	    "b{stage=\"y\"} 3\n# HELP a_total A.\n# TYPE a_total counter\n"
	    "a_total{stage=\"y\"} 4\n# HELP c C.\n# TYPE c summary\n"
	    "c{quantile=\"0.5\"} 1\nc_sum 2\nc_count 3\n");
	metrics_merge(&out, in, 2);
	buf_appendc(&out, '\0');
	CHECK_STR(out.data,
	    "# HELP a_total A.\n# TYPE a_total counter\n"
	    "a_total{stage=\"x\"} 1\na_total{stage=\"y\"} 4\n"
	    "# HELP b B.\n# TYPE b gauge\nb{stage=\"x\"} 2\nb{stage=\"y\"} 3\n"
	    "# HELP c C.\n# TYPE c summary\n"
	    "c{quantile=\"0.5\"} 1\nc_sum 2\nc_count 3\n",
	    "merge: one HELP and TYPE per family, every series under it");
	buf_free(&in[0]);
	buf_free(&in[1]);
	buf_free(&out);
}

int main(void)
{
	diag_init("test_metrics");
	test_escape();
	test_render();
	test_file();
	test_serve();
	test_counts();
	test_merge();
	return tap_done();
}
