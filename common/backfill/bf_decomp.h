/*
 * bf_decomp.h - an archive file as a line stream, whatever its
 * compression.
 *
 * bf_file_open() looks at the first bytes of the file: gzip (1f 8b) and
 * zstd (28 b5 2f fd) are recognised by their magic numbers, whatever the
 * file is called, and so is an Avro object container file ("Obj" 01),
 * whose rows become compact JSON lines (unions unwrapped: what
 * fs-sink-file(1) wrote comes back as it was; codecs null, deflate,
 * zstandard); anything else is read as it is.  Lines are then read
 * with f->lr like any other input (lineio.h), so line numbers, CRLF and
 * long lines behave as everywhere in fs.
 *
 * A compressed file is decompressed by a thread of its own that writes
 * into a pipe the lineio reads: several files of a merge decompress in
 * parallel, and the reader never sees the codec.  Multi-member gzip
 * (pigz, cat a.gz b.gz) and multi-frame zstd are read through.  The
 * thread blocks SIGINT and SIGTERM so that they reach the reading thread.
 * Standard input ("-") and other unseekable files are sniffed by the
 * thread itself.
 *
 * When lineio_read() has returned 0 (or a line with f->lr.eof set),
 * bf_file_end() tells how the data ended: 0 when complete, -1 when it
 * was truncated or corrupt, with a message that says how far it got.
 * A truncated file usually ends in the middle of a line: bf_file_cut()
 * says whether the line just returned is that unfinished tail.
 *
 * Ownership: the bf_file owns its descriptors, thread and lineio;
 * bf_file_close() releases them all, also before the end of the data.
 */
#ifndef FS_BF_DECOMP_H
#define FS_BF_DECOMP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lineio.h"

enum bf_codec { BF_PLAIN, BF_GZIP, BF_ZSTD, BF_AVRO, BF_SNIFF };

enum bf_end { BF_END_OK, BF_END_TRUNCATED, BF_END_CORRUPT, BF_END_IOERR };

#define BF_MSG_MAX 256

struct bf_file {
	struct lineio lr;               /* read the lines from here */
	enum bf_codec codec;            /* BF_SNIFF until the thread knows */
	uint64_t size;                  /* bytes on disk; 0 when unknown */
	/* Decompression (codec != BF_PLAIN). */
	bool threaded, joined;
	pthread_t thread;
	int rawfd;                      /* the file, read by the thread */
	int wfd;                        /* the pipe's write end (thread's) */
	_Atomic uint64_t raw_pos;       /* compressed bytes consumed */
	/* Set by the thread before it closes wfd, read after the join. */
	enum bf_end end;
	uint64_t out_bytes;             /* decompressed bytes written */
	bool out_nl;                    /* last byte written was '\n' */
	char msg[BF_MSG_MAX];
};

/* The codec named by the first bytes p[0..n), BF_PLAIN when none. */
enum bf_codec bf_codec_sniff(const unsigned char *p, size_t n);
const char *bf_codec_name(enum bf_codec c);

/* Opens path ("-" is standard input).  Returns 0, or -1 with errno. */
int bf_file_open(struct bf_file *f, const char *path);

/*
 * For resuming: positions a file just opened, before any read, at the
 * uncompressed byte offset off, which is the start of line line + 1.
 * A plain regular file not read yet seeks; otherwise the lines in
 * between are read and dropped (a CSV header may have been read).
 * Returns 0, or -1 when the file is shorter or off is not at a line
 * boundary (the file changed since the checkpoint).
 */
int bf_file_seek(struct bf_file *f, uint64_t off, uint64_t line);

/* Bytes of the file on disk consumed so far (for progress). */
uint64_t bf_file_raw_pos(struct bf_file *f);

/*
 * After the end of the data (see above): joins the decompression thread
 * and returns 0 when the data was complete, -1 when it was not, with
 * "truncated gzip data: ..." or "corrupt zstd data: ..." in why[n].
 */
int bf_file_end(struct bf_file *f, char *why, size_t n);

/* True when the line just read is the unfinished last line of a file
 * that bf_file_end() found truncated or corrupt. */
bool bf_file_cut(struct bf_file *f);

void bf_file_close(struct bf_file *f);

#endif
