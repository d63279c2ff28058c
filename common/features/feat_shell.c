/*
 * feat_shell.c - shell words for printed pipelines (features.h).
 */
#include <string.h>

#include "features.h"
#include "banned.h"

void feat_word(struct buf *b, const char *w)
{
	bool plain = *w != '\0';

	for (const char *p = w; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_./:=,@%+-", *p))
			plain = false;
	buf_appendc(b, ' ');
	if (plain) {
		buf_appends(b, w);
		return;
	}
	buf_appendc(b, '\'');
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			buf_appends(b, "'\\''");
		else
			buf_appendc(b, *p);
	}
	buf_appendc(b, '\'');
}
