/* isotime.c - ISO 8601 UTC timestamps from epoch milliseconds. */
#include "config.h"

#include "isotime.h"

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		 era, yy;
	unsigned	 doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

bool
isotime_format(int64_t ms, char out[ISOTIME_LEN + 1])
{
	int64_t		 days, rem, y;
	unsigned	 mo, d, h, mi, s, msec;
	static const int64_t day_ms = 86400000;

	/* Year 0000-01-01 is -62167219200000 ms; 9999-12-31T23:59:59.999
	 * is 253402300799999 ms. */
	if (ms < INT64_C(-62167219200000) || ms > INT64_C(253402300799999))
		return false;
	days = ms / day_ms;
	rem = ms % day_ms;
	if (rem < 0) {
		rem += day_ms;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	h = (unsigned)(rem / 3600000);
	mi = (unsigned)(rem / 60000 % 60);
	s = (unsigned)(rem / 1000 % 60);
	msec = (unsigned)(rem % 1000);
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + mo / 10);
	out[6] = (char)('0' + mo % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 'T';
	out[11] = (char)('0' + h / 10);
	out[12] = (char)('0' + h % 10);
	out[13] = ':';
	out[14] = (char)('0' + mi / 10);
	out[15] = (char)('0' + mi % 10);
	out[16] = ':';
	out[17] = (char)('0' + s / 10);
	out[18] = (char)('0' + s % 10);
	out[19] = '.';
	out[20] = (char)('0' + msec / 100);
	out[21] = (char)('0' + msec / 10 % 10);
	out[22] = (char)('0' + msec % 10);
	out[23] = 'Z';
	out[24] = '\0';
	return true;
}
