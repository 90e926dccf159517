/* siphash.c - SipHash-2-4, 64- and 128-bit outputs. */
#include "config.h"

#include <string.h>

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline uint64_t
le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
#else
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
#endif
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

#define SIPROUND(s) do {						\
	(s).v0 += (s).v1; (s).v1 = ROTL((s).v1, 13); (s).v1 ^= (s).v0;	\
	(s).v0 = ROTL((s).v0, 32);					\
	(s).v2 += (s).v3; (s).v3 = ROTL((s).v3, 16); (s).v3 ^= (s).v2;	\
	(s).v0 += (s).v3; (s).v3 = ROTL((s).v3, 21); (s).v3 ^= (s).v0;	\
	(s).v2 += (s).v1; (s).v1 = ROTL((s).v1, 17); (s).v1 ^= (s).v2;	\
	(s).v2 = ROTL((s).v2, 32);					\
} while (0)

static inline void
rounds(struct sip *s, int n)
{
	struct sip t = *s;

	while (n-- > 0)
		SIPROUND(t);
	*s = t;
}

/* The compression of every message word, with the length byte last;
 * outlen 16 is the 128-bit variant's changed initialisation. */
static void
absorb(struct sip *s, const unsigned char key[SIPHASH_KEY_LEN],
    const unsigned char *p, size_t n, int outlen)
{
	uint64_t	 k0 = le64(key), k1 = le64(key + 8), m;
	size_t		 i, tail = n & 7;

	s->v0 = 0x736f6d6570736575ULL ^ k0;
	s->v1 = 0x646f72616e646f6dULL ^ k1;
	s->v2 = 0x6c7967656e657261ULL ^ k0;
	s->v3 = 0x7465646279746573ULL ^ k1;
	if (outlen == 16)
		s->v1 ^= 0xee;
	for (i = 0; i + 8 <= n; i += 8) {
		m = le64(p + i);
		s->v3 ^= m;
		SIPROUND(*s);
		SIPROUND(*s);
		s->v0 ^= m;
	}
	m = (uint64_t)n << 56;
	while (tail-- > 0)
		m |= (uint64_t)p[i + tail] << (8 * tail);
	s->v3 ^= m;
	rounds(s, 2);
	s->v0 ^= m;
	s->v2 ^= outlen == 16 ? 0xee : 0xff;
	rounds(s, 4);
}

void
siphash24_64(const unsigned char key[SIPHASH_KEY_LEN], const void *data,
    size_t n, unsigned char out[8])
{
	struct sip s;

	absorb(&s, key, data, n, 8);
	put_le64(out, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}

void
siphash24_128(const unsigned char key[SIPHASH_KEY_LEN], const void *data,
    size_t n, unsigned char out[16])
{
	struct sip s;

	absorb(&s, key, data, n, 16);
	put_le64(out, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
	s.v1 ^= 0xdd;
	rounds(&s, 4);
	put_le64(out + 8, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}
