/*
 * agg/agg.h - the interface of the agg library (libfs-agg.a): aggregate
 * functions (specs, operations, snapshots), their sketches, fs-agg's
 * window-firing engine, and OVER aggregation.
 *
 * Tools include this header only; the headers it names are the parts
 * of the interface, the folder's other headers are private to it.
 */
#ifndef FS_AGG_H
#define FS_AGG_H

#include "aggfn.h"
#include "agg_fire.h"
#include "agg_over.h"

#endif
