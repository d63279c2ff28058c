/*
 * num.h - range-checked number parsing for option arguments and fields.
 *
 * Each returns 0 and stores the value when the whole string is a number
 * within [min, max]; otherwise it returns -1 and leaves *out alone.
 * opt_* variants exit with a usage error naming the option and the range.
 */
#ifndef FS_NUM_H
#define FS_NUM_H

#include <stdint.h>

int num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int num_parse_u64(const char *s, uint64_t max, uint64_t *out);
int num_parse_double(const char *s, double *out);
/* Digits only (no sign, no space), as in file names. */
int num_parse_u64_strict(const char *s, uint64_t *out);

int64_t opt_i64(const char *opt, const char *arg, int64_t min, int64_t max);
double opt_double(const char *opt, const char *arg, double min, double max);

#endif
