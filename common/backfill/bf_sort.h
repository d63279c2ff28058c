/*
 * bf_sort.h - an external sort of records by key, in bounded memory.
 *
 * Records (a key, see bf_heap.h, and the bytes of a line) are added in
 * any order.  They are gathered in memory until the next one would take
 * the memory in use past the budget; then the gathered run is sorted in
 * place and written to a temporary file, and gathering starts again.
 * At the end the runs are merged (in passes of at most BF_SORT_FANIN
 * runs when there are more), and records come out in key order.
 *
 * The budget counts the record bytes, the per-record index and the
 * merge buffers; the caller's own memory is not counted, so a process
 * bound is met by passing less than the bound (fs-backfill passes 3/4).
 * Temporary files are created in tmpdir and unlinked at once, so they
 * vanish even when the process is killed.  A write error on them (a
 * full disk) is fatal, naming the directory.
 *
 * Ownership: the sorter copies what is added; a record returned by
 * bf_sort_next() is valid until the next call.
 */
#ifndef FS_BF_SORT_H
#define FS_BF_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "bf_heap.h"

#define BF_SORT_FANIN 64

struct bf_sort;

struct bf_sort_stats {
	uint64_t records;
	uint64_t runs;          /* runs written to temporary files */
	uint64_t spilled;       /* bytes written to temporary files */
	uint64_t passes;        /* merge passes before the final merge */
	uint64_t mem_peak;      /* most memory the sorter counted in use */
};

struct bf_sort *bf_sort_new(uint64_t budget, const char *tmpdir);
void bf_sort_add(struct bf_sort *s, const struct bf_key *k,
    const char *data, size_t len);
/* Ends the input and prepares the merge. */
void bf_sort_finish(struct bf_sort *s);
/* 1 with the next record in *k, *data, *len; 0 at the end. */
int bf_sort_next(struct bf_sort *s, struct bf_key *k, const char **data,
    size_t *len);
void bf_sort_stats(const struct bf_sort *s, struct bf_sort_stats *st);
void bf_sort_free(struct bf_sort *s);

#endif
