/*
 * window/window.h - the interface of the window library (libfs-
 * window.a): window kinds and their assignment, lateness options, the
 * watermark, the per-window state tables, and fs-window's engine
 * (window_run.h).
 *
 * Tools include this header only; the headers it names are the parts
 * of the interface, the folder's other headers are private to it.
 */
#ifndef FS_WINDOW_LIB_H
#define FS_WINDOW_LIB_H

#include "winspec.h"
#include "window_late.h"
#include "window_run.h"
#include "window_state.h"
#include "window_wm.h"

#endif
