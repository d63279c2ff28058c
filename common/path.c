/* path.c - dotted field paths and compound keys (see path.h). */
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"


static char *reason(const char *what, const char *field)
{
	struct buf b = BUF_INIT;

	buf_appends(&b, what);
	buf_appends(&b, " '");
	buf_appends(&b, field);
	buf_appendc(&b, '\'');
	return b.data;
}

/* Splits text at unescaped dots; "\." is a literal dot. */
int path_compile(struct path *p, const char *text)
{
	size_t cap = 0;
	struct buf part = BUF_INIT;
	const char *s;

	memset(p, 0, sizeof *p);
	if (text == NULL || *text == '\0')
		return -1;
	p->text = xstrdup(text);
	for (s = text;; s++) {
		if (*s == '\\' && (s[1] == '.' || s[1] == '\\')) {
			buf_appendc(&part, *++s);
			continue;
		}
		if (*s == '.' || *s == '\0') {
			if (part.len == 0) {
				buf_free(&part);
				path_free(p);
				return -1;
			}
			p->parts = xgrow(p->parts, &cap, p->n + 1, sizeof *p->parts);
			p->parts[p->n++] = xstrndup(part.data, part.len);
			buf_reset(&part);
			if (*s == '\0')
				break;
			continue;
		}
		buf_appendc(&part, *s);
	}
	buf_free(&part);
	p->why_missing = reason("missing time field", text);
	p->why_unparsable = reason("unparsable time field", text);
	return 0;
}

void path_free(struct path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->parts[i]);
	free(p->parts);
	free(p->text);
	free(p->why_missing);
	free(p->why_unparsable);
	memset(p, 0, sizeof *p);
}

json_t *path_get(const struct path *p, const json_t *obj)
{
	json_t *v = (json_t *)obj;

	for (size_t i = 0; i < p->n; i++) {
		if (!json_is_object(v))
			return NULL;
		v = json_object_get(v, p->parts[i]);
		if (v == NULL)
			return NULL;
	}
	return v;
}

int path_set(const struct path *p, json_t *obj, json_t *v)
{
	json_t *cur = obj;

	for (size_t i = 0; i + 1 < p->n; i++) {
		json_t *next = json_object_get(cur, p->parts[i]);

		if (next == NULL) {
			next = json_object();
			json_object_set_new(cur, p->parts[i], next);
		} else if (!json_is_object(next)) {
			json_decref(v);
			return -1;
		}
		cur = next;
	}
	return json_object_set_new(cur, p->parts[p->n - 1], v);
}

int keyspec_compile(struct keyspec *k, const char *text)
{
	char *copy, *save = NULL, *tok;
	size_t cap = 0;

	memset(k, 0, sizeof *k);
	if (text == NULL || *text == '\0')
		return -1;
	copy = xstrdup(text);
	for (tok = strtok_r(copy, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		k->paths = xgrow(k->paths, &cap, k->n + 1, sizeof *k->paths);
		if (path_compile(&k->paths[k->n], tok) < 0) {
			free(copy);
			keyspec_free(k);
			return -1;
		}
		k->n++;
	}
	free(copy);
	/* "a,,b" and trailing commas leave an empty field: reject them. */
	if (k->n == 0 || strstr(text, ",,") || text[0] == ',' ||
	    text[strlen(text) - 1] == ',') {
		keyspec_free(k);
		return -1;
	}
	return 0;
}

void keyspec_free(struct keyspec *k)
{
	for (size_t i = 0; i < k->n; i++)
		path_free(&k->paths[i]);
	free(k->paths);
	memset(k, 0, sizeof *k);
}

/* Key value i of k, v, onto out. */
static int key_put(const struct keyspec *k, size_t i, const json_t *v,
    struct buf *out, const char **missing)
{
	if (v == NULL || json_is_object(v) || json_is_array(v)) {
		*missing = k->paths[i].text;
		return -1;
	}
	if (i)
		buf_appendc(out, KEYSPEC_SEP);
	rec_dump(out, v);
	return 0;
}

int keyspec_encode(const struct keyspec *k, const json_t *obj,
    struct buf *out, const char **missing)
{
	for (size_t i = 0; i < k->n; i++)
		if (key_put(k, i, path_get(&k->paths[i], obj), out, missing) < 0)
			return -1;
	return 0;
}

int keyspec_encode_values(const struct keyspec *k, json_t *const *v,
    struct buf *out, const char **missing)
{
	for (size_t i = 0; i < k->n; i++)
		if (key_put(k, i, v[i], out, missing) < 0)
			return -1;
	return 0;
}

int keyspec_decode_into(const struct keyspec *k, const char *key,
    size_t len, json_t *obj)
{
	const char *p = key, *end = key + len;

	for (size_t i = 0; i < k->n; i++) {
		const char *sep = memchr(p, KEYSPEC_SEP, (size_t)(end - p));
		size_t n = sep ? (size_t)(sep - p) : (size_t)(end - p);
		json_t *v = json_loadb(p, n, JSON_DECODE_ANY, NULL);

		if (v == NULL || path_set(&k->paths[i], obj, v) < 0)
			return -1;
		p = sep ? sep + 1 : end;
	}
	return 0;
}
