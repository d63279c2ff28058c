/*
 * aerospike/aerospike.h - the interface of the aerospike library (libfs-
 * aerospike.a): Aerospike's wire protocol, the cluster map, keys,
 * values, expressions and the pipelined writer, and the options the
 * Aerospike tools share.
 *
 * Tools include this header only; the headers it names are the parts
 * of the interface, the folder's other headers are private to it.
 */
#ifndef FS_AEROSPIKE_H
#define FS_AEROSPIKE_H

#include "as_cluster.h"
#include "as_exec.h"
#include "as_exp.h"
#include "as_key.h"
#include "as_opts.h"
#include "as_registry.h"
#include "as_value.h"

#endif
