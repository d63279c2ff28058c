/* window_ckpt.c - the checkpoint state of a run (window_ckpt.h). */
#include "diag.h"
#include "window_ckpt.h"
#include "window_session.h"
#include "xalloc.h"
#include "banned.h"

json_t *win_ckpt_snapshot(void *ctx, uint64_t id)
{
	struct win_run *s = ctx;
	json_t *st = json_object(), *sess = json_array();

	(void)id;
	json_object_set_new(st, "watermark", wm_snapshot(&s->wm));
	for (size_t i = 0; i < s->keys.nids; i++) {
		size_t klen;
		const char *key;

		if (!keytab_live(&s->keys, i))
			continue;
		key = keytab_key(&s->keys, (uint32_t)i, &klen);
		for (size_t j = 0; j < s->sk[i].n; j++) {
			struct win_session *ss = &s->sk[i].s[j];

			json_array_append_new(sess, json_pack("{s:s%,s:I,s:I,s:s%}",
			    "key", key, klen, "start", (json_int_t)ss->start,
			    "end", (json_int_t)ss->end, "lines",
			    ss->lines.data ? ss->lines.data : "", ss->lines.len));
		}
	}
	json_object_set_new(st, "sessions", sess);
	return st;
}

int win_ckpt_restore(void *ctx, const json_t *state, uint64_t id)
{
	struct win_run *s = ctx;
	json_t *sess = json_object_get(state, "sessions"), *e;
	size_t i;

	(void)id;
	if (wm_restore(&s->wm, json_object_get(state, "watermark")) < 0 ||
	    !json_is_array(sess)) {
		diag_error("checkpoint state is not fs-window's");
		return -1;
	}
	win_sessions_clear(s);
	json_array_foreach(sess, i, e) {
		json_t *key = json_object_get(e, "key");
		json_t *lines = json_object_get(e, "lines");
		bool added;
		uint32_t kid;
		struct win_skey *k;
		struct win_session ss = { 0, 0, BUF_INIT, 0 };

		if (!json_is_string(key) || !json_is_string(lines)) {
			diag_error("checkpoint state: bad session");
			return -1;
		}
		ss.start = json_integer_value(json_object_get(e, "start"));
		ss.end = json_integer_value(json_object_get(e, "end"));
		buf_append(&ss.lines, json_string_value(lines),
		    json_string_length(lines));
		for (size_t p = 0; p < ss.lines.len; p++)
			ss.n += ss.lines.data[p] == '\n';
		kid = keytab_intern(&s->keys, json_string_value(key),
		    json_string_length(key), &added);
		k = win_skey_for(s, kid, added);
		k->s = xgrow(k->s, &k->cap, k->n + 1, sizeof *k->s);
		k->s[k->n++] = ss;
		s->open_sessions++;
		win_session_arm(s, kid);
	}
	return 0;
}
