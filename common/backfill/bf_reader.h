/*
 * bf_reader.h - an archive file read and parsed by a thread of its own,
 * handed over as a stream of items.
 *
 * Parsing JSON is what a backfill spends its time on; a reader per file
 * parses while the caller merges, so several files parse on several
 * cores.  The thread reads the file (bf_decomp.h: plain, gzip, zstd)
 * with lineio, parses each line with rec_parse() (or each CSV record,
 * bf_csv.h), takes its event time, and passes items in batches through
 * a short queue, so memory stays bounded (a few batches per file).
 *
 * Items, in file order:
 *   BF_ITEM_RECORD   a record: its event time, the bytes to emit (the
 *                    line itself for NDJSON; compact JSON for CSV and
 *                    for the value of a kafka envelope) and its raw
 *                    bytes (for a reject)
 *   BF_ITEM_BAD      input to reject: where ("FILE:LINE", or "FILE:
 *                    record N (line L)" for CSV, or "FILE" for a
 *                    truncated or corrupt compressed file), why, raw
 *   BF_ITEM_CONTROL  a control record found in the archive; raw is its
 *                    line, ctl_other tells one of a kind rec.h does not
 *                    know (CTL_OTHER) from watermarks, barriers, restores
 *   BF_ITEM_FATAL    a read error: why says it; nothing follows
 * Each item also says where it ends (the byte offset and line number
 * after it) and, for records, where it began, for checkpoints.
 *
 * The reader never reports anything itself: policy (reject, fail) is
 * the caller's, in file order.  An item is valid until the next call.
 */
#ifndef FS_BF_READER_H
#define FS_BF_READER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_csv.h"
#include "bf_decomp.h"
#include "path.h"

enum bf_item_kind { BF_ITEM_RECORD, BF_ITEM_BAD, BF_ITEM_CONTROL,
	BF_ITEM_FATAL };

struct bf_item {
	enum bf_item_kind kind;
	int64_t ts;
	const char *data;       /* RECORD: the bytes to emit */
	size_t len;
	const char *raw;        /* RECORD, BAD: the input's bytes */
	size_t rawlen;
	const char *where, *why;        /* BAD, FATAL */
	uint64_t start, start_line;     /* offset and line before it */
	uint64_t end, line;             /* offset and line after it */
	uint64_t rec_no, rec_line;      /* CSV record number (else 0) and
					 * the line the record began on */
	bool file_level;                /* about the file, not a record */
	bool ctl_other;                 /* CONTROL: an unknown kind */
};

struct bf_reader_conf {
	const struct path *time_path;
	bool csv;                       /* CSV records, else NDJSON lines */
	bool kafka;                     /* lines are fs-consume envelopes */
	bool envelope;                  /* kafka: emit the envelope */
	const struct bf_csv_schema *schema;
	size_t batch_bytes;             /* hand over this much at a time */
};

struct bf_batch;

struct bf_reader {
	char *path;
	struct bf_reader_conf conf;
	struct bf_file f;
	struct bf_csv cr;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* both ways: items, and room */
	struct bf_batch *full, *full_tail, *spare, *cur;
	unsigned nfull;
	size_t cur_i;
	bool finished;                  /* the thread has handed over all */
	atomic_bool stop;               /* the caller is done with it */
	_Atomic uint64_t pos;           /* bytes of the file read (progress) */
	struct buf env_key, env_value;  /* kafka: a message's bytes */
};

/*
 * Opens path and, for a resume, positions it at byte off (line line)
 * (bf_file_seek); reads a CSV header; starts the thread.  Returns 0, or
 * -1 with why (cannot open, bad header, not at a line boundary).
 */
int bf_reader_open(struct bf_reader *r, const char *path,
    const struct bf_reader_conf *conf, uint64_t off, uint64_t line,
    char *why, size_t n);

/*
 * The next item: 1, 0 when there are no more, -2 when a signal asked
 * to stop while waiting (sig.h).  Valid until the next call.
 */
int bf_reader_next(struct bf_reader *r, struct bf_item *it);

/* Bytes of the file on disk read so far. */
uint64_t bf_reader_pos(struct bf_reader *r);

/* Stops the thread (also before the end) and frees everything; a thread
 * still blocked in a read after a second is detached instead, and r
 * must then stay allocated. */
void bf_reader_close(struct bf_reader *r);

#endif
