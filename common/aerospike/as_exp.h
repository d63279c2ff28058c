/*
 * as_exp.h - Aerospike filter expressions (message field 43), for the
 * few the tools need.  An expression is a msgpack array [op, args...];
 * bin names are raw msgpack strings (no particle type prefix) and
 * integers plain msgpack integers, as the official clients pack them
 * (aerospike-client-go expression.go, aerospike-client-c as_exp.c).
 * A write whose filter is false fails with result 27 (filtered out); the
 * server evaluates a write's filter only when the record exists.
 */
#ifndef FS_AS_EXP_H
#define FS_AS_EXP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AS_EXP_EQ       1
#define AS_EXP_NE       2
#define AS_EXP_GT       3
#define AS_EXP_GE       4
#define AS_EXP_LT       5
#define AS_EXP_LE       6
#define AS_EXP_AND      16
#define AS_EXP_OR       17
#define AS_EXP_NOT      18
#define AS_EXP_SINCE_UPDATE 67
#define AS_EXP_BIN      81
#define AS_EXP_BIN_TYPE 82

#define AS_EXP_TYPE_INT 2

/*
 * The monotonic-upsert filter: true when the stored record has no bin
 * named bin, or its integer value is <= ts.
 *   or(eq(bin_type(bin), 0), le(int_bin(bin), ts))
 *   [17, [1, [82, bin], 0], [6, [81, 2, bin], ts]]
 */
void as_exp_monotonic(struct buf *out, const char *bin, size_t binlen,
    int64_t ts);

/*
 * The freshness filter of a read: true when the record was last updated
 * at most max_ms milliseconds ago, by the server's clock.
 *   le(since_update(), max_ms)
 *   [6, [67], max_ms]
 */
void as_exp_since_update_le(struct buf *out, int64_t max_ms);

#endif
