/*
 * proto_schema.cc - Confluent-framed Protobuf (see schema.h): a schema
 * known only at run time, from .proto text or a serialized
 * FileDescriptorProto, as dynamic messages of Google's C++ libprotobuf.
 *
 * Why libprotobuf and not protobuf-c: protobuf-c handles only messages
 * whose C code protoc-c generated at build time; it has no parser for
 * .proto text, no dynamic messages and no JSON mapping.  libprotobuf
 * has all three (compiler::Parser, DynamicMessageFactory,
 * util::MessageToJsonString/JsonStringToMessage), so the canonical JSON
 * mapping is Google's own code, not a copy of it.
 *
 * Every function with C linkage catches every exception: none crosses
 * into C.  libprotobuf's log lines (it logs a proto3 string that is not
 * UTF-8 before it fails the parse) are silenced; the reason goes to why.
 */
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "base64.h"
#include "schema.h"
}

namespace gp = google::protobuf;

/* Index arrays longer than this are refused (nesting that deep is not a
 * schema anyone writes; a frame claiming it is garbage). */
#define PROTO_MAX_DEPTH 64

struct proto_sch {
	gp::DescriptorPool pool;
	gp::DynamicMessageFactory factory{&pool};
	const gp::FileDescriptor *file = nullptr;
};

static void set_why(char *why, const std::string &s)
{
	snprintf(why, SCHEMA_ERR_MAX, "%s", s.c_str());
}

static void quiet(gp::LogLevel, const char *, int, const std::string &)
{
}

/* The first error of a parse or a build, "LINE:COL: message". */
class first_error : public gp::io::ErrorCollector,
    public gp::DescriptorPool::ErrorCollector {
public:
	std::string msg;

	void AddError(int line, int col, const std::string &m) override
	{
		if (msg.empty())
			msg = std::to_string(line + 1) + ":" +
			    std::to_string(col + 1) + ": " + m;
	}
	void AddError(const std::string &file, const std::string &elem,
	    const gp::Message *, ErrorLocation, const std::string &m) override
	{
		if (msg.empty())
			msg = file + ": " + (elem.empty() ? "" : elem + ": ") + m;
	}
};

/* text as a base64 FileDescriptorProto (Apicurio's answer for a schema
 * the Confluent serializers registered), or false. */
static bool from_base64(const char *text, size_t len,
    gp::FileDescriptorProto *fdp)
{
	struct buf raw = BUF_INIT;
	bool ok;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (len == 0 || len % 4 != 0 || len > INT32_MAX ||
	    base64_decode(&raw, text, len) < 0) {
		buf_free(&raw);
		return false;
	}
	ok = fdp->ParseFromArray(raw.data, (int)raw.len) &&
	    (fdp->message_type_size() > 0 || fdp->has_syntax());
	buf_free(&raw);
	return ok;
}

static bool from_text(const char *text, size_t len,
    gp::FileDescriptorProto *fdp, char *why)
{
	gp::io::ArrayInputStream in(text, (int)len);
	first_error err;
	gp::io::Tokenizer tok(&in, &err);
	gp::compiler::Parser parser;

	parser.RecordErrorsTo(&err);
	if (!parser.Parse(&tok, fdp) || !err.msg.empty()) {
		set_why(why, "not a .proto schema: " +
		    (err.msg.empty() ? std::string("parse error") : err.msg));
		return false;
	}
	return true;
}

/* Builds the imports of fdp that libprotobuf itself carries (the
 * well-known types, google/protobuf/NAME.proto) into pool, each
 * after its own imports.  An import it does not carry is left for the
 * build of fdp to report. */
static void import_known(gp::DescriptorPool *pool,
    const gp::FileDescriptorProto &fdp)
{
	for (const std::string &dep : fdp.dependency()) {
		const gp::FileDescriptor *f;
		gp::FileDescriptorProto known;

		if (pool->FindFileByName(dep) != nullptr ||
		    (f = gp::DescriptorPool::generated_pool()->FindFileByName(
		    dep)) == nullptr)
			continue;
		f->CopyTo(&known);
		import_known(pool, known);
		pool->BuildFile(known);
	}
}

extern "C" struct proto_sch *protosch_new(const char *text, size_t len,
    char *why)
{
	try {
		std::unique_ptr<proto_sch> s(new proto_sch);
		gp::FileDescriptorProto fdp;
		first_error err;

		gp::SetLogHandler(quiet);
		if (!from_base64(text, len, &fdp)) {
			fdp.Clear();
			if (!from_text(text, len, &fdp, why))
				return nullptr;
		}
		if (fdp.name().empty())
			fdp.set_name("schema.proto");
		import_known(&s->pool, fdp);
		s->file = s->pool.BuildFileCollectingErrors(fdp, &err);
		if (s->file == nullptr) {
			set_why(why, "bad .proto schema: " + err.msg);
			return nullptr;
		}
		if (s->file->message_type_count() == 0) {
			set_why(why, "the .proto schema has no message");
			return nullptr;
		}
		return s.release();
	} catch (const std::exception &e) {
		set_why(why, std::string("protobuf: ") + e.what());
	} catch (...) {
		set_why(why, "protobuf: unknown error");
	}
	return nullptr;
}

extern "C" void protosch_free(struct proto_sch *s)
{
	try {
		delete s;
	} catch (...) {
	}
}

/* One zigzag varint at *p (at most 5 bytes, an int32), or false. */
static bool zigzag(const unsigned char **p, const unsigned char *end,
    int64_t *v)
{
	uint64_t u = 0;

	for (int shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return false;
		unsigned char c = *(*p)++;
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			if (u > UINT32_MAX)
				return false;
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return true;
		}
	}
	return false;
}

static std::string path_text(const std::vector<int64_t> &idx)
{
	std::string s = "[";

	for (size_t i = 0; i < idx.size(); i++)
		s += (i ? "," : "") + std::to_string(idx[i]);
	return s + "]";
}

/* The message type the index array at *p names; *p moves past it. */
static const gp::Descriptor *message_at(const proto_sch *s,
    const unsigned char **p, const unsigned char *end, char *why)
{
	std::vector<int64_t> idx;
	const gp::Descriptor *d = nullptr;
	int64_t count, v;

	if (!zigzag(p, end, &count) || count < 0 || count > PROTO_MAX_DEPTH) {
		set_why(why, "bad message-index array");
		return nullptr;
	}
	if (count == 0)
		idx.push_back(0);
	for (int64_t i = 0; i < count; i++) {
		if (!zigzag(p, end, &v)) {
			set_why(why, "bad message-index array");
			return nullptr;
		}
		idx.push_back(v);
	}
	for (size_t i = 0; i < idx.size(); i++) {
		int n = d ? d->nested_type_count() :
		    s->file->message_type_count();

		if (idx[i] < 0 || idx[i] >= n) {
			set_why(why, "message index " + path_text(idx) +
			    " names no message of the schema");
			return nullptr;
		}
		d = d ? d->nested_type((int)idx[i]) :
		    s->file->message_type((int)idx[i]);
	}
	return d;
}

extern "C" json_t *protosch_decode(const struct proto_sch *s, const void *vp,
    size_t n, char *why)
{
	try {
		const unsigned char *p = (const unsigned char *)vp;
		const unsigned char *end = p + n;
		const gp::Descriptor *d = message_at(s, &p, end, why);
		gp::util::JsonPrintOptions opts;
		std::string out;
		json_error_t jerr;
		json_t *v;

		if (d == nullptr)
			return nullptr;
		std::unique_ptr<gp::Message> m(
		    const_cast<proto_sch *>(s)->factory.GetPrototype(d)->New());
		if (end - p > INT32_MAX ||
		    !m->ParseFromArray(p, (int)(end - p))) {
			set_why(why, "not a valid " + d->full_name() +
			    " message");
			return nullptr;
		}
		gp::util::Status st = gp::util::MessageToJsonString(*m, &out,
		    opts);
		if (!st.ok()) {
			set_why(why, d->full_name() + " to JSON: " +
			    std::string(st.message().data(), st.message().size()));
			return nullptr;
		}
		if ((v = json_loadb(out.data(), out.size(), 0, &jerr)) == nullptr)
			set_why(why, d->full_name() + " to JSON: " + jerr.text);
		return v;
	} catch (const std::exception &e) {
		set_why(why, std::string("protobuf: ") + e.what());
	} catch (...) {
		set_why(why, "protobuf: unknown error");
	}
	return nullptr;
}

/* The message type called name (full, or relative to the file's
 * package); NULL name: the file's first message. */
static const gp::Descriptor *find_message(const proto_sch *s,
    const char *name)
{
	const gp::Descriptor *d;

	if (name == nullptr)
		return s->file->message_type(0);
	if ((d = s->pool.FindMessageTypeByName(name)) != nullptr &&
	    d->file() == s->file)
		return d;
	if (s->file->package().empty())
		return nullptr;
	d = s->pool.FindMessageTypeByName(s->file->package() + "." + name);
	return d && d->file() == s->file ? d : nullptr;
}

/* Appends n as a zigzag varint. */
static void put_zigzag(std::string *b, int64_t n)
{
	uint64_t u = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);

	do {
		unsigned char c = u & 0x7f;

		u >>= 7;
		b->push_back((char)(u ? c | 0x80 : c));
	} while (u);
}

extern "C" int protosch_encode(const struct proto_sch *s, const char *name,
    const json_t *v, struct buf *b, char *why)
{
	try {
		const gp::Descriptor *d = find_message(s, name);
		std::vector<int> path;
		std::string out, in;
		gp::util::JsonParseOptions opts;
		char *text;

		if (d == nullptr) {
			set_why(why, std::string("the schema has no message '") +
			    name + "'");
			return -1;
		}
		for (const gp::Descriptor *e = d; e; e = e->containing_type())
			path.insert(path.begin(), e->index());
		if (path.size() == 1 && path[0] == 0) {
			out.push_back(0);
		} else {
			put_zigzag(&out, (int64_t)path.size());
			for (int i : path)
				put_zigzag(&out, i);
		}
		if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    nullptr) {
			set_why(why, "cannot serialize the record");
			return -1;
		}
		in = text;
		free(text);
		std::unique_ptr<gp::Message> m(
		    const_cast<proto_sch *>(s)->factory.GetPrototype(d)->New());
		gp::util::Status st = gp::util::JsonStringToMessage(in, m.get(),
		    opts);
		if (!st.ok()) {
			set_why(why, "not a " + d->full_name() + ": " +
			    std::string(st.message().data(), st.message().size()));
			return -1;
		}
		if (!m->AppendToString(&out)) {
			set_why(why, "cannot serialize " + d->full_name());
			return -1;
		}
		buf_append(b, out.data(), out.size());
		return 0;
	} catch (const std::exception &e) {
		set_why(why, std::string("protobuf: ") + e.what());
	} catch (...) {
		set_why(why, "protobuf: unknown error");
	}
	return -1;
}

extern "C" char *protosch_descriptor(const struct proto_sch *s)
{
	try {
		gp::FileDescriptorProto fdp;
		std::string raw;
		struct buf b = BUF_INIT;

		s->file->CopyTo(&fdp);
		if (!fdp.SerializeToString(&raw))
			return nullptr;
		base64_encode(&b, raw.data(), raw.size());
		return b.data;
	} catch (...) {
		return nullptr;
	}
}
