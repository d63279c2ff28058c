/*
 * fsk_out.c - one file of the offline store being written (filesink.h):
 * NDJSON plain, gzip (zlib) or zstd (libzstd), or an Avro object
 * container file (Avro 1.11 specification, "Object Container Files"):
 * the magic "Obj\1", the metadata map (avro.schema, avro.codec), a
 * 16-byte sync marker, then blocks of rows, each its row count, its
 * byte count, the rows (raw-deflated with codec deflate) and the sync
 * marker.  The marker is a hash of the path, so that a run written
 * again is the same bytes.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "filesink.h"
#include "xalloc.h"
#include "banned.h"

const char *const fsk_format_words[] = { "ndjson", "avro", NULL };
const char *const fsk_codec_words[] = { "none", "gzip", "zstd", "deflate",
	NULL };

/* Rows of an Avro block before it is written (uncompressed bytes). */
#define FSK_AVRO_BLOCK 65536
/* What is buffered before a write(2). */
#define FSK_OUT_BUF 65536

struct fsk_out {
	int fd;
	char *path;
	enum fsk_format format;
	enum fsk_codec codec;
	z_stream z;             /* gzip, and deflate per Avro block */
	ZSTD_CCtx *zc;
	struct buf out;         /* bytes to write(2) */
	struct buf block;       /* Avro: the rows of the open block */
	uint64_t block_rows;
	unsigned char sync[16];
	uint64_t size, rows;
};

static void errf(char *why, size_t wl, const struct fsk_out *o,
    const char *what, int e)
{
	snprintf(why, wl, "%s: %s: %s", o->path, what, strerror(e));
}

/* write(2) all of o->out. */
static int flush_out(struct fsk_out *o, char *why, size_t wl)
{
	size_t off = 0;

	while (off < o->out.len) {
		ssize_t w = write(o->fd, o->out.data + off, o->out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			errf(why, wl, o, "write", errno);
			return -1;
		}
		off += (size_t)w;
	}
	o->size += off;
	buf_reset(&o->out);
	return 0;
}

/* Runs the gzip stream over p[0..n) with flush (Z_NO_FLUSH, Z_FINISH). */
static int gz_feed(struct fsk_out *o, const void *p, size_t n, int flush)
{
	o->z.next_in = (Bytef *)(uintptr_t)p;
	o->z.avail_in = (uInt)n;
	for (;;) {
		buf_reserve(&o->out, 65536);
		o->z.next_out = (Bytef *)o->out.data + o->out.len;
		o->z.avail_out = (uInt)(o->out.cap - o->out.len);
		int r = deflate(&o->z, flush);
		if (r == Z_STREAM_ERROR)
			return -1;
		o->out.len = o->out.cap - o->z.avail_out;
		/* all input taken when output room is left; the end once
		 * deflate says so */
		if (flush == Z_FINISH ? r == Z_STREAM_END : o->z.avail_out != 0)
			break;
	}
	return 0;
}

static int zs_feed(struct fsk_out *o, const void *p, size_t n,
    ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;

	do {
		buf_reserve(&o->out, ZSTD_CStreamOutSize());
		ZSTD_outBuffer ob = { o->out.data + o->out.len,
			o->out.cap - o->out.len, 0 };
		left = ZSTD_compressStream2(o->zc, &ob, &in, end);
		if (ZSTD_isError(left))
			return -1;
		o->out.len += ob.pos;
	} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

/* p[0..n) through the file's codec into o->out, written when it grows. */
static int put(struct fsk_out *o, const void *p, size_t n, char *why,
    size_t wl)
{
	int r = 0;

	if (o->format == FSK_NDJSON && o->codec == FSK_GZIP)
		r = gz_feed(o, p, n, Z_NO_FLUSH);
	else if (o->format == FSK_NDJSON && o->codec == FSK_ZSTD)
		r = zs_feed(o, p, n, ZSTD_e_continue);
	else
		buf_append(&o->out, p, n);
	if (r < 0) {
		snprintf(why, wl, "%s: compression failed", o->path);
		return -1;
	}
	return o->out.len >= FSK_OUT_BUF ? flush_out(o, why, wl) : 0;
}

/* Avro's long: zigzag, then base-128 little-endian groups. */
static void put_long(struct buf *b, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	char c;

	while (z >= 0x80) {
		c = (char)((z & 0x7f) | 0x80);
		buf_appendc(b, c);
		z >>= 7;
	}
	buf_appendc(b, (char)z);
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	put_long(b, (int64_t)n);
	buf_append(b, p, n);
}

static void avro_header(struct fsk_out *o, const char *schema)
{
	static const char *const codec_names[] = { "null", "null", "null",
		"deflate" };
	const char *codec = codec_names[o->codec];
	XXH128_hash_t h = XXH3_128bits(o->path, strlen(o->path));

	buf_append(&o->out, "Obj\1", 4);
	put_long(&o->out, 2);
	put_bytes(&o->out, "avro.schema", 11);
	put_bytes(&o->out, schema, strlen(schema));
	put_bytes(&o->out, "avro.codec", 10);
	put_bytes(&o->out, codec, strlen(codec));
	put_long(&o->out, 0);
	for (int i = 0; i < 8; i++) {
		o->sync[i] = (unsigned char)(h.high64 >> (8 * i));
		o->sync[8 + i] = (unsigned char)(h.low64 >> (8 * i));
	}
	buf_append(&o->out, o->sync, 16);
}

/* The open Avro block, written out. */
static int avro_block(struct fsk_out *o, char *why, size_t wl)
{
	struct buf z = BUF_INIT;
	const struct buf *data = &o->block;

	if (o->block_rows == 0)
		return 0;
	if (o->codec == FSK_DEFLATE) {
		o->z.next_in = (Bytef *)o->block.data;
		o->z.avail_in = (uInt)o->block.len;
		buf_reserve(&z, deflateBound(&o->z, o->block.len) + 16);
		o->z.next_out = (Bytef *)z.data;
		o->z.avail_out = (uInt)z.cap;
		if (deflate(&o->z, Z_FINISH) != Z_STREAM_END) {
			buf_free(&z);
			snprintf(why, wl, "%s: compression failed", o->path);
			return -1;
		}
		z.len = z.cap - o->z.avail_out;
		deflateReset(&o->z);
		data = &z;
	}
	put_long(&o->out, (int64_t)o->block_rows);
	put_long(&o->out, (int64_t)data->len);
	buf_append(&o->out, data->data, data->len);
	buf_append(&o->out, o->sync, 16);
	buf_free(&z);
	buf_reset(&o->block);
	o->block_rows = 0;
	return flush_out(o, why, wl);
}

static int codec_init(struct fsk_out *o)
{
	if (o->format == FSK_NDJSON && o->codec == FSK_GZIP)
		return deflateInit2(&o->z, 6, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
	if (o->format == FSK_AVRO && o->codec == FSK_DEFLATE)
		return deflateInit2(&o->z, 6, Z_DEFLATED, -15, 8,
		    Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
	if (o->codec == FSK_ZSTD) {
		o->zc = ZSTD_createCCtx();
		return o->zc == NULL ? -1 : 0;
	}
	return 0;
}

static void codec_end(struct fsk_out *o)
{
	if ((o->format == FSK_NDJSON && o->codec == FSK_GZIP) ||
	    (o->format == FSK_AVRO && o->codec == FSK_DEFLATE))
		deflateEnd(&o->z);
	ZSTD_freeCCtx(o->zc);
}

static void out_free(struct fsk_out *o)
{
	codec_end(o);
	buf_free(&o->out);
	buf_free(&o->block);
	free(o->path);
	free(o);
}

struct fsk_out *fsk_out_open(const char *path, enum fsk_format f,
    enum fsk_codec c, const char *schema_text, char *why, size_t wl)
{
	struct fsk_out *o = xcalloc(1, sizeof *o);

	o->path = xstrdup(path);
	o->format = f;
	o->codec = c;
	o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		errf(why, wl, o, "cannot create", errno);
		out_free(o);
		return NULL;
	}
	if (codec_init(o) < 0) {
		snprintf(why, wl, "%s: cannot start the compressor", path);
		fsk_out_abort(o);
		return NULL;
	}
	if (f == FSK_AVRO)
		avro_header(o, schema_text);
	return o;
}

int fsk_out_write(struct fsk_out *o, const void *p, size_t n, char *why,
    size_t wl)
{
	o->rows++;
	if (o->format == FSK_AVRO) {
		buf_append(&o->block, p, n);
		o->block_rows++;
		return o->block.len >= FSK_AVRO_BLOCK ?
		    avro_block(o, why, wl) : 0;
	}
	if (put(o, p, n, why, wl) < 0)
		return -1;
	return put(o, "\n", 1, why, wl);
}

uint64_t fsk_out_size(const struct fsk_out *o)
{
	return o->size + o->out.len + o->block.len;
}

uint64_t fsk_out_rows(const struct fsk_out *o)
{
	return o->rows;
}

/* The format's end, written out. */
static int finish(struct fsk_out *o, char *why, size_t wl)
{
	int r = 0;

	if (o->format == FSK_AVRO)
		return avro_block(o, why, wl);
	if (o->codec == FSK_GZIP)
		r = gz_feed(o, NULL, 0, Z_FINISH);
	else if (o->codec == FSK_ZSTD)
		r = zs_feed(o, NULL, 0, ZSTD_e_end);
	if (r < 0) {
		snprintf(why, wl, "%s: compression failed", o->path);
		return -1;
	}
	return flush_out(o, why, wl);
}

int fsk_out_close(struct fsk_out *o, char *why, size_t wl)
{
	int r = finish(o, why, wl);

	if (r == 0 && fsync(o->fd) < 0) {
		errf(why, wl, o, "fsync", errno);
		r = -1;
	}
	if (close(o->fd) < 0 && r == 0) {
		errf(why, wl, o, "close", errno);
		r = -1;
	}
	out_free(o);
	return r;
}

void fsk_out_abort(struct fsk_out *o)
{
	close(o->fd);
	out_free(o);
}
