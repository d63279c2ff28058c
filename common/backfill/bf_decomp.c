/* bf_decomp.c - archive files as line streams (see bf_decomp.h). */
#define _GNU_SOURCE     /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "bf_decomp.h"
#include "diag.h"
#include "xalloc.h"
#include "banned.h"

#define BF_IN_CHUNK (256 * 1024)
#define BF_OUT_CHUNK (256 * 1024)
#define BF_PIPE_SIZE (1024 * 1024)

enum bf_codec bf_codec_sniff(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return BF_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	    p[3] == 0xfd)
		return BF_ZSTD;
	return BF_PLAIN;
}

const char *bf_codec_name(enum bf_codec c)
{
	switch (c) {
	case BF_GZIP:
		return "gzip";
	case BF_ZSTD:
		return "zstd";
	case BF_SNIFF:
		return "unknown";
	default:
		return "plain";
	}
}

/* --- the decompression thread ------------------------------------- */

struct dctx {
	struct bf_file *f;
	unsigned char *in, *out;
	size_t in_len;          /* bytes in in[] */
	bool eof;
};

/* Reads the next chunk of the raw file into in[0..in_len).  0 ok (eof
 * set at the end), -1 on a read error (recorded in f). */
static int raw_read(struct dctx *d)
{
	ssize_t n;

	do
		n = read(d->f->rawfd, d->in, BF_IN_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		d->f->end = BF_END_IOERR;
		snprintf(d->f->msg, sizeof d->f->msg, "read error: %s",
		    strerror(errno));
		return -1;
	}
	d->in_len = (size_t)n;
	d->eof = n == 0;
	atomic_fetch_add(&d->f->raw_pos, (uint64_t)n);
	return 0;
}

/* Hands decompressed bytes to the reader.  -1 when it has gone away. */
static int put(struct dctx *d, const unsigned char *p, size_t n)
{
	struct bf_file *f = d->f;

	if (n == 0)
		return 0;
	f->out_bytes += n;
	f->out_nl = p[n - 1] == '\n';
	while (n > 0) {
		ssize_t w = write(f->wfd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;      /* EPIPE: closed early, nothing to say */
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void copy_plain(struct dctx *d)
{
	while (!d->eof) {
		if (put(d, d->in, d->in_len) < 0 || raw_read(d) < 0)
			return;
	}
}

static void fail(struct dctx *d, enum bf_end e, const char *what,
    const char *detail)
{
	struct bf_file *f = d->f;
	uint64_t at = atomic_load(&f->raw_pos);

	f->end = e;
	snprintf(f->msg, sizeof f->msg, "%s %s data %s %" PRIu64
	    " compressed bytes%s%s",
	    e == BF_END_TRUNCATED ? "truncated" : "corrupt", what,
	    e == BF_END_TRUNCATED ? "after" : "within the first", at,
	    detail ? ": " : "", detail ? detail : "");
}

static void inflate_gzip(struct dctx *d)
{
	z_stream z;
	bool in_member = false;
	int ret;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		diag_fatal("out of memory");
	z.next_in = d->in;
	z.avail_in = (uInt)d->in_len;
	for (;;) {
		if (z.avail_in == 0) {
			if (d->eof) {
				if (in_member)
					fail(d, BF_END_TRUNCATED, "gzip", NULL);
				break;
			}
			if (raw_read(d) < 0)
				break;
			z.next_in = d->in;
			z.avail_in = (uInt)d->in_len;
			continue;
		}
		in_member = true;
		z.next_out = d->out;
		z.avail_out = BF_OUT_CHUNK;
		ret = inflate(&z, Z_NO_FLUSH);
		if (put(d, d->out, BF_OUT_CHUNK - z.avail_out) < 0)
			break;
		if (ret == Z_STREAM_END) {
			/* Another member may follow (pigz, cat a.gz b.gz). */
			in_member = false;
			inflateReset(&z);
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			fail(d, BF_END_CORRUPT, "gzip",
			    z.msg ? z.msg : "inflate failed");
			break;
		}
	}
	inflateEnd(&z);
}

static void decompress_zstd(struct dctx *d)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	ZSTD_inBuffer in = { d->in, d->in_len, 0 };
	size_t hint = 0;
	bool full = false;      /* the last call filled the output: more */

	if (z == NULL)
		diag_fatal("out of memory");
	for (;;) {
		ZSTD_outBuffer out = { d->out, BF_OUT_CHUNK, 0 };

		if (in.pos == in.size && !full) {
			if (d->eof) {
				if (hint != 0)
					fail(d, BF_END_TRUNCATED, "zstd", NULL);
				break;
			}
			if (raw_read(d) < 0)
				break;
			in.src = d->in;
			in.size = d->in_len;
			in.pos = 0;
			continue;
		}
		hint = ZSTD_decompressStream(z, &out, &in);
		if (ZSTD_isError(hint)) {
			fail(d, BF_END_CORRUPT, "zstd", ZSTD_getErrorName(hint));
			break;
		}
		full = out.pos == out.size;
		if (put(d, d->out, out.pos) < 0)
			break;
	}
	ZSTD_freeDCtx(z);
}

static void *decomp_main(void *arg)
{
	struct dctx d = { .f = arg };
	struct bf_file *f = d.f;

	d.in = xmalloc(BF_IN_CHUNK);
	d.out = xmalloc(BF_OUT_CHUNK);
	if (raw_read(&d) == 0) {
		/* An unseekable input is sniffed here: 4 bytes decide. */
		while (f->codec == BF_SNIFF && d.in_len < 4 && !d.eof) {
			ssize_t n = read(f->rawfd, d.in + d.in_len,
			    BF_IN_CHUNK - d.in_len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				d.eof = n == 0 && d.in_len == 0;
				break;
			}
			d.in_len += (size_t)n;
			atomic_fetch_add(&f->raw_pos, (uint64_t)n);
		}
		if (f->codec == BF_SNIFF)
			f->codec = bf_codec_sniff(d.in, d.in_len);
		if (f->codec == BF_GZIP)
			inflate_gzip(&d);
		else if (f->codec == BF_ZSTD)
			decompress_zstd(&d);
		else
			copy_plain(&d);
	}
	free(d.in);
	free(d.out);
	close(f->wfd);
	f->wfd = -1;
	return NULL;
}

/* --- the reader's side -------------------------------------------- */

static int start_thread(struct bf_file *f, int fd, const char *path)
{
	int p[2];
	sigset_t block, old;
	int e;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	(void)fcntl(p[0], F_SETPIPE_SZ, BF_PIPE_SIZE);
	f->rawfd = fd;
	f->wfd = p[1];
	lineio_init_fd(&f->lr, p[0], path);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	e = pthread_create(&f->thread, NULL, decomp_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		diag_fatal("cannot start a thread: %s", strerror(e));
	f->threaded = true;
	return 0;
}

int bf_file_open(struct bf_file *f, const char *path)
{
	struct stat st;
	unsigned char magic[4];
	ssize_t n;
	int fd;

	memset(f, 0, sizeof *f);
	f->rawfd = -1;
	f->wfd = -1;
	if (strcmp(path, "-") == 0)
		fd = dup(0);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		f->codec = BF_SNIFF;
		if (start_thread(f, fd, path) < 0) {
			close(fd);
			return -1;
		}
		return 0;
	}
	f->size = (uint64_t)st.st_size;
	do
		n = pread(fd, magic, sizeof magic, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	f->codec = bf_codec_sniff(magic, (size_t)n);
	if (f->codec == BF_PLAIN) {
		lineio_init_fd(&f->lr, fd, path);
		return 0;
	}
	if (start_thread(f, fd, path) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

int bf_file_seek(struct bf_file *f, uint64_t off, uint64_t line)
{
	const char *l;
	size_t len;
	int r;

	if (off == 0)
		return 0;
	if (!f->threaded && f->lr.offset == 0 && f->lr.end == 0) {
		char c = 0;

		if (off > f->size || pread(f->lr.fd, &c, 1,
		    (off_t)off - 1) != 1 || (c != '\n' && off != f->size))
			return -1;
		if (lseek(f->lr.fd, (off_t)off, SEEK_SET) < 0)
			return -1;
		f->lr.offset = off;
		f->lr.lineno = line;
		return 0;
	}
	while (f->lr.offset < off) {
		r = lineio_read(&f->lr, &l, &len);
		if (r == -2)
			continue;
		if (r <= 0)
			return -1;
	}
	if (f->lr.offset != off)
		return -1;
	f->lr.lineno = line;
	return 0;
}

uint64_t bf_file_raw_pos(struct bf_file *f)
{
	if (f->threaded)
		return atomic_load(&f->raw_pos);
	return f->lr.offset;
}

static void join(struct bf_file *f)
{
	if (f->threaded && !f->joined) {
		pthread_join(f->thread, NULL);
		f->joined = true;
	}
}

int bf_file_end(struct bf_file *f, char *why, size_t n)
{
	if (!f->threaded)
		return 0;
	join(f);
	if (f->end == BF_END_OK)
		return 0;
	snprintf(why, n, "%s", f->msg);
	return -1;
}

bool bf_file_cut(struct bf_file *f)
{
	return f->threaded && f->joined && f->end != BF_END_OK &&
	    !f->out_nl && f->lr.eof && f->lr.offset == f->out_bytes;
}

void bf_file_close(struct bf_file *f)
{
	/* Closing the read end first makes a writing thread see EPIPE. */
	lineio_close(&f->lr);
	join(f);
	if (f->rawfd >= 0)
		close(f->rawfd);
	f->rawfd = -1;
}
