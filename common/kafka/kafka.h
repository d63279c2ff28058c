/*
 * kafka.h - what fs-consume, fs-produce and fs-backfill share on top of
 * librdkafka: configuration passthrough and the options that give it
 * (OPT_GROUP_KAFKA), metadata and offset queries with fs-consume's modes
 * built on them (-L, -Q, --lag), a consumer's partitions (where each
 * starts and stops, checkpointed offsets, rebalances), and the message
 * envelope.  The library's one interface header: kafka_conf.c,
 * kafka_meta.c, kafka_lag.c, kafka_parts.c, kafka_env.c, kafka_json.c.
 *
 * Configuration (kcat's -X and -F): kafka_conf_new() makes a
 * configuration with fs's defaults and librdkafka's log and error
 * callbacks routed to diag.h; kafka_conf_set() applies one "key=value"
 * (-X), kafka_conf_file() a file of such lines (-F; '#' starts a
 * comment, blank lines are ignored).  A bad property is a usage error
 * (exit 2) naming it.  Handles made with kafka_new() own their conf.
 * Without -F, a default file is read first (kafka_conf_default_path()).
 *
 * One-line formats (kcat's -f, -K and -J): struct kafka_fmt, below.
 *
 * A record to a message (fs-produce without -E): struct kafka_recmap,
 * below.
 *
 * The envelope (fs-consume's default output, fs-produce -E's input; the
 * exact shape is in fs-consume(1)):
 *
 *   {"topic":S,"partition":I,"offset":I,"timestamp":MS,
 *    "timestamp_type":"create"|"log_append","key":K,"headers":H,"value":V}
 *
 * A key or value is null when the message has none; embedded JSON when
 * its bytes are an object, array, number or boolean written exactly as
 * fs writes JSON (rec_dump: compact), so that writing it back gives the
 * same bytes; otherwise a string holding the bytes when they are UTF-8
 * without NUL; otherwise base64, with "key_encoding":"base64" or
 * "value_encoding":"base64" after it.  Headers are an object in the
 * order names first appear; a name that repeats has an array of its
 * values in order; a header value is a string, null, or
 * {"base64":"..."} for bytes that are not UTF-8 text.  A message without
 * timestamp has "timestamp":null and "timestamp_type":null.
 *
 * kafka_env_encode() appends one envelope (no newline) to a buffer and
 * kafka_value_text() says how a payload would be shown; the decoder,
 * kafka_env_decode(), turns a parsed envelope back into bytes.  Both go
 * through the record module: rec.h's writer, recenv.h's decoder (which
 * fs-backfill reads archived envelopes with too).
 */
#ifndef FS_KAFKA_H
#define FS_KAFKA_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "opt.h"
#include "path.h"

/* --- configuration --------------------------------------------------- */

/* A new configuration: fs's defaults, logs and errors to diag.h. */
rd_kafka_conf_t *kafka_conf_new(void);
/* Applies "key=value" (from -X, or where for messages); exits 2 on a
 * malformed or rejected property. */
void kafka_conf_set(rd_kafka_conf_t *conf, const char *kv, const char *where);
/* The same with key and value apart; returns -1 with errstr filled.
 * bootstrap.servers (and its alias metadata.broker.list), however it is
 * given (-b, -X, -F), must be a broker list, which librdkafka does not
 * check: see kafka_brokers_check(). */
int kafka_conf_set2(rd_kafka_conf_t *conf, const char *key, const char *val,
    char *errstr, size_t errlen);
/*
 * Returns 0 when list is a broker list: entries [PROTO://]HOST[:PORT]
 * separated by commas or spaces (as librdkafka reads it), HOST a name
 * (letters, digits, '-', '.', '_') or an IPv6 address in brackets, PORT
 * 1-65535.  Otherwise -1 with errstr naming the list and what is wrong
 * ("not a host:port list ('=' in a host name):
 * 'FS_KAFKA_BROKERS=127.0.0.1:9092'"): such a list (a pasted shell
 * assignment) would otherwise be resolved and retried until a timeout.
 */
int kafka_brokers_check(const char *list, char *errstr, size_t errlen);
/* Applies every line of a -F file; exits 1 when it cannot be read. */
void kafka_conf_file(rd_kafka_conf_t *conf, const char *path);
/*
 * The configuration file read when no -F is given, into buf[len], or
 * NULL when there is none.  The first of: $FS_KAFKA_CONFIG,
 * ${XDG_CONFIG_HOME:-~/.config}/fs/kafka.conf, then kcat's $KCAT_CONFIG
 * and ~/.config/kcat.conf, so that a kcat user's cluster settings
 * (brokers, TLS, SASL) serve fs too.  A variable names a file that must
 * exist (*var is its name, and the file must be readable); a default
 * path is taken only when it exists (*var is NULL).  An empty variable
 * counts as unset.
 */
const char *kafka_conf_default_path(char *buf, size_t len, const char **var);
/* -X dump: the configuration as "key = value" lines under "# Global
 * config" and "# Topic config", as kcat prints it, with the values of
 * secrets (passwords, private keys) shown as "[redacted]". */
void kafka_conf_dump(rd_kafka_conf_t *conf, FILE *fp);
/* The value of a property, or NULL (into buf[len]). */
const char *kafka_conf_get(rd_kafka_conf_t *conf, const char *key,
    char *buf, size_t len);

/*
 * The connection properties set in conf (by -X, -F or the tool) that
 * differ from kafka_conf_new()'s: security.protocol, sasl.*, ssl.*,
 * client.*, socket.*, broker.address.*, reconnect.*, api.version.*,
 * debug and the like, never those of a producer, a consumer or a topic.
 * KEY=VALUE strings, NULL-terminated, for the checkpoint store's
 * connections (struct fs_common's ckpt_props); free with
 * kafka_props_free().
 */
char **kafka_conf_connection(const rd_kafka_conf_t *conf);
void kafka_props_free(char **props);

/* Creates a handle (takes conf) or exits 1 with librdkafka's reason. */
rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* "PROG: kafka: reason" on stderr (hidden by -q), but not again while
 * the same reason repeats (reconnects, retries). */
void kafka_warn(const char *reason);

/* True once librdkafka reported an error it considers fatal, or every
 * broker was down for longer than allowed; the text says why. */
bool kafka_fatal_error(rd_kafka_t *rk, char *why, size_t len);

/*
 * Metadata for one topic (or all when topic is NULL), waiting up to
 * timeout_ms.  Exits 1 with a clear message when no broker answers
 * ("no broker answered in 10s: '127.0.0.1:1'").  Free with
 * rd_kafka_metadata_destroy().
 */
const rd_kafka_metadata_t *kafka_metadata(rd_kafka_t *rk, const char *topic,
    int timeout_ms);

/*
 * --metadata-timeout (fs-consume, fs-produce): how long a tool waits for
 * a broker at start, and for metadata and offset queries.  The option's
 * value is parsed by kafka_opt_metadata_timeout(), which exits 2 outside
 * 1s to 24d (an int of milliseconds).  kafka_await_broker() is the
 * check at start: it returns once a broker answered a metadata request,
 * or exits 1 as kafka_metadata() does, so that a wrong or unreachable
 * address fails within the time-out instead of when librdkafka gives up
 * on the first message (message.timeout.ms, five minutes).
 */
#define KAFKA_METADATA_TIMEOUT_MS 10000
int kafka_opt_metadata_timeout(const char *opt, const char *arg);
void kafka_await_broker(rd_kafka_t *rk, int timeout_ms);

/*
 * The first check of a new handle: returns once a broker is reachable
 * (connected, with TLS and SASL done), or exits 1 when none became so
 * in reach_ms: "no broker reachable in 2s: '127.0.0.1:1': Connect to
 * ipv4#127.0.0.1:1 failed: Connection refused", with librdkafka's last
 * connection failure.  A broker that is reachable but slow to answer is
 * waited for by the metadata and offset queries, up to
 * --metadata-timeout.  Call it before rd_kafka_poll_set_consumer().
 * KAFKA_REACH_TIMEOUT_MS is reach_ms by default: a wrong address or a
 * broker that is down is reported within 2s (kcat waits 5s); a given
 * --metadata-timeout is reach_ms too, for a broker still starting.
 * A stage started by fs-run (KAFKA_SUPERVISED_ENV in its environment)
 * waits KAFKA_METADATA_TIMEOUT_MS instead: a broker restarting should
 * not use up fs-run's restarts 2s at a time.
 */
#define KAFKA_REACH_TIMEOUT_MS 2000
#define KAFKA_SUPERVISED_ENV "FS_RUN_ATTEMPT"
void kafka_await_reachable(rd_kafka_t *rk, int reach_ms);

/* --- the checkpoint store ------------------------------------------- */

/*
 * --checkpoint-dir kafka://BROKERS/TOPIC[?PARAM&...]: checkpoints in a
 * compacted topic (fs-checkpoint(5), kafka_ckpt.c); PARAM is chunk=BYTES,
 * ns=NAME (NAME/ before every key keeps several pipelines apart in one
 * topic), X=KEY=VALUE or F=FILE, librdkafka properties for the store's
 * connections after the tool's own (struct fs_common's ckpt_props).  A tool that
 * checkpoints hands it to the core: c.ckpt_backend = &kafka_ckpt_backend.
 * A checkpoint's bytes are cut into messages of at most BYTES
 * (default KAFKA_CKPT_CHUNK_DEFAULT, under the broker's default
 * message.max.bytes of 1MB).
 */
#define KAFKA_CKPT_CHUNK_DEFAULT (512 * 1024)
struct ckpt_backend;
extern const struct ckpt_backend kafka_ckpt_backend;

/* --- the envelope ---------------------------------------------------- */

/* --- the options fs-consume and fs-produce share ---------------------- */

/*
 * kcat's letters: -b, -F and -X apply to conf in the order given (a
 * later one overrides an earlier one), over the default configuration
 * file when no -F is given (kafka_conf_default_path()), over fs's and
 * the tool's defaults; --metadata-timeout sets md_timeout_ms and
 * reach_ms.  -X list prints librdkafka's properties and exits 0 at
 * once; -X dump prints the configuration and exits 0 in
 * kafka_opts_finish().  kafka_opts_init() makes conf (kafka_conf_new())
 * and sets the defaults before opt_parse(); a tool may set its own
 * defaults on conf between the two; kafka_opts_finish() applies the
 * file and the options after it, before the tool's own checks.  conf
 * passes to kafka_new() (which takes it) or to rd_kafka_conf_destroy().
 * A bad value exits 2: "-b: not a host:port list (...): 'x'",
 * "-X: expected key=value: 'x'", "--metadata-timeout: from 1s to 24d:
 * '500ms'"; an unreadable -F file exits 1.
 *
 * The schema registry's properties (schema.h's REGISTRY_CONF_PREFIX,
 * "schema.registry.") never reach librdkafka: with registry set they go
 * there (an unknown one is a usage error), -X list shows them after
 * librdkafka's and -X dump prints them under "# Schema registry config";
 * without, a configuration file's are passed over (one file serves
 * every tool) and -X's are a usage error.
 */
struct kafka_opt_arg {
	opt_fn *fn;             /* kafka_opt_brokers, _file or _property */
	char name[8];           /* as written: "-X" */
	const char *arg;        /* borrowed from argv */
};

struct registry_conf;

struct kafka_opts {
	rd_kafka_conf_t *conf;
	/* The tool's schema registry (struct schema_opts' conf), set
	 * between kafka_opts_init() and opt_parse(), or NULL: where
	 * schema.registry.* properties go. */
	struct registry_conf *registry;
	int md_timeout_ms;
	int reach_ms;           /* kafka_await_reachable() */
	bool file_given, dump;  /* -F; -X dump */
	struct kafka_opt_arg *args;     /* -b, -F, -X until finish */
	size_t nargs, cap;
};

void kafka_opts_init(struct kafka_opts *k);
void kafka_opts_finish(struct kafka_opts *k);
opt_fn kafka_opt_brokers, kafka_opt_file, kafka_opt_property,
    kafka_opt_md_timeout;

#define OPT_GROUP_KAFKA(k) \
	OPT_CALLBACK('b', NULL, kafka_opt_brokers, (k), "BROKERS", \
	    "bootstrap brokers, host:port[,host:port...]"), \
	OPT_CALLBACK('F', NULL, kafka_opt_file, (k), "FILE", \
	    "librdkafka properties file (key=value lines)"), \
	OPT_CALLBACK('X', NULL, kafka_opt_property, (k), "KEY=VALUE", \
	    "librdkafka property (repeatable); -X list:\n" \
	    "the properties, -X dump: the configuration"), \
	OPT_CALLBACK(0, "metadata-timeout", kafka_opt_md_timeout, (k), \
	    "DURATION", "wait for brokers at start (default:\n" \
	    "2s to reach one, 10s for answers)")

/* --- metadata and offset queries (kafka_meta.c, kafka_lag.c) ---------- */

struct out;
struct ckpt_store;

/* The partitions asked for: every partition of each topic (-t), or
 * only the nparts of parts (-p) when nparts > 0.  Borrowed. */
struct kafka_topics {
	const char *const *topics;
	size_t ntopics;
	const int32_t *parts;
	size_t nparts;
};

/*
 * The partitions of t, from the cluster's metadata (waiting up to
 * timeout_ms, as every query below does); an unknown topic or partition
 * exits 1.  Free with rd_kafka_topic_partition_list_destroy().
 */
rd_kafka_topic_partition_list_t *kafka_wanted_partitions(rd_kafka_t *rk,
    const struct kafka_topics *t, int timeout_ms);
/* Sets each offset of l to the first offset whose timestamp is at or
 * after ms, or -1 (none yet); exits 1 when the brokers cannot say. */
void kafka_offsets_for_time(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l,
    int64_t ms, int timeout_ms);
/* A partition's low and high offsets, asked of the broker; exits 1
 * when it cannot say. */
void kafka_watermark_offsets(rd_kafka_t *rk, const char *topic,
    int32_t partition, int64_t *lo, int64_t *hi, int timeout_ms);

/*
 * fs-consume's modes, each writing records to out (the caller opens and
 * closes it) from a handle the caller made:
 *   kafka_list_metadata() (-L): one record, the brokers and the topics
 *     (all, or those of t) with each partition's leader, replicas, isrs
 *     and low and high offsets; returns 1 when a topic has an error
 *     (also on stderr and in the topic's "error"), else 0;
 *   kafka_query_offsets() (-Q): per partition of t, the first offset at
 *     or after ms ("offset": null when none);
 *   kafka_group_lag() (--lag): per partition of t, the offset the
 *     handle's group.id committed (or null), the end, and the lag from
 *     the committed offset (or the low offset) to the end.
 */
int kafka_list_metadata(rd_kafka_t *rk, const struct kafka_topics *t,
    int timeout_ms, struct out *out);
void kafka_query_offsets(rd_kafka_t *rk, const struct kafka_topics *t,
    int64_t ms, int timeout_ms, struct out *out);
void kafka_group_lag(rd_kafka_t *rk, const struct kafka_topics *t,
    int timeout_ms, struct out *out);

/* --- a consumer's partitions (kafka_parts.c) ------------------------- */

/* A start or stop position (fs-consume -o, fs-consume(1)). */
enum kafka_pos_kind {
	KAFKA_POS_NONE,         /* not given */
	KAFKA_POS_BEGINNING,
	KAFKA_POS_END,
	KAFKA_POS_STORED,       /* the group's committed offset */
	KAFKA_POS_OFFSET,       /* v: an offset */
	KAFKA_POS_TAIL,         /* v: so many before the end */
	KAFKA_POS_TIME          /* v: the first at or after epoch ms v */
};

struct kafka_pos {
	enum kafka_pos_kind kind;
	int64_t v;
};

/* Reads a start position (beginning, end, stored, N, -N, @TIME), or with
 * stop a stop (end, N, @TIME); exits 2 naming opt on a bad one. */
struct kafka_pos kafka_pos_parse(const char *opt, const char *arg, bool stop);

/* One partition a consumer knows about. */
struct kafka_part {
	char *topic;
	int32_t partition;
	int64_t next;           /* next offset to emit; < 0: not known yet */
	int64_t stop_offset;    /* exclusive; -1: none */
	bool assigned, eof, done;
	bool dirty;             /* next changed since offsets were stored */
	rd_kafka_topic_t *rkt;  /* without a group: the handle it is fetched by */
	int64_t wm_max;         /* largest event time seen, ETIME_MIN: none */
	int64_t eof_ms;         /* wall clock it was last read to its end */
	struct metric *m_lag;   /* fs_consumer_lag, or NULL */
};

/*
 * The partitions a consumer knows about, with what decides where each
 * starts: the caller sets start, stop, timeout_ms and restored (the
 * checkpoint state resumed from, borrowed, or NULL) on a zeroed struct.
 * kafka_parts_free() frees the table.
 */
struct kafka_parts {
	struct kafka_part *v;
	size_t n, cap;
	size_t last;            /* index of the last one looked up */
	struct kafka_pos start, stop;
	int timeout_ms;         /* for the offset queries */
	const json_t *restored;
	bool ever_assigned;     /* a rebalance assigned partitions once */
};

/* The entry of topic/partition; with add, a new one (next -1, no stop)
 * when there is none, else NULL. */
struct kafka_part *kafka_part_find(struct kafka_parts *ps, const char *topic,
    int32_t partition, bool add);
void kafka_parts_free(struct kafka_parts *ps);

/*
 * Checkpoint state: {"offsets":[{"topic":S,"partition":I,"offset":I,
 * "max_ts":MS},...]}, each partition's next offset and largest event
 * time.  kafka_parts_state() makes it (the caller owns it);
 * kafka_parts_adopt() takes every partition of restored back before any
 * is assigned (exits 1 on state that is not this shape);
 * kafka_parts_restored() is one partition's offset in restored, or -1.
 */
json_t *kafka_parts_state(const struct kafka_parts *ps);
void kafka_parts_adopt(struct kafka_parts *ps);
int64_t kafka_parts_restored(const struct kafka_parts *ps, const char *topic,
    int32_t partition);

/*
 * Without a group: resolves the start (and stop) of each partition of l
 * to offsets, in l and in the table (a checkpoint's offset wins), and
 * marks them assigned (done when they start at their stop).
 */
void kafka_parts_resolve(struct kafka_parts *ps, rd_kafka_t *rk,
    rd_kafka_topic_partition_list_t *l);
/*
 * With a group: librdkafka's rebalance callback, opaque being the
 * struct kafka_parts.  An assigned partition starts at the checkpoint's
 * offset when it has one (else the group's); eager and cooperative
 * protocols both.
 */
void kafka_parts_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *l, void *opaque);
/* "assigned 2 partitions: t/0 t/1" on stderr with -v. */
void kafka_log_assignment(const char *what,
    const rd_kafka_topic_partition_list_t *l);

/* Stores the next offset of each assigned partition emitted from since
 * the last call, for the group's auto-commit. */
void kafka_parts_store(struct kafka_parts *ps, rd_kafka_t *rk);
/*
 * pending is [[ID, OFFSETS], ...], the "offsets" of each checkpoint ID
 * not yet committed, oldest first: commits the offsets of the newest
 * checkpoint store says is complete, and drops it and those before it.
 * A failed commit is a warning (the next one covers it).
 */
void kafka_commit_complete(rd_kafka_t *rk, json_t *pending,
    struct ckpt_store *store);

/* --- records to messages (kafka_recmap.c) ------------------------------ */

struct kafka_msg;

/* A header from a record's field (-H NAME=PATH). */
struct kafka_header_field {
	char *name;
	struct path path;
	const char *arg;        /* NAME=PATH as given, for messages */
};

/*
 * How a record becomes a message (fs-produce): the key from the fields
 * of key_text (-k; NULL: no key), the value the record's bytes or the
 * field value_field_text (--value-field), a header for each -H, and the
 * timestamp from the event time at time_path (--timestamp; NULL: none).
 * The caller zeroes it; the option table stores key_text and
 * value_field_text and adds headers with kafka_opt_header (exits 2 on a
 * bad NAME=PATH); kafka_recmap_compile() compiles the paths after
 * parsing (exits 2 on a bad one); kafka_recmap_free() frees.
 */
struct kafka_recmap {
	const char *key_text, *value_field_text;        /* borrowed */
	const struct path *time_path;                   /* borrowed */
	struct keyspec key;
	struct path value_field;
	struct kafka_header_field *headers;
	size_t nheaders, hcap;
	struct buf tmp;
};

opt_fn kafka_opt_header;
void kafka_recmap_compile(struct kafka_recmap *rm);
void kafka_recmap_free(struct kafka_recmap *rm);
/* True when the record is the message as is: no field to look up. */
bool kafka_recmap_plain(const struct kafka_recmap *rm);
/*
 * Fills m (reset first) from the parsed record obj, whose bytes are
 * line[0..len).  Returns 0, or -1 with why[REC_ERR_MAX] saying which
 * field is missing or bad ("missing key field 'user'").  m's headers
 * are m's until produced.
 */
int kafka_recmap_msg(struct kafka_recmap *rm, const json_t *obj,
    const char *line, size_t len, struct kafka_msg *m, char *why);
/*
 * The JSON the mapping makes a key and a value of, for a caller that
 * writes them another way (fs-produce -s, as Avro): the key's, one -k
 * field's value or the array of several's (a new reference; NULL
 * without -k), and the value's, the record or its --value-field
 * (borrowed from obj; NULL when the field is missing).  After
 * kafka_recmap_msg() succeeded on obj.
 */
json_t *kafka_recmap_key_json(const struct kafka_recmap *rm, const json_t *obj);
const json_t *kafka_recmap_value_json(const struct kafka_recmap *rm,
    const json_t *obj);

/* --- the envelope ---
------------------------------------------------- */

/* How bytes are shown in an envelope. */
enum kafka_text {
	KAFKA_NULL,     /* no bytes (a tombstone value, a message without key) */
	KAFKA_JSON,     /* embedded: canonical compact JSON, not a string */
	KAFKA_STRING,   /* a JSON string of the bytes (UTF-8 without NUL) */
	KAFKA_BASE64    /* a base64 string */
};

enum kafka_text kafka_value_text(const void *p, size_t n);

/* Appends the envelope of m to b (no newline). */
void kafka_env_encode(struct buf *b, const rd_kafka_message_t *m);

/* A message decoded from an envelope (or built from a record). */
struct kafka_msg {
	const char *topic;      /* NULL when absent; borrowed from the JSON */
	int32_t partition;      /* RD_KAFKA_PARTITION_UA when absent */
	int64_t timestamp;      /* 0 when absent */
	bool has_key, has_value;
	struct buf key, value;  /* bytes (when has_*) */
	const char *value_ptr;  /* the value when not in value (borrowed) */
	size_t value_len;
	rd_kafka_headers_t *headers;    /* NULL or owned until produced */
};

void kafka_msg_init(struct kafka_msg *m);
void kafka_msg_reset(struct kafka_msg *m);
void kafka_msg_free(struct kafka_msg *m);

/*
 * Fills m from a parsed envelope.  Returns 0, or -1 with a reason in
 * why[160] ("envelope: 'partition' is not an integer", ...).
 */
int kafka_env_decode(const json_t *env, struct kafka_msg *m, char *why);

/* --- one-line formats (kafka_fmt.c): kcat's -f, -K and -J ----------- */

/*
 * -f FORMAT, as kcat defines its tokens: %s the value's bytes, %S their
 * length (-1 for none), %R that length as a 4-byte big-endian signed
 * integer, %k the key's bytes, %K its length (-1 for none), %t the
 * topic, %p the partition, %o the offset, %T the timestamp in epoch
 * milliseconds (-1 for none), %h the headers as NAME=VALUE separated
 * by commas (a header without value is NAME=NULL), %% a '%'.  A value
 * or key that is absent or empty prints nothing.  Between tokens,
 * kafka_unescape()'s escapes.  Nothing is added: a format that should
 * end lines ends with \n.
 * kafka_fmt_parse() returns 0, or -1 with why[len] naming the fault
 * ("unknown token '%x'", "'%' at the end"); kafka_fmt_key_delim() makes
 * -K DELIM's format, %k DELIM %s \n; kafka_fmt_render() appends a
 * message's text to b; kafka_fmt_free() frees.
 */
enum kafka_fmt_kind {
	KAFKA_FMT_TEXT, KAFKA_FMT_VALUE, KAFKA_FMT_VALUE_LEN,
	KAFKA_FMT_VALUE_LEN_BE32, KAFKA_FMT_KEY, KAFKA_FMT_KEY_LEN,
	KAFKA_FMT_TOPIC, KAFKA_FMT_PARTITION, KAFKA_FMT_OFFSET,
	KAFKA_FMT_TIMESTAMP, KAFKA_FMT_HEADERS
};

struct kafka_fmt_item {
	enum kafka_fmt_kind kind;
	size_t off, len;        /* KAFKA_FMT_TEXT: text.data[off..off+len) */
};

struct kafka_fmt {
	struct kafka_fmt_item *v;
	size_t n, cap;
	struct buf text;        /* the literal text, unescaped */
};

int kafka_fmt_parse(struct kafka_fmt *f, const char *fmt, char *why,
    size_t len);
void kafka_fmt_key_delim(struct kafka_fmt *f, const char *delim);
void kafka_fmt_render(struct buf *b, const struct kafka_fmt *f,
    const rd_kafka_message_t *m);
void kafka_fmt_free(struct kafka_fmt *f);

/*
 * Appends s[0..n) to b with kcat's escapes resolved: \n, \r, \t,
 * \xHH (hexadecimal), \DDD (decimal, or octal after a 0, as strtoul
 * reads it), and a backslash before any other character is that
 * character.  A number above 255 keeps its low byte, as in kcat.
 */
void kafka_unescape(struct buf *b, const char *s, size_t n);

/*
 * -J: appends kcat's JSON envelope of m to b (no newline), members in
 * kcat's order:
 *   {"topic":S,"partition":I,"offset":I,"tstype":"create"|"logappend",
 *    "ts":MS,"broker":I,"headers":[NAME,VALUE,...],"key":S|null,
 *    "payload":S|null}
 * tstype and ts are left out when the message has no timestamp;
 * headers (an array of names and values in order, null for a header
 * without value) only when the message has headers; broker is the id
 * of the broker it was fetched from, -1 when unknown.  Key and payload
 * are always strings of their bytes (never embedded JSON), null when
 * absent.  Where kcat would write bytes that are not UTF-8 into the
 * JSON as they are (making it invalid), fs writes their base64 and
 * "key_encoding":"base64" or "payload_encoding":"base64" after the
 * member, and a header value {"base64":"..."} as its own envelope does.
 */
void kafka_kcat_json(struct buf *b, const rd_kafka_message_t *m);

#endif
