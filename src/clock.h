/* clock.h - the clocks: monotonic for durations and deadlines, real time for
 * what is compared with the database's clock. */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: only differences mean anything. */
int64_t	 clock_mono_ms(void);
/* The same in microseconds. */
int64_t	 clock_mono_us(void);
/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t	 clock_real_ms(void);

#endif
