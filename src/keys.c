/*
 * keys.c - the only module that includes OpenSSL: public keys from PEM files
 * and JWKS documents, normalised to PEM for libjwt.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "buf.h"
#include "json.h"
#include "keys.h"

#define MAX_KEYS	64
#define MAX_FILE	(256 * 1024)

static const char *const alg_names[KEY__MAX] = { "HS256", "RS256", "ES256" };

const char *
key_alg_name(enum key_alg a)
{
	return a < KEY__MAX ? alg_names[a] : "none";
}

void
keyring_init(struct keyring *kr)
{
	kr->k = NULL;
	kr->n = 0;
}

void
keyring_free(struct keyring *kr)
{
	size_t i;

	for (i = 0; i < kr->n; i++) {
		if (kr->k[i].bytes != NULL)
			memset(kr->k[i].bytes, 0, kr->k[i].len);
		free(kr->k[i].bytes);
	}
	free(kr->k);
	keyring_init(kr);
}

/* Append a key, taking ownership of bytes. */
static int
add(struct keyring *kr, enum key_alg alg, const char *kid, unsigned char *bytes,
    size_t len, char *err, size_t errlen)
{
	struct key *nk;

	if (kr->n >= MAX_KEYS) {
		snprintf(err, errlen, "more than %d keys", MAX_KEYS);
		free(bytes);
		return -1;
	}
	if (kid != NULL && strlen(kid) >= sizeof(nk->kid)) {
		snprintf(err, errlen, "kid longer than %zu bytes",
		    sizeof(nk->kid) - 1);
		free(bytes);
		return -1;
	}
	if ((nk = realloc(kr->k, (kr->n + 1) * sizeof(*nk))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(bytes);
		return -1;
	}
	kr->k = nk;
	nk = &kr->k[kr->n++];
	memset(nk, 0, sizeof(*nk));
	nk->alg = alg;
	nk->has_kid = kid != NULL;
	if (kid != NULL)
		snprintf(nk->kid, sizeof(nk->kid), "%s", kid);
	nk->bytes = bytes;
	nk->len = len;
	return 0;
}

int
keyring_add_secret(struct keyring *kr, const unsigned char *secret, size_t len,
    char *err, size_t errlen)
{
	unsigned char *copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, secret, len);
	return add(kr, KEY_HS256, NULL, copy, len, err, errlen);
}

/* The algorithm a public key serves, or -1 with the reason. */
static int
pkey_alg(EVP_PKEY *pk, char *err, size_t errlen)
{
	char	 group[64];
	size_t	 glen = 0;

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pk) < 2048) {
			snprintf(err, errlen, "RSA key shorter than 2048 bits");
			return -1;
		}
		return KEY_RS256;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1 || strcmp(group, "prime256v1") != 0) {
			snprintf(err, errlen, "EC key not on P-256 (ES256)");
			return -1;
		}
		return KEY_ES256;
	default:
		snprintf(err, errlen, "neither an RSA nor an EC public key");
		return -1;
	}
}

/* Add a parsed public key as normalised PEM. Frees nothing of pk. */
static int
add_pkey(struct keyring *kr, EVP_PKEY *pk, const char *kid, int want,
    char *err, size_t errlen)
{
	BIO		*bio;
	char		*data;
	long		 n;
	unsigned char	*copy;
	int		 alg;

	if ((alg = pkey_alg(pk, err, errlen)) < 0)
		return -1;
	if (want >= 0 && alg != want) {
		snprintf(err, errlen, "key type does not fit its alg %s",
		    key_alg_name((enum key_alg)want));
		return -1;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, pk) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (copy = malloc((size_t)n)) == NULL) {
		BIO_free(bio);
		snprintf(err, errlen, "cannot encode the key");
		return -1;
	}
	memcpy(copy, data, (size_t)n);
	BIO_free(bio);
	return add(kr, (enum key_alg)alg, kid, copy, (size_t)n, err, errlen);
}

/* Read a whole (small) file into b. */
static int
slurp(const char *path, struct buf *b, char *err, size_t errlen)
{
	FILE	*f;
	char	 chunk[4096];
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!buf_append(b, chunk, n) || b->len > MAX_FILE) {
			fclose(f);
			snprintf(err, errlen, "%s: too large", path);
			return -1;
		}
	fclose(f);
	return 0;
}

int
keyring_add_pem_file(struct keyring *kr, const char *kid, const char *path,
    char *err, size_t errlen)
{
	struct buf	 b;
	BIO		*bio;
	EVP_PKEY	*pk = NULL;
	char		 why[128];
	int		 rc = -1;

	buf_init(&b);
	if (slurp(path, &b, err, errlen) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) != NULL) {
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (pk == NULL) {
		snprintf(err, errlen, "%s: not a PEM public key", path);
		goto out;
	}
	if ((rc = add_pkey(kr, pk, kid, -1, why, sizeof(why))) != 0)
		snprintf(err, errlen, "%s: %s", path, why);
out:
	EVP_PKEY_free(pk);
	buf_free(&b);
	return rc;
}

/* A base64url JWK member as a BIGNUM-ready byte string. */
static bool
jwk_bytes(struct jref jwk, const char *name, struct buf *out)
{
	const char	*s;
	size_t		 n;

	buf_reset(out);
	return (s = jref_string(jref_get(jwk, name), &n)) != NULL && n > 0 &&
	    b64url_decode(s, n, out) && out->len > 0;
}

/* Build an EVP_PKEY of `type` ("RSA" or "EC") from parameters. */
static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM	*params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY	*pk = NULL;

	if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		(void)EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
jwk_rsa(struct jref jwk)
{
	struct buf	 n, e;
	BIGNUM		*bn = NULL, *be = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pk = NULL;

	buf_init(&n);
	buf_init(&e);
	if (jwk_bytes(jwk, "n", &n) && jwk_bytes(jwk, "e", &e) &&
	    (bn = BN_bin2bn((unsigned char *)n.data, (int)n.len, NULL)) != NULL &&
	    (be = BN_bin2bn((unsigned char *)e.data, (int)e.len, NULL)) != NULL &&
	    (bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		pk = from_params("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	buf_free(&n);
	buf_free(&e);
	return pk;
}

static EVP_PKEY *
jwk_ec(struct jref jwk)
{
	struct buf	 x, y, pt;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pk = NULL;
	const char	*crv;
	size_t		 n;

	crv = jref_string(jref_get(jwk, "crv"), &n);
	if (crv == NULL || n != 5 || memcmp(crv, "P-256", 5) != 0)
		return NULL;
	buf_init(&x);
	buf_init(&y);
	buf_init(&pt);
	/* The uncompressed point: 0x04 || x || y, 32 bytes each. */
	if (jwk_bytes(jwk, "x", &x) && jwk_bytes(jwk, "y", &y) &&
	    x.len == 32 && y.len == 32 && buf_putc(&pt, 4) &&
	    buf_append(&pt, x.data, 32) && buf_append(&pt, y.data, 32) &&
	    (bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt.data, pt.len) == 1)
		pk = from_params("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	buf_free(&x);
	buf_free(&y);
	buf_free(&pt);
	return pk;
}

/* A JWK string member as a C string (no NUL inside), or NULL. */
static const char *
jwk_str(struct jref jwk, const char *name, char *out, size_t outsz)
{
	const char	*s;
	size_t		 n;

	if ((s = jref_string(jref_get(jwk, name), &n)) == NULL ||
	    n >= outsz || memchr(s, '\0', n) != NULL)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

int
keyring_add_jwks_file(struct keyring *kr, const char *path, char *err,
    size_t errlen)
{
	struct buf	 b;
	struct jdoc	*doc = NULL;
	struct jref	 keys, jwk;
	EVP_PKEY	*pk;
	char		 why[128], kty[16], use[16], alg[16], kid[128];
	const char	*kidp;
	size_t		 i, added = 0;
	int		 want, rc = -1;

	buf_init(&b);
	if (slurp(path, &b, err, errlen) != 0)
		goto out;
	if (jdoc_parse(b.data, b.len, 16, &doc, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: not JSON (%s)", path, why);
		goto out;
	}
	keys = jref_get(jdoc_root(doc), "keys");
	if (jref_type(keys) != JT_ARRAY) {
		snprintf(err, errlen, "%s: no \"keys\" array", path);
		goto out;
	}
	for (i = 0; i < jref_array_len(keys); i++) {
		jwk = jref_get_index(keys, i);
		if (jwk_str(jwk, "use", use, sizeof(use)) != NULL &&
		    strcmp(use, "sig") != 0)
			continue;
		if (jwk_str(jwk, "kty", kty, sizeof(kty)) == NULL)
			continue;
		kidp = jwk_str(jwk, "kid", kid, sizeof(kid));
		if (strcmp(kty, "RSA") == 0) {
			want = KEY_RS256;
			pk = jwk_rsa(jwk);
		} else if (strcmp(kty, "EC") == 0) {
			want = KEY_ES256;
			pk = jwk_ec(jwk);
		} else
			continue;	/* "oct" and others: not ours */
		if (jwk_str(jwk, "alg", alg, sizeof(alg)) != NULL &&
		    strcmp(alg, key_alg_name((enum key_alg)want)) != 0) {
			EVP_PKEY_free(pk);
			snprintf(err, errlen, "%s: key %zu: alg %s does not fit "
			    "kty %s", path, i, alg, kty);
			goto out;
		}
		if (pk == NULL) {
			snprintf(err, errlen, "%s: key %zu: invalid %s key",
			    path, i, kty);
			goto out;
		}
		rc = add_pkey(kr, pk, kidp, want, why, sizeof(why));
		EVP_PKEY_free(pk);
		if (rc != 0) {
			snprintf(err, errlen, "%s: key %zu: %s", path, i, why);
			goto out;
		}
		added++;
	}
	if (added == 0) {
		snprintf(err, errlen, "%s: no RSA or EC P-256 signing key", path);
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	jdoc_free(doc);
	buf_free(&b);
	return rc;
}
