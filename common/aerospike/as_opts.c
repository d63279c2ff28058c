/* as_opts.c - the options the Aerospike tools share (see as_opts.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "as_opts.h"
#include "as_proto.h"
#include "diag.h"
#include "etime.h"
#include "lineio.h"
#include "xalloc.h"
#include "banned.h"

void as_opt_ms(void *data, const char *name, const char *arg)
{
	const struct as_opt_ms *m = data;
	int64_t ms = opt_duration(name, arg);

	if (ms < m->min || ms > m->max)
		diag_usage("%s: expected %lldms to %llds: '%s'", name,
		    (long long)m->min, (long long)m->max / 1000, arg);
	*m->ms = ms;
}

void as_opts_init(struct as_opts *a)
{
	memset(a, 0, sizeof *a);
	a->hosts = "127.0.0.1:3000";
	a->set = "";
	a->key_sep = ":";
	a->timeout_ms = 1000;
}

void as_opts_check(const struct as_opts *a)
{
	if (a->password_file != NULL && a->user == NULL)
		diag_usage("--password-file needs --user");
}

char *as_opts_password(const struct as_opts *a)
{
	const char *env = getenv("FS_AEROSPIKE_PASSWORD");
	char *pw = NULL;

	if (a->user == NULL)
		return NULL;
	if (a->password_file != NULL) {
		struct lineio pr;
		const char *pl;
		size_t pn;

		if (lineio_open(&pr, a->password_file) < 0)
			diag_fatal("cannot open '%s': %s", a->password_file,
			    strerror(errno));
		if (lineio_read(&pr, &pl, &pn) == 1)
			pw = xstrndup(pl, pn);
		lineio_close(&pr);
	} else if (env != NULL) {
		pw = xstrdup(env);
	}
	if (pw == NULL)
		diag_usage("--user needs a password (--password-file or "
		    "FS_AEROSPIKE_PASSWORD)");
	return pw;
}

void as_check_bin_name(const char *option, const char *name, size_t n)
{
	if (n == 0 || n > AS_BIN_NAME_MAX)
		diag_usage("%s: a bin name is 1 to %d bytes: '%s'", option,
		    AS_BIN_NAME_MAX, name);
}

const char *as_time_bin(const char *time_bin, const struct path *time_path)
{
	if (time_bin == NULL)
		time_bin = time_path->parts[time_path->n - 1];
	as_check_bin_name("--bins", time_bin, strlen(time_bin));
	return time_bin;
}

void as_opts_connect_registry(const struct as_opts *a, const char *password,
    int max_conns, struct as_cluster *cl, struct as_exec_opts *eo)
{
	struct as_cluster_opts co = {
		.hosts = a->hosts, .ns = a->ns, .user = a->user,
		.password = password, .max_conns = max_conns,
		.timeout_ms = a->timeout_ms > AS_INFO_TIMEOUT_MS ?
		    a->timeout_ms : AS_INFO_TIMEOUT_MS,
	};

	*eo = (struct as_exec_opts){
		.ns = a->ns, .max_in_flight = 1,
		.timeout_ms = (int)a->timeout_ms, .max_retries = 2,
		.backoff_ms = 5,
	};
	if (as_cluster_open(cl, &co) < 0)
		diag_fatal("aerospike: %s", cl->err);
}
