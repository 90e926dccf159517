/* isotime.h - ISO 8601 UTC timestamps from epoch milliseconds. */
#ifndef CS_ISOTIME_H
#define CS_ISOTIME_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Format milliseconds since the epoch as ISO 8601 UTC with milliseconds
 * ("2025-11-05T12:00:00.000Z"). Returns false when the year falls outside
 * 0000..9999, which that format cannot express.
 */
#define ISOTIME_LEN 24
bool	 isotime_format(int64_t ms, char out[ISOTIME_LEN + 1]);

#endif
