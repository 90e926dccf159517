/* clock.h - the monotonic clock, for durations and deadlines. */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: only differences mean anything. */
int64_t	 clock_mono_ms(void);

#endif
