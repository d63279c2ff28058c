/*
 * as_opts.h - the Aerospike options fs-sink-aerospike and fs-get share,
 * declared once (opt.h): which cluster (--hosts, and -h HOSTS, its old
 * spelling kept for scripts), which records (-n, -s, -k,
 * --key-separator), how long an attempt waits (--timeout) and who logs
 * in (-u, --password-file).  The values go in a struct as_opts inside
 * the tool's options; as_cluster_open() and the key take them from
 * there.
 *
 * Three groups, not one, because the tools' --help lists the options in
 * three places, each tool's own options between them:
 *   OPT_GROUP_AEROSPIKE(a, key_help)   first, -k's help is the tool's
 *   OPT_AEROSPIKE_TIMEOUT(a)           with the tool's other time-outs
 *   OPT_GROUP_AEROSPIKE_LOGIN(a)       last
 * as_opts_init() sets the defaults before opt_parse(); the tool checks
 * what is required (-n, --key) after it, as_opts_check() the rest.
 */
#ifndef FS_AS_OPTS_H
#define FS_AS_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "as_cluster.h"
#include "as_exec.h"
#include "opt.h"
#include "path.h"

struct as_opts {
	const char *hosts;      /* seeds, host[:port],... */
	const char *ns, *set;   /* set "" is none */
	const char *key;        /* key field(s), or NULL */
	const char *key_sep;
	int64_t timeout_ms;     /* per attempt */
	const char *user, *password_file;
};

/* A duration option in milliseconds within [min, max], its message as
 * the Aerospike tools have always said it ("expected 1ms to 600s"):
 * OPT_AEROSPIKE_MS() below. */
struct as_opt_ms {
	int64_t *ms;
	int64_t min, max;
};
opt_fn as_opt_ms;

#define OPT_AEROSPIKE_MS(l, p, lo, hi, h) \
	OPT_CALLBACK(0, (l), as_opt_ms, \
	    (&(struct as_opt_ms){ (p), (lo), (hi) }), "DURATION", (h))

#define OPT_GROUP_AEROSPIKE(a, key_help) \
	OPT_STRING(0, "hosts", &(a)->hosts, "HOSTS", \
	    "seed hosts, host[:port],... (default 127.0.0.1:3000)"), \
	OPT_OLD_SHORT('h', "hosts"), \
	OPT_STRING('n', "namespace", &(a)->ns, "NS", "the namespace"), \
	OPT_STRING('s', "set", &(a)->set, "SET", "the set (default: none)"), \
	OPT_STRING('k', "key", &(a)->key, "FIELDS", (key_help)), \
	OPT_STRING(0, "key-separator", &(a)->key_sep, "SEP", \
	    "joins compound keys (default :)")

#define OPT_AEROSPIKE_TIMEOUT(a) \
	OPT_AEROSPIKE_MS("timeout", &(a)->timeout_ms, 1, 600000, \
	    "per attempt (default 1s)")

#define OPT_GROUP_AEROSPIKE_LOGIN(a) \
	OPT_STRING('u', "user", &(a)->user, "USER", \
	    "log in as USER (password: --password-file, or\n" \
	    "the FS_AEROSPIKE_PASSWORD environment variable)"), \
	OPT_STRING(0, "password-file", &(a)->password_file, "FILE", \
	    "the password, first line of FILE")

/* The defaults: 127.0.0.1:3000, no set, ":" between key fields, 1s. */
void as_opts_init(struct as_opts *a);

/* Exits 2 on what the options cannot mean together (--password-file
 * without --user). */
void as_opts_check(const struct as_opts *a);

/*
 * The password for --user (allocated; the caller frees it): the first
 * line of --password-file, else $FS_AEROSPIKE_PASSWORD; NULL without
 * --user.  Exits 2 when there is none, 1 when the file cannot be read.
 */
char *as_opts_password(const struct as_opts *a);

/* Exits 2 unless NAME (N bytes) fits a bin name: 1 to AS_BIN_NAME_MAX
 * bytes.  OPTION names the option it came from in the message. */
void as_check_bin_name(const char *option, const char *name, size_t n);

/*
 * The bin that holds the event time: --time-bin if given, else the last
 * part of the event-time field's path (-T ts.ms gives "ms"), as the sink
 * writes it and fs-lookup reads it back; checked as a bin name.
 */
const char *as_time_bin(const char *time_bin, const struct path *time_path);

/*
 * Connects cl to the cluster of a for registry records alone (the tools
 * that register or read views without writing features: fs-produce,
 * fs-sink-file, fs-features): at most max_conns connections, a time-out
 * no shorter than an info command's; eo gets the executor options for
 * as_registry_open(), one command at a time, two retries.  password is
 * as_opts_password()'s.  Exits 1 when the cluster cannot be reached.
 */
void as_opts_connect_registry(const struct as_opts *a, const char *password,
    int max_conns, struct as_cluster *cl, struct as_exec_opts *eo);

#endif
