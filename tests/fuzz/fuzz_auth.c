/*
 * fuzz_auth.c - the token handling: auth_verify with a fixed key and time.
 *
 * Input: first byte selects the mode.
 *   even: the rest is the Authorization header value (up to a NUL).
 *   odd:  the rest is "<header JSON>\0<payload JSON>"; the fuzzer's JSON is
 *         base64url-encoded and signed with HS256 under the configured secret
 *         (bit 1 clear), so claim handling is reached, not only signature
 *         checking, or (bit 1 set) with the bytes of the configured RS256
 *         public key: the algorithm confusion, never to be accepted.
 * Keys: the HS256 secret and tests/unit/keys/rsa-a.pub.pem (kid rsa-a);
 * audience "authenticated" and an issuer are configured.
 * Oracles: AUTH_OK only with a canonical UUID as the user; in signed mode
 * AUTH_OK only when the header's alg is exactly "HS256", exp is a number not
 * past now - leeway, nbf (when a number) not after now + leeway, and the
 * user is user_id, else sub, equal to the identity ignoring case; iss equal
 * to the configured issuer and aud the audience (or an array).
 */
#include "config.h"

#include <stdint.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "keys.h"
#include "buf.h"
#include "json.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "fuzz-secret-0123456789abcdef-0123456789"
#define NOW 1700000000LL
#define LEEWAY 30

#define AUD "authenticated"
#define ISS "https://fuzz.invalid/auth/v1"
#ifndef FUZZ_KEYS_DIR
#define FUZZ_KEYS_DIR "tests/unit/keys"
#endif

static struct keyring ring;
static struct auth_cfg cfg;
static unsigned char *pub_pem;	/* the RS256 public key, as bytes */
static size_t pub_len;

/* The keyring: the HS256 secret and an RS256 public key (so that an HS256
 * token signed with the public key's bytes, the algorithm confusion, can be
 * tried). */
static void
setup(void)
{
	char	 err[256];
	FILE	*f;
	long	 n;

	keyring_init(&ring);
	if (keyring_add_secret(&ring, (const unsigned char *)KEY, sizeof(KEY) - 1,
	    err, sizeof(err)) != 0 ||
	    keyring_add_pem_file(&ring, "rsa-a", FUZZ_KEYS_DIR "/rsa-a.pub.pem", err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_auth: keyring: %s\n", err);
		abort();
	}
	if ((f = fopen(FUZZ_KEYS_DIR "/rsa-a.pub.pem", "rb")) == NULL)
		abort();
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	pub_pem = malloc((size_t)n);
	if (pub_pem == NULL || fread(pub_pem, 1, (size_t)n, f) != (size_t)n)
		abort();
	pub_len = (size_t)n;
	fclose(f);
	cfg.keys = &ring;
	cfg.leeway = LEEWAY;
	cfg.audience = AUD;
	cfg.issuer = ISS;
}

static void
b64url(struct buf *b, const unsigned char *s, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];

		buf_putc(b, a[v >> 18]);
		buf_putc(b, a[(v >> 12) & 63]);
		buf_putc(b, a[(v >> 6) & 63]);
		buf_putc(b, a[v & 63]);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)s[i] << 16;

		buf_putc(b, a[v >> 18]);
		buf_putc(b, a[(v >> 12) & 63]);
	} else if (n - i == 2) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;

		buf_putc(b, a[v >> 18]);
		buf_putc(b, a[(v >> 12) & 63]);
		buf_putc(b, a[(v >> 6) & 63]);
	}
}

/* The signed-mode oracle, checked with the project's own strict JSON reader
 * (only when it can read both parts). */
static void
check_accepted(const char *hdr, size_t hn, const char *pay, size_t pn,
    const struct auth_identity *id)
{
	struct jdoc	*h = NULL, *p = NULL;
	char		 err[64];
	const char	*alg, *user;
	size_t		 n, un;
	double		 exp, nbf;
	struct jref	 root, u;

	if (jdoc_parse(hdr, hn, FUZZ_DEPTH, &h, err, sizeof(err)) != 0 ||
	    jdoc_parse(pay, pn, FUZZ_DEPTH, &p, err, sizeof(err)) != 0)
		goto out;
	alg = jref_string(jref_get(jdoc_root(h), "alg"), &n);
	FUZZ_CHECK(alg != NULL && n == 5 && memcmp(alg, "HS256", 5) == 0,
	    "accepted alg %.*s", alg ? (int)n : 6, alg ? alg : "(none)");
	root = jdoc_root(p);
	FUZZ_CHECK(jref_number(jref_get(root, "exp"), &exp), "accepted without numeric exp");
	FUZZ_CHECK(exp + LEEWAY >= (double)NOW, "accepted expired exp %f", exp);
	if (jref_number(jref_get(root, "nbf"), &nbf))
		FUZZ_CHECK(nbf - LEEWAY <= (double)NOW, "accepted future nbf %f", nbf);
	u = jref_get(root, "user_id");
	if (jref_type(u) == JT_MISSING)
		u = jref_get(root, "sub");
	user = jref_string(u, &un);
	FUZZ_CHECK(user != NULL, "accepted without a string user id");
	FUZZ_CHECK(un == 36 && strncasecmp(user, id->user_id, 36) == 0,
	    "identity %s from claim %.*s", id->user_id, (int)un, user);
	{
		const char	*s;
		size_t		 sn;
		struct jref	 aud = jref_get(root, "aud");

		s = jref_string(jref_get(root, "iss"), &sn);
		FUZZ_CHECK(s != NULL && sn == strlen(ISS) && memcmp(s, ISS, sn) == 0,
		    "accepted iss %.*s", s ? (int)sn : 6, s ? s : "(none)");
		if ((s = jref_string(aud, &sn)) != NULL)
			FUZZ_CHECK(sn == strlen(AUD) && memcmp(s, AUD, sn) == 0,
			    "accepted aud %.*s", (int)sn, s);
		else
			FUZZ_CHECK(jref_type(aud) == JT_ARRAY, "accepted without aud");
	}
out:
	jdoc_free(h);
	jdoc_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_identity	 id;
	enum auth_err		 e;
	struct buf		 tok;
	char			*copy;

	if (cfg.keys == NULL)
		setup();
	if (size < 1 || size > 3 * AUTH_MAX_TOKEN)
		return 0;
	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	buf_init(&tok);
	memset(&id, 0, sizeof(id));
	if ((data[0] & 1) == 0) {
		e = auth_verify(&cfg, copy, NOW, &id);
	} else {
		const char	*hdr = copy, *pay;
		size_t		 hn = strlen(copy), pn;
		unsigned char	 mac[EVP_MAX_MD_SIZE];
		unsigned int	 maclen = 0;

		pay = hn + 1 < size - 1 ? copy + hn + 1 : "";
		pn = hn + 1 < size - 1 ? size - 1 - hn - 1 : 0;
		buf_puts(&tok, "Bearer ");
		b64url(&tok, (const unsigned char *)hdr, hn);
		buf_putc(&tok, '.');
		b64url(&tok, (const unsigned char *)pay, pn);
		/* bit 1: sign with the RS256 public key's bytes instead */
		if (data[0] & 2)
			HMAC(EVP_sha256(), pub_pem, (int)pub_len,
			    (const unsigned char *)tok.data + 7, tok.len - 7, mac,
			    &maclen);
		else
			HMAC(EVP_sha256(), KEY, (int)sizeof(KEY) - 1,
			    (const unsigned char *)tok.data + 7, tok.len - 7, mac,
			    &maclen);
		buf_putc(&tok, '.');
		b64url(&tok, mac, maclen);
		e = auth_verify(&cfg, buf_cstr(&tok), NOW, &id);
		FUZZ_CHECK(!(e == AUTH_OK && (data[0] & 2)),
		    "accepted an HS256 token signed with the RS256 public key");
		if (e == AUTH_OK)
			check_accepted(hdr, hn, pay, pn, &id);
	}
	FUZZ_CHECK(e >= AUTH_OK && e < AUTH__MAX, "reason %d", (int)e);
	FUZZ_CHECK(auth_err_str(e) != NULL, "no reason text");
	if (e == AUTH_OK)
		FUZZ_CHECK(fuzz_canonical_uuid(id.user_id), "user %s", id.user_id);
	buf_free(&tok);
	free(copy);
	return 0;
}
