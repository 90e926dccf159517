/*
 * keys.h - the keys tokens may be signed with: the HS256 secret, RSA and EC
 * public keys from PEM files, and keys from a JWKS document (what Supabase
 * publishes), each with its algorithm and optional kid. OpenSSL behind it.
 */
#ifndef CS_KEYS_H
#define CS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

enum key_alg {
	KEY_HS256,
	KEY_RS256,
	KEY_ES256,
	KEY__MAX
};

struct key {
	enum key_alg	 alg;
	bool		 has_kid;
	char		 kid[128];
	unsigned char	*bytes;		/* HS256: the secret; else a PEM public key */
	size_t		 len;
};

struct keyring {
	struct key	*k;
	size_t		 n;
};

void	 keyring_init(struct keyring *);
/* Wipe and free every key. */
void	 keyring_free(struct keyring *);
/* The registered name of an algorithm ("HS256", ...). */
const char *key_alg_name(enum key_alg);

/*
 * Add keys; each returns 0, or -1 with a reason in err (never key
 * material). kid may be NULL.
 */
int	 keyring_add_secret(struct keyring *, const unsigned char *secret,
	    size_t len, char *err, size_t errlen);
/* A public key PEM file: RSA (2048 bits or more) for RS256, or EC P-256
 * for ES256. */
int	 keyring_add_pem_file(struct keyring *, const char *kid,
	    const char *path, char *err, size_t errlen);
/*
 * Every signing key of a JWKS file: kty RSA (RS256) and EC P-256 (ES256),
 * converted to PEM with OpenSSL; keys for encryption ("use":"enc") and
 * symmetric keys ("oct") are skipped. Fails when none is usable.
 */
int	 keyring_add_jwks_file(struct keyring *, const char *path, char *err,
	    size_t errlen);

#endif
