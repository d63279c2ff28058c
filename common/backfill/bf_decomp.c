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
#include "buf.h"
#include "diag.h"
#include "rec.h"
#include "schema/schema.h"
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
	if (n >= 4 && memcmp(p, "Obj\1", 4) == 0)
		return BF_AVRO;
	return BF_PLAIN;
}

const char *bf_codec_name(enum bf_codec c)
{
	switch (c) {
	case BF_GZIP:
		return "gzip";
	case BF_ZSTD:
		return "zstd";
	case BF_AVRO:
		return "avro";
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

/* --- Avro object container files ------------------------------------ */

/*
 * An Avro object container file (Avro 1.11 specification) read as a
 * stream: the header (magic, metadata map with avro.schema and
 * avro.codec, sync marker), then blocks of rows, each decoded with the
 * file's schema into one compact JSON line (schema.h's JSON, unions
 * unwrapped: the rows fs-sink-file wrote come back as they were).
 * Codecs null, deflate and zstandard.  The raw bytes accumulate in acc
 * from pos on; a block is consumed whole before the next is read.
 */
struct avin {
	struct dctx *d;
	struct buf acc;
	size_t pos;
	bool error;             /* a read error, recorded in f */
};

/* At least n bytes at pos (reading more as needed); false at the end
 * of the file or on a read error. */
static bool av_need(struct avin *a, size_t n)
{
	while (a->acc.len - a->pos < n) {
		if (a->d->eof || a->error)
			return false;
		if (raw_read(a->d) < 0) {
			a->error = true;
			return false;
		}
		buf_append(&a->acc, a->d->in, a->d->in_len);
	}
	return true;
}

/* Avro's long (zigzag varint) at pos; -1 at the end of the data. */
static int av_long(struct avin *a, int64_t *v)
{
	uint64_t u = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		if (!av_need(a, 1))
			return -1;
		unsigned char c = (unsigned char)a->acc.data[a->pos++];
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
	}
	return -2;      /* longer than 10 bytes */
}

/* n bytes at pos as a pointer, consumed; NULL at the end of the data. */
static const char *av_take(struct avin *a, int64_t n)
{
	const char *p;

	if (n < 0 || !av_need(a, (size_t)n))
		return NULL;
	p = a->acc.data + a->pos;
	a->pos += (size_t)n;
	return p;
}

/* The end of the data where more was due: truncated, unless a read
 * error said otherwise already. */
static void av_short(struct avin *a)
{
	if (!a->error)
		fail(a->d, BF_END_TRUNCATED, "avro", NULL);
}

/* The header: the schema (compiled) and codec; NULL after fail(). */
static struct avro_sch *av_header(struct avin *a, char *codec, size_t cl,
    unsigned char sync[16])
{
	char why[SCHEMA_ERR_MAX];
	struct avro_sch *sch = NULL;
	int64_t count, len;
	const char *p;

	snprintf(codec, cl, "null");
	if (av_take(a, 4) == NULL) {
		av_short(a);
		return NULL;
	}
	for (;;) {
		if (av_long(a, &count) < 0)
			goto short_;
		if (count == 0)
			break;
		if (count < 0) {
			count = -count;
			if (av_long(a, &len) < 0)       /* the block's size */
				goto short_;
		}
		for (int64_t i = 0; i < count; i++) {
			const char *k, *v;
			int64_t kl, vl;
			if (av_long(a, &kl) < 0 || (k = av_take(a, kl)) == NULL ||
			    av_long(a, &vl) < 0)
				goto short_;
			/* k stays valid while v is taken: acc may move */
			size_t koff = (size_t)(k - a->acc.data);
			if ((v = av_take(a, vl)) == NULL)
				goto short_;
			k = a->acc.data + koff;
			if (kl == 11 && memcmp(k, "avro.schema", 11) == 0) {
				avsch_free(sch);
				sch = avsch_new(v, (size_t)vl, why);
				if (sch == NULL) {
					fail(a->d, BF_END_CORRUPT, "avro", why);
					return NULL;
				}
			} else if (kl == 10 && memcmp(k, "avro.codec", 10) == 0) {
				snprintf(codec, cl, "%.*s", (int)(vl < 32 ? vl : 32),
				    v);
			}
		}
	}
	if ((p = av_take(a, 16)) == NULL)
		goto short_;
	memcpy(sync, p, 16);
	if (sch == NULL)
		fail(a->d, BF_END_CORRUPT, "avro", "no avro.schema in the header");
	return sch;
short_:
	av_short(a);
	avsch_free(sch);
	return NULL;
}

/* A block's data p[0..n) decompressed into out with codec; -1 with
 * why. */
static int av_inflate(const char *codec, const char *p, size_t n,
    struct buf *out, char *why, size_t wl)
{
	buf_reset(out);
	if (strcmp(codec, "null") == 0) {
		buf_append(out, p, n);
		return 0;
	}
	if (strcmp(codec, "deflate") == 0) {
		z_stream z;
		int r = Z_OK;
		memset(&z, 0, sizeof z);
		if (inflateInit2(&z, -15) != Z_OK)
			diag_fatal("out of memory");
		z.next_in = (Bytef *)(uintptr_t)p;
		z.avail_in = (uInt)n;
		while (r != Z_STREAM_END) {
			buf_reserve(out, n + 65536);
			z.next_out = (Bytef *)out->data + out->len;
			z.avail_out = (uInt)(out->cap - out->len);
			r = inflate(&z, Z_NO_FLUSH);
			out->len = out->cap - z.avail_out;
			if (r != Z_OK && r != Z_STREAM_END) {
				snprintf(why, wl, "deflate: %s", z.msg ? z.msg :
				    "inflate failed");
				inflateEnd(&z);
				return -1;
			}
			if (r == Z_OK && z.avail_in == 0 && z.avail_out != 0)
				break;
		}
		inflateEnd(&z);
		return 0;
	}
	if (strcmp(codec, "zstandard") == 0) {
		ZSTD_DCtx *z = ZSTD_createDCtx();
		ZSTD_inBuffer in = { p, n, 0 };
		size_t r = 1;
		while (in.pos < in.size || r != 0) {
			buf_reserve(out, 65536);
			ZSTD_outBuffer ob = { out->data + out->len,
				out->cap - out->len, 0 };
			r = ZSTD_decompressStream(z, &ob, &in);
			out->len += ob.pos;
			if (ZSTD_isError(r) || (ob.pos == 0 && in.pos == in.size &&
			    r != 0)) {
				snprintf(why, wl, "zstandard: %s", ZSTD_isError(r) ?
				    ZSTD_getErrorName(r) : "truncated frame");
				ZSTD_freeDCtx(z);
				return -1;
			}
		}
		ZSTD_freeDCtx(z);
		return 0;
	}
	snprintf(why, wl, "codec '%s' is not supported (null, deflate, "
	    "zstandard)", codec);
	return -1;
}

/* One block's rows as lines; -1 after fail() or when the reader left. */
static int av_block(struct avin *a, const struct avro_sch *sch,
    const char *codec, const unsigned char sync[16], struct buf *data,
    struct buf *line)
{
	char why[SCHEMA_ERR_MAX + 64];
	int64_t count, size;
	const char *p;

	if (av_long(a, &count) < 0 || av_long(a, &size) < 0 ||
	    (p = av_take(a, size)) == NULL) {
		av_short(a);
		return -1;
	}
	size_t off = (size_t)(p - a->acc.data);
	if (av_take(a, 16) == NULL) {
		av_short(a);
		return -1;
	}
	p = a->acc.data + off;
	if (memcmp(p + size, sync, 16) != 0) {
		fail(a->d, BF_END_CORRUPT, "avro", "a block does not end with "
		    "the file's sync marker");
		return -1;
	}
	if (count < 0 || av_inflate(codec, p, (size_t)size, data, why,
	    sizeof why) < 0) {
		fail(a->d, BF_END_CORRUPT, "avro", count < 0 ?
		    "negative row count" : why);
		return -1;
	}
	const unsigned char *r = (const unsigned char *)data->data;
	const unsigned char *end = r + data->len;
	buf_reset(line);
	for (int64_t i = 0; i < count; i++) {
		json_t *v = avsch_decode_next(sch, &r, end, true, why);
		if (v == NULL) {
			fail(a->d, BF_END_CORRUPT, "avro", why);
			return -1;
		}
		rec_dump(line, v);
		buf_appendc(line, '\n');
		json_decref(v);
	}
	if (r != end) {
		fail(a->d, BF_END_CORRUPT, "avro", "bytes after a block's rows");
		return -1;
	}
	return put(a->d, (const unsigned char *)line->data, line->len);
}

static void decode_avro(struct dctx *d)
{
	struct avin a = { d, BUF_INIT, 0, false };
	struct buf data = BUF_INIT, line = BUF_INIT;
	unsigned char sync[16];
	char codec[40];
	struct avro_sch *sch;

	buf_append(&a.acc, d->in, d->in_len);
	sch = av_header(&a, codec, sizeof codec, sync);
	while (sch != NULL && av_need(&a, 1)) {
		if (av_block(&a, sch, codec, sync, &data, &line) < 0)
			break;
		/* what is consumed goes: memory stays about a block */
		memmove(a.acc.data, a.acc.data + a.pos, a.acc.len - a.pos);
		a.acc.len -= a.pos;
		a.pos = 0;
	}
	avsch_free(sch);
	buf_free(&a.acc);
	buf_free(&data);
	buf_free(&line);
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
		else if (f->codec == BF_AVRO)
			decode_avro(&d);
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
