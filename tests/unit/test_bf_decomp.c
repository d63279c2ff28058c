/*
 * test_bf_decomp - archive files as line streams (bf_decomp.h): codecs
 * by magic bytes, multi-member gzip, truncation and corruption reports,
 * the cut tail line, and resuming at a byte offset.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "backfill/bf_decomp.h"
#include "buf.h"
#include "tap.h"
#include "banned.h"

static char dir[] = "/tmp/test_bf_decomp-XXXXXX";

static const char *path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void put_file(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");

	fwrite(data, 1, n, f);
	fclose(f);
}

static void gzip_into(struct buf *out, const char *text, size_t n)
{
	z_stream z;
	unsigned char tmp[1 << 16];

	memset(&z, 0, sizeof z);
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)(uintptr_t)text;
	z.avail_in = (uInt)n;
	do {
		z.next_out = tmp;
		z.avail_out = sizeof tmp;
		deflate(&z, Z_FINISH);
		buf_append(out, tmp, sizeof tmp - z.avail_out);
	} while (z.avail_out == 0);
	deflateEnd(&z);
}

/* Reads every line of name; returns them joined by '\n', and the end. */
static int read_all(const char *name, struct buf *got, char *why,
    size_t whylen, uint64_t seek_off, bool *cut)
{
	struct bf_file f;
	const char *l;
	size_t len;
	int r, end;

	*cut = false;
	if (bf_file_open(&f, path_of(name)) < 0)
		return -9;
	if (seek_off && bf_file_seek(&f, seek_off, 1) < 0) {
		bf_file_close(&f);
		return -8;
	}
	while ((r = lineio_read(&f.lr, &l, &len)) == 1) {
		if (f.lr.eof && bf_file_end(&f, why, whylen) < 0 &&
		    bf_file_cut(&f)) {
			*cut = true;
			continue;
		}
		buf_append(got, l, len);
		buf_appendc(got, '\n');
	}
	end = bf_file_end(&f, why, whylen);
	bf_file_close(&f);
	return end;
}

int main(void)
{
	static const char text[] = "{\"ts\":1}\n{\"ts\":2}\r\n\n{\"ts\":3}\n";
	static const char want[] = "{\"ts\":1}\n{\"ts\":2}\n{\"ts\":3}\n";
	struct buf gz = BUF_INIT, big = BUF_INIT, bgz = BUF_INIT, got = BUF_INIT;
	char why[BF_MSG_MAX] = "";
	size_t zn;
	void *z;
	bool cut;
	int r;

	if (mkdtemp(dir) == NULL)
		return 1;
	CHECK(bf_codec_sniff((const unsigned char *)"\x1f\x8b\x08", 3) ==
	    BF_GZIP, "sniff: gzip magic");
	CHECK(bf_codec_sniff((const unsigned char *)"\x28\xb5\x2f\xfd", 4) ==
	    BF_ZSTD, "sniff: zstd magic");
	CHECK(bf_codec_sniff((const unsigned char *)"{\"", 2) == BF_PLAIN,
	    "sniff: anything else is plain");

	put_file("plain", text, strlen(text));
	r = read_all("plain", &got, why, sizeof why, 0, &cut);
	CHECK(r == 0, "plain: complete");
	CHECK_STR(got.data, want, "plain: lines as lineio reads them");

	/* Two gzip members, one after the other, under a misleading name. */
	gzip_into(&gz, text, 10);
	gzip_into(&gz, text + 10, strlen(text) - 10);
	put_file("x.txt", gz.data, gz.len);
	buf_reset(&got);
	r = read_all("x.txt", &got, why, sizeof why, 0, &cut);
	CHECK(r == 0, "gzip: two members complete");
	CHECK_STR(got.data, want, "gzip: members read through");

	zn = ZSTD_compressBound(strlen(text));
	z = malloc(zn);
	zn = ZSTD_compress(z, zn, text, strlen(text), 3);
	put_file("x.zst", z, zn);
	buf_reset(&got);
	r = read_all("x.zst", &got, why, sizeof why, 0, &cut);
	CHECK(r == 0, "zstd: complete");
	CHECK_STR(got.data, want, "zstd: lines");

	/* Truncated zstd: the frame is unfinished. */
	put_file("cut.zst", z, zn - 3);
	buf_reset(&got);
	r = read_all("cut.zst", &got, why, sizeof why, 0, &cut);
	CHECK(r == -1, "zstd truncated: reported");
	CHECK(strncmp(why, "truncated zstd data after ", 26) == 0,
	    "zstd truncated: says so");

	/* A large gzip cut in the middle: lines before it come out, the
	 * unfinished last line is flagged as the cut. */
	for (int i = 0; i < 20000; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, "{\"ts\":%d,\"pad\":"
		    "\"abcdefghij\"}\n", i * 7919 % 100003);

		buf_append(&big, line, (size_t)n);
	}
	gzip_into(&bgz, big.data, big.len);
	put_file("cut.gz", bgz.data, bgz.len / 2);
	buf_reset(&got);
	r = read_all("cut.gz", &got, why, sizeof why, 0, &cut);
	CHECK(r == -1, "gzip truncated: reported");
	CHECK(strncmp(why, "truncated gzip data after ", 26) == 0,
	    "gzip truncated: says so");
	CHECK(got.len > 0 && memcmp(got.data, big.data, got.len) == 0,
	    "gzip truncated: the lines before the cut are intact");
	CHECK(cut, "gzip truncated: the unfinished line is the cut");

	/* Corrupt gzip: bytes flipped after the header. */
	memset(bgz.data + 100, 0x55, 64);
	put_file("bad.gz", bgz.data, bgz.len);
	buf_reset(&got);
	r = read_all("bad.gz", &got, why, sizeof why, 0, &cut);
	CHECK(r == -1, "gzip corrupt: reported");
	CHECK(strncmp(why, "corrupt gzip data", 17) == 0, "gzip corrupt: says so");

	/* Resuming at a line boundary, plain and compressed. */
	buf_reset(&got);
	r = read_all("plain", &got, why, sizeof why, 9, &cut);
	CHECK_STR(got.data, "{\"ts\":2}\n{\"ts\":3}\n", "seek: plain file");
	buf_reset(&got);
	r = read_all("x.txt", &got, why, sizeof why, 9, &cut);
	CHECK_STR(got.data, "{\"ts\":2}\n{\"ts\":3}\n", "seek: gzip file");
	r = read_all("plain", &got, why, sizeof why, 5, &cut);
	CHECK(r == -8, "seek: not at a line boundary is refused");
	r = read_all("x.txt", &got, why, sizeof why, 500, &cut);
	CHECK(r == -8, "seek: past the end is refused");

	buf_free(&gz);
	buf_free(&big);
	buf_free(&bgz);
	buf_free(&got);
	free(z);
	for (const char *const *n = (const char *const[]){ "plain", "x.txt",
	    "x.zst", "cut.zst", "cut.gz", "bad.gz", NULL }; *n; n++)
		unlink(path_of(*n));
	rmdir(dir);
	return tap_done();
}
