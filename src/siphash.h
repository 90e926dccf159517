/* siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012), 64- and 128-bit. */
#ifndef CS_SIPHASH_H
#define CS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/*
 * SipHash-2-4 of n bytes under a 16-byte key: a keyed pseudorandom
 * function, so whoever does not know the key can neither predict an
 * output nor choose two inputs with the same one. out is the output in
 * the reference byte order (little-endian words): 8 bytes for the 64-bit
 * variant, 16 for the 128-bit one.
 */
void	 siphash24_64(const unsigned char key[SIPHASH_KEY_LEN],
	    const void *data, size_t n, unsigned char out[8]);
void	 siphash24_128(const unsigned char key[SIPHASH_KEY_LEN],
	    const void *data, size_t n, unsigned char out[16]);

#endif
