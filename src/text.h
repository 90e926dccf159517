/*
 * text.h - umbrella header for the pure text helpers, kept so that files
 * which included it before the split still compile: include the header of
 * the module you use instead (uuid.h, query.h, isotime.h, b64url.h,
 * acceptlang.h, intparse.h).
 */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include "acceptlang.h"
#include "b64url.h"
#include "intparse.h"
#include "isotime.h"
#include "query.h"
#include "uuid.h"

#endif
