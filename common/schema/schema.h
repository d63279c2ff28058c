/*
 * schema.h - Confluent-framed Avro: the wire frame, a Schema Registry
 * client, and the Avro codec between binary values and JSON.
 *
 * The frame (confluent.c): byte 0 is the magic 0, bytes 1-4 the schema
 * id, big-endian, then the Avro binary payload.
 *
 * The registry (registry.c) speaks the Confluent REST API over libcurl
 * (GET /schemas/ids/ID, GET /subjects/S/versions/latest, POST
 * /subjects/S/versions).  registry_schema() fetches a schema once per id
 * and keeps it (and a 404 for that id) for the registry's lifetime; a
 * registry that cannot be reached is not remembered, so the next
 * message asks again.  User and password go in the URL
 * (http://user:pass@host:port), as libcurl reads them, or in struct
 * registry_conf with a bearer token and TLS files (below).
 *
 * The codec (avro_schema.c, avro_decode.c, avro_encode.c): a schema is
 * checked by Apache Avro C (avro_schema_from_json) and compiled into a
 * tree the decoder and encoder walk.  The binary reader is fs's own:
 * Avro C 1.11's reader trusts length prefixes (a negative bytes length
 * writes before its buffer), and payloads come from the network.
 * The JSON a value becomes is Avro's JSON encoding, with these choices
 * (fs-consume(1) says the same):
 *   null, boolean, string   JSON null, true/false, string
 *   int, long               JSON integers, all 64 bits exact
 *   float, double           numbers; NaN and infinities as the strings
 *                           "NaN", "Infinity", "-Infinity"
 *   bytes, fixed            base64 (RFC 4648, padded), as the envelope
 *                           shows binary; not Avro's string of code
 *                           points U+0000-U+00FF, whose U+0000 fs's JSON
 *                           layer refuses (rec.h)
 *   enum                    the symbol, a string
 *   array, map, record      array, object, object (fields in schema order)
 *   union                   null as null; any other branch wrapped as
 *                           {"TYPE":value}, TYPE the primitive name,
 *                           "array", "map" or a named type's full name
 *   decimal                 a string of the exact number ("-12.30")
 *   date                    a string "YYYY-MM-DD"
 *   timestamp-millis/micros a JSON integer (epoch ms / us)
 *   other logical types     their underlying type
 * The encoder reads the same forms back, and also: a union value not
 * wrapped (the first branch that takes it), decimal and date as
 * integers (the unscaled value is not meant: 12 is 12), a missing field
 * with a default.  A JSON member the record does not have is an error.
 *
 * Ownership: the registry owns the schemas it returns; decoded values
 * are new references; errors are a reason in why[SCHEMA_ERR_MAX] and a
 * NULL or -1 return, never an exit.
 */
#ifndef FS_SCHEMA_H
#define FS_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "opt.h"

#define SCHEMA_ERR_MAX 256

/* --- the Confluent frame ---------------------------------------------- */

#define CONFLUENT_HEADER_LEN 5

/* Splits a frame; -1 with why when it is shorter than the header or its
 * first byte is not the magic 0. */
int confluent_parse(const void *p, size_t n, uint32_t *id,
    const unsigned char **payload, size_t *plen, char *why);
/* Appends the header for schema id. */
void confluent_header(struct buf *b, uint32_t id);

/* --- Avro schemas ----------------------------------------------------- */

struct avro_sch;

/* Parses and compiles a schema from its JSON text; NULL with why. */
struct avro_sch *avsch_new(const char *text, size_t len, char *why);
void avsch_free(struct avro_sch *s);

/* Decodes the next value of a sequence at *p, before end (an object
 * container file's block holds its rows one after another), advancing
 * *p: a new reference, or NULL with why.  With plain, a union's value
 * is its branch's as it is, not wrapped ({"long":5} is 5): the rows
 * fs-sink-file(1) writes come back as they were. */
json_t *avsch_decode_next(const struct avro_sch *s, const unsigned char **p,
    const unsigned char *end, bool plain, char *why);

/* Decodes one binary value that must use all of p[0..n): a new JSON
 * reference, or NULL with why ("truncated", "union index 7 out of
 * range", "3 bytes after the value", ...). */
json_t *avsch_decode(const struct avro_sch *s, const void *p, size_t n,
    char *why);

/*
 * The same decoding written straight into w as the JSON rec_dump() would
 * write for avsch_decode()'s value, without building it: for a schema
 * whose root is a record, the form of nearly every topic (other roots
 * and the rarer types inside go through avsch_decode()).  -1 with why;
 * what was written is then to be thrown away.
 */
int avsch_decode_to(const struct avro_sch *s, const void *p, size_t n,
    struct rec_writer *w, char *why);
bool avsch_root_is_record(const struct avro_sch *s);

/* Appends v encoded as the schema says; -1 with why naming the field
 * ("at .user.age: expected int, got string"); b is then unchanged. */
int avsch_encode(const struct avro_sch *s, const json_t *v, struct buf *b,
    char *why);

/*
 * The bytes avsch_encode() appends for the record in the JSON text
 * line[0..len), written without building it: the hot path of fs-produce
 * -s value=avro, for the form of nearly every topic, a record whose
 * members are all its fields, each a number, boolean, null or a string
 * of printable ASCII without escapes (a field of a union of such types
 * too).  Returns 0 with the bytes appended, or 1 with b unchanged for
 * anything else (another form, a value that does not fit, text that is
 * not JSON): the caller then parses the line and calls avsch_encode(),
 * which gives the result or the reason.  Never an error of its own.
 */
int avsch_encode_text(const struct avro_sch *s, const char *line, size_t len,
    struct buf *b);

/* --- Protobuf schemas (proto_schema.cc) -------------------------------- */

/*
 * A Protobuf payload follows the Confluent header with the message-index
 * array: its length, then each index, as zigzag varints, the path from
 * the file's top-level messages to the message type ([0], the first, is
 * written as the single byte 0).  The codec is Google's libprotobuf
 * (C++) behind these C functions: a schema from .proto text or a base64
 * FileDescriptorProto (the form the Confluent serializers register, and
 * that Apicurio gives back), dynamic messages, and the canonical proto3
 * JSON mapping with libprotobuf's default options, which are also
 * Python's MessageToJson defaults (fs-consume(1) says the same):
 *   member names            lowerCamelCase json_name, not the .proto names
 *   fields at their default not printed (0, "", false, empty, first enum)
 *   int64, uint64, fixed64  strings ("12"); 32-bit integers numbers
 *   float, double           numbers; "NaN", "Infinity", "-Infinity"
 *   bytes                   base64 (RFC 4648, padded)
 *   enum                    the value's name (its number when unknown)
 *   oneof                   the member that is set, as a plain member
 *   map                     an object (keys as strings)
 *   well-known types        their JSON forms (Timestamp as RFC 3339 text,
 *                           Duration "1.5s", wrappers as their value,
 *                           Struct/Value/ListValue as JSON, Any with @type)
 * A .proto may import the well-known types (google/protobuf/NAME.proto);
 * other imports (registry references) are not fetched.
 */
struct proto_sch;

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a schema; NULL with why. */
struct proto_sch *protosch_new(const char *text, size_t len, char *why);
void protosch_free(struct proto_sch *s);

/* Decodes the message-index array and the payload after it (p[0..n),
 * what follows the 5-byte header): a new JSON reference, or NULL with
 * why ("bad message-index array", "not a valid pkg.Msg message"). */
json_t *protosch_decode(const struct proto_sch *s, const void *p, size_t n,
    char *why);

/* Appends the message-index array and v as message name (its full name,
 * or relative to the schema's package; NULL: the first message); -1 with
 * why, b then unchanged. */
int protosch_encode(const struct proto_sch *s, const char *name,
    const json_t *v, struct buf *b, char *why);

/* The schema as a base64 FileDescriptorProto (malloc'd), the form the
 * official serializers register; NULL on failure. */
char *protosch_descriptor(const struct proto_sch *s);

#ifdef __cplusplus
}
#endif

/* --- options (serdes.c) ------------------------------------------------ */

/*
 * -s and -r, the same in fs-consume and fs-produce (kcat's letters):
 * which of key and value are Confluent-framed Avro or Protobuf, and the
 * registry that holds their schemas.  OPT_GROUP_SCHEMA(s, verb) declares
 * both in a tool's table (verb: what the tool does with them, "decode"
 * or "write"); schema_opts_check() after parsing says that one needs the
 * other (exit 2).
 */
enum schema_fmt {
	SCHEMA_NONE = 0,        /* not framed: false in a test */
	SCHEMA_AVRO,
	SCHEMA_PROTOBUF
};

/*
 * How the registry is reached beyond its URL: the Confluent clients'
 * properties, given with -X or in the configuration file under the
 * prefix the Java clients and kcat use for them ("schema.registry."),
 * so that they never meet librdkafka's names.  The names after the
 * prefix are those of the confluent-kafka Python client's
 * SchemaRegistryClient:
 *   schema.registry.url                    the registry, as -r (-r wins)
 *   schema.registry.basic.auth.user.info   USER:PASS, HTTP basic auth
 *   schema.registry.bearer.auth.token      TOKEN, "Authorization: Bearer"
 *   schema.registry.ssl.ca.location        CA file (PEM) the registry's
 *                                          certificate is checked against
 *   schema.registry.ssl.certificate.location   client certificate (PEM)
 *   schema.registry.ssl.key.location       its private key (PEM)
 *   schema.registry.ssl.key.password       the key's passphrase
 * The values are copies (a configuration file's lines do not last).
 * user.info, the token and the key's password are secrets: never in a
 * message, "[redacted]" in -X dump, and so is a password in the URL.
 */
#define REGISTRY_CONF_PREFIX "schema.registry."

struct registry_conf {
	char *url;
	char *user_info;
	char *bearer_token;
	char *ca, *cert, *key, *key_password;
};

/* One property (key with the prefix; kafka.h's -X and configuration
 * file hand them here); 0, or -1 with errstr naming an unknown key or a
 * malformed value (never the value: it may be a secret). */
int registry_conf_set(struct registry_conf *c, const char *key,
    const char *val, char *errstr, size_t errlen);
/* The properties and what they take, as -X list shows them. */
void registry_conf_list(FILE *fp);
/* The properties set, "key = value" lines, secrets "[redacted]". */
void registry_conf_dump(const struct registry_conf *c, FILE *fp);
void registry_conf_free(struct registry_conf *c);
/* url with a password in it replaced by "[redacted]" into buf[len]. */
const char *registry_url_shown(const char *url, char *buf, size_t len);

struct schema_opts {
	enum schema_fmt key, value;     /* -s */
	const char *registry;           /* -r, or NULL */
	struct registry_conf conf;      /* -X schema.registry.* */
};

/* -s as kcat spells it: "avro" or "protobuf" (key and value),
 * "key=FMT", "value=FMT".  Sets *key or *value; -1 with why for
 * anything else. */
int schema_serdes(const char *arg, enum schema_fmt *key,
    enum schema_fmt *value, char *why);
/* -s in a table: schema_serdes() onto a struct schema_opts, exit 2 on
 * a bad one. */
opt_fn schema_opt_serdes;
/* After the configuration is read: -r from schema.registry.url when -s
 * is given without -r, then -s and -r must go together; with them, the
 * registry's properties must agree and its files be readable (exit 2,
 * or 1 for a file). */
void schema_opts_check(struct schema_opts *s);

#define OPT_GROUP_SCHEMA(s, verb) \
	OPT_STRING('r', "registry", &(s)->registry, "URL", \
	    "schema registry (Confluent API) for -s"), \
	OPT_CALLBACK('s', "serdes", schema_opt_serdes, (s), "SERDES", \
	    verb " Confluent-framed Avro or Protobuf:\n" \
	    "value=FMT, key=FMT or FMT for both (avro, protobuf)")

/* --- the registry ------------------------------------------------------ */

struct registry;

/* url: the API's base ("http://127.0.0.1:8081", or Apicurio's
 * ".../apis/ccompat/v7"); a trailing '/' is dropped.  conf (or NULL):
 * authentication and TLS, borrowed for the registry's lifetime. */
struct registry *registry_new(const char *url,
    const struct registry_conf *conf);
void registry_free(struct registry *r);

/* The Avro schema with this id, fetched once; NULL with why. */
const struct avro_sch *registry_schema(struct registry *r, uint32_t id,
    char *why);
/* The Protobuf schema with this id (schemaType PROTOBUF), the same way. */
const struct proto_sch *registry_proto(struct registry *r, uint32_t id,
    char *why);

/* Registers text under subject (or finds it registered) as a schema of
 * type fmt: its id, or -1 with why.  The registry's answer for a schema
 * it refuses or finds not compatible is the reason. */
int64_t registry_register(struct registry *r, const char *subject,
    const char *text, enum schema_fmt fmt, char *why);
/* The id of subject's latest version, or -1 with why. */
int64_t registry_latest(struct registry *r, const char *subject, char *why);

#endif
