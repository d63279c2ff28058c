/*
 * backfill/backfill.h - the interface of the backfill library (libfs-
 * backfill.a): fs-backfill's engine (bf_replay.h: the merge of inputs,
 * the orders, watermarks and checkpoints) and its inputs: file lists,
 * decompression, CSV and NDJSON readers, the merge heap, the external
 * sort and progress.
 *
 * Tools include this header only; the headers it names are the parts
 * of the interface, the folder's other headers are private to it.
 */
#ifndef FS_BACKFILL_H
#define FS_BACKFILL_H

#include "bf_csv.h"
#include "bf_decomp.h"
#include "bf_heap.h"
#include "bf_inputs.h"
#include "bf_progress.h"
#include "bf_reader.h"
#include "bf_replay.h"
#include "bf_sort.h"

#endif
