/*
 * kafka.h - what fs-consume, fs-produce and fs-backfill share on top of
 * librdkafka: configuration passthrough, and the message envelope.
 *
 * Configuration (kcat's -X and -F): kafka_conf_new() makes a
 * configuration with fs's defaults and librdkafka's log and error
 * callbacks routed to diag.h; kafka_conf_set() applies one "key=value"
 * (-X), kafka_conf_file() a file of such lines (-F; '#' starts a
 * comment, blank lines are ignored).  A bad property is a usage error
 * (exit 2) naming it.  Handles made with kafka_new() own their conf.
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
 * kafka_env_decode(), turns a parsed envelope back into bytes.
 */
#ifndef FS_KAFKA_H
#define FS_KAFKA_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

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

/* --- the checkpoint store ------------------------------------------- */

/*
 * --checkpoint-dir kafka://BROKERS/TOPIC[?PARAM&...]: checkpoints in a
 * compacted topic (fs-checkpoint(5), kafka_ckpt.c); PARAM is chunk=BYTES,
 * X=KEY=VALUE or F=FILE, librdkafka properties for the store's
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

/* The bytes a JSON value stands for as a key or value: a string's text,
 * anything else its compact JSON (rec_dump). */
void kafka_json_bytes(struct buf *b, const json_t *v);

/*
 * True when p[0..n) is certainly a JSON object rec_parse() accepts,
 * found without allocating; false means "not sure: ask rec_parse()",
 * which stays the judge and gives the reason (kafka_json.c).
 */
bool kafka_json_quick_object(const void *p, size_t n);
/* The same, and the bytes are exactly what rec_dump() writes for the
 * object (compact, no duplicate keys, no reals, jansson's escapes). */
bool kafka_json_quick_canonical(const void *p, size_t n);

/* rec_line_maybe_control(), quicker on lines without '@' or '\\'. */
bool kafka_maybe_control(const void *p, size_t n);

/* Base64 (RFC 4648, with padding). decode returns -1 on bad input. */
void kafka_b64_encode(struct buf *b, const void *p, size_t n);
int kafka_b64_decode(struct buf *b, const char *s, size_t n);
/* True when p[0..n) is valid UTF-8 without NUL bytes. */
bool kafka_utf8_text(const void *p, size_t n);

#endif
