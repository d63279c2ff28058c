/* Unit tests: the line reader (CRLF, empty lines, no final newline,
 * long lines, NUL bytes, line numbers). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "lineio.h"
#include "tap.h"

/* Feeds data through a pipe and returns the lines read, joined by '|',
 * each as "LINENO:text" (NUL shown as @). */
static const char *lines_of(const char *data, size_t len)
{
	static struct buf b;
	char path[] = "/tmp/fs-test-lineio-XXXXXX";
	int fd = mkstemp(path);
	struct lineio lr;
	const char *line;
	size_t n;

	if (write(fd, data, len) != (ssize_t)len)
		return "(write failed)";
	close(fd);
	buf_reset(&b);
	if (lineio_open(&lr, path) < 0)
		return "(open failed)";
	while (lineio_read(&lr, &line, &n) == 1) {
		if (b.len)
			buf_appendc(&b, '|');
		buf_append_u64(&b, lr.lineno);
		buf_appendc(&b, ':');
		for (size_t i = 0; i < n; i++)
			buf_appendc(&b, line[i] ? line[i] : '@');
	}
	lineio_close(&lr);
	unlink(path);
	return b.data ? b.data : "";
}

static void test_shapes(void)
{
	CHECK_STR(lines_of("a\nb\n", 4), "1:a|2:b", "lines: plain");
	CHECK_STR(lines_of("a\r\nb\r\n", 6), "1:a|2:b", "lines: CRLF stripped");
	CHECK_STR(lines_of("a\nb", 3), "1:a|2:b", "lines: last line without newline");
	CHECK_STR(lines_of("a\n\n\r\nb\n", 7), "1:a|4:b",
	    "lines: empty lines skipped, numbers kept");
	CHECK_STR(lines_of("", 0), "", "lines: empty input");
	CHECK_STR(lines_of("a\0b\n", 4), "1:a@b", "lines: NUL byte kept");
}

static void test_long_line(void)
{
	size_t big = 10 * 1024 * 1024;
	char *data = malloc(big + 3);
	const char *got;

	memset(data, 'x', big);
	data[big] = '\n';
	data[big + 1] = 'y';
	data[big + 2] = '\n';
	got = lines_of(data, big + 3);
	CHECK(strlen(got) == big + 2 + 4 && strncmp(got, "1:xxx", 5) == 0 &&
	    strcmp(got + strlen(got) - 4, "|2:y") == 0,
	    "lines: a 10 MB line is read whole");
	free(data);
}

int main(void)
{
	test_shapes();
	test_long_line();
	return tap_done();
}
