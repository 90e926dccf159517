/* acceptlang.h - the one Accept-Language question the status message asks. */
#ifndef CS_ACCEPTLANG_H
#define CS_ACCEPTLANG_H

#include <stdbool.h>

/*
 * Whether an Accept-Language header prefers English to Russian: the highest
 * q of an "en" range is above the highest q of a "ru" range (RFC 9110
 * 12.5.4; region subtags ignored, "*" and other languages ignored).
 */
bool	 accept_lang_prefers_en(const char *header);

#endif
