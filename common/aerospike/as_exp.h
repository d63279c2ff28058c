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

#endif
