// SPDX-License-Identifier: MIT
/*
 * tls.c - wolfSSL contexts, certificate generation and pinning for beam/1.
 */
#include <wolfssl/options.h>

#include "tls.h"
#include "log.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ngtcp2/ngtcp2_crypto_wolfssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>

#define TLS_CIPHERS "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256"

static const unsigned char alpn_wire[] = "\x06" PROTO_ALPN;

void tls_fp_format(const uint8_t fp[TLS_FP_LEN], char out[TLS_FP_STR_LEN])
{
	int i;

	memcpy(out, "SHA256:", 7);
	for (i = 0; i < TLS_FP_LEN; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", fp[i]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tls_pin_parse(const char *s, uint8_t out[TLS_FP_LEN])
{
	int n = 0;

	if (strncasecmp(s, "SHA256:", 7))
		return -EINVAL;
	s += 7;
	while (*s) {
		int hi, lo;

		if (*s == ':') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0 || n >= TLS_FP_LEN)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n == TLS_FP_LEN ? 0 : -EINVAL;
}

static int fingerprint(const uint8_t *der, size_t len, uint8_t fp[TLS_FP_LEN])
{
	return wc_Sha256Hash(der, (word32)len, fp) ? -EIO : 0;
}

/* Make a self-signed ECDSA P-256 certificate; DER cert and key into the buffers. */
static int make_self_signed(uint8_t *cert, int *cert_len, uint8_t *key_der, int *key_len)
{
	ecc_key key;
	WC_RNG rng;
	Cert c;
	int err = -EIO, n;

	if (wc_InitRng(&rng))
		return -EIO;
	if (wc_ecc_init(&key))
		goto out_rng;
	if (wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1))
		goto out_key;
	if (wc_InitCert(&c))
		goto out_key;
	snprintf(c.subject.commonName, CTC_NAME_SIZE, "beamd");
	snprintf(c.subject.org, CTC_NAME_SIZE, "beam edge");
	c.daysValid = 3650;
	c.sigType = CTC_SHA256wECDSA;
	c.isCA = 0;
	n = wc_MakeCert_ex(&c, cert, (word32)*cert_len, ECC_TYPE, &key, &rng);
	if (n < 0)
		goto out_key;
	n = wc_SignCert_ex(c.bodySz, c.sigType, cert, (word32)*cert_len, ECC_TYPE, &key, &rng);
	if (n < 0)
		goto out_key;
	*cert_len = n;
	n = wc_EccKeyToDer(&key, key_der, (word32)*key_len);
	if (n < 0)
		goto out_key;
	*key_len = n;
	err = 0;
out_key:
	wc_ecc_free(&key);
out_rng:
	wc_FreeRng(&rng);
	return err;
}

static int alpn_select_cb(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
			  const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i = 0;

	(void)ssl;
	(void)arg;
	/* the client's list: length-prefixed names, each checked against the rest */
	while (i < inlen) {
		unsigned int l = in[i];

		if (l == 0 || i + 1 + l > inlen)
			break;
		if (l == sizeof(alpn_wire) - 2 && !memcmp(in + i + 1, PROTO_ALPN, l)) {
			*out = in + i + 1;
			*outlen = (unsigned char)l;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static WOLFSSL_CTX *ctx_common(bool server)
{
	WOLFSSL_CTX *ctx;

	ctx = wolfSSL_CTX_new(server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method());
	if (!ctx) {
		pr_err("failed to create a TLS 1.3 context: wolfSSL_CTX_new failed");
		return NULL;
	}
	if ((server ? ngtcp2_crypto_wolfssl_configure_server_context(ctx)
		    : ngtcp2_crypto_wolfssl_configure_client_context(ctx)) ||
	    wolfSSL_CTX_set_cipher_list(ctx, TLS_CIPHERS) != WOLFSSL_SUCCESS) {
		pr_err("failed to configure the TLS context for QUIC");
		wolfSSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

#define CERT_FILE_MAX (1 << 20)

/* SHA-256 of the DER of the first certificate in PEM file @path (the leaf):
 * straight from the PEM, so any key type wolfSSL takes for TLS works
 * (wolfSSL's X509 parser refuses Ed25519 certificates). */
static int cert_fingerprint(const char *path, uint8_t fp[TLS_FP_LEN])
{
	unsigned char *pem = NULL, *der = NULL;
	int fd, err, n, derlen;
	ssize_t got = 0, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pem = malloc(CERT_FILE_MAX);
	der = malloc(CERT_FILE_MAX);
	if (!pem || !der) {
		err = -ENOMEM;
		goto out;
	}
	while (got < CERT_FILE_MAX && (r = read(fd, pem + got, CERT_FILE_MAX - got)) > 0)
		got += r;
	n = (int)got;
	derlen = n > 0 ? wc_CertPemToDer(pem, n, der, CERT_FILE_MAX, CERT_TYPE) : -1;
	err = derlen > 0 ? fingerprint(der, (size_t)derlen, fp) : -EBADMSG;
out:
	free(pem);
	free(der);
	close(fd);
	return err;
}

/*
 * Before wolfSSL reads them (it says only "failed"): both files can be opened,
 * and the key, like the tokens file, is not open to other users.
 */
static int check_files(const char *cert_file, const char *key_file)
{
	struct stat st;
	int fd, err;

	fd = open(cert_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("failed to load certificate '%s': %s", cert_file, strerror(-err));
		return err;
	}
	close(fd);
	fd = open(key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("failed to load key '%s': %s", key_file, strerror(-err));
		return err;
	}
	err = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (err) {
		pr_err("failed to stat key '%s': %s", key_file, strerror(-err));
		return err;
	}
	if (!(st.st_mode & (S_IROTH | S_IWOTH)))
		return 0;
	pr_err("refusing key '%s': readable or writable by other users (mode %03o); chmod o-rw it",
	       key_file, (unsigned int)(st.st_mode & 0777));
	return -EPERM;
}

/* RSA keys under 2048 bits are within reach of factoring: served, but said. */
static void warn_weak_key(WOLFSSL_X509 *x, const char *cert_file)
{
	WOLFSSL_EVP_PKEY *pk = wolfSSL_X509_get_pubkey(x);
	int bits;

	if (!pk)
		return;
	bits = wolfSSL_EVP_PKEY_bits(pk);
	if (wolfSSL_EVP_PKEY_id(pk) == EVP_PKEY_RSA && bits > 0 && bits < 2048)
		pr_warn("certificate '%s' has a %d-bit RSA key: use 2048 bits or more, or P-256",
			cert_file, bits);
	wolfSSL_EVP_PKEY_free(pk);
}

static int load_files(WOLFSSL_CTX *ctx, const char *cert_file, const char *key_file,
		      uint8_t fp[TLS_FP_LEN])
{
	WOLFSSL_X509 *x;
	int err;

	err = check_files(cert_file, key_file);
	if (err)
		return err;
	if (wolfSSL_CTX_use_certificate_chain_file(ctx, cert_file) != WOLFSSL_SUCCESS) {
		pr_err("failed to load certificate '%s': not a readable PEM certificate",
		       cert_file);
		return -EINVAL;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx, key_file, WOLFSSL_FILETYPE_PEM) !=
		    WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
		pr_err("failed to load key '%s': unreadable or does not match '%s'", key_file,
		       cert_file);
		return -EINVAL;
	}
	/* wolfSSL serves an Ed25519 certificate, but its X509 parser, which
	 * agents verify with, does not read one: refuse it here, not in every
	 * agent's handshake. */
	x = wolfSSL_X509_load_certificate_file(cert_file, WOLFSSL_FILETYPE_PEM);
	if (!x) {
		pr_err("failed to load certificate '%s': agents cannot verify its key type",
		       cert_file);
		return -EINVAL;
	}
	warn_weak_key(x, cert_file);
	wolfSSL_X509_free(x);
	err = cert_fingerprint(cert_file, fp);
	if (err)
		pr_err("failed to read certificate '%s' for its fingerprint: %s", cert_file,
		       err == -EBADMSG ? "no PEM certificate in it" : strerror(-err));
	return err;
}

static int make_cert(WOLFSSL_CTX *ctx, uint8_t fp[TLS_FP_LEN])
{
	uint8_t cert[2048], key[256];
	int clen = sizeof(cert), klen = sizeof(key), err;

	err = make_self_signed(cert, &clen, key, &klen);
	if (err) {
		pr_err("failed to make a self-signed certificate: wolfCrypt error");
		return err;
	}
	if (wolfSSL_CTX_use_certificate_buffer(ctx, cert, clen, WOLFSSL_FILETYPE_ASN1) !=
		    WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_buffer(ctx, key, klen, WOLFSSL_FILETYPE_ASN1) !=
		    WOLFSSL_SUCCESS) {
		pr_err("failed to install the self-signed certificate");
		err = -EINVAL;
	} else {
		err = fingerprint(cert, (size_t)clen, fp);
	}
	memset(key, 0, sizeof(key));
	return err;
}

int tls_server_ctx_new(WOLFSSL_CTX **out, const char *cert_file, const char *key_file,
		       char fp_str[TLS_FP_STR_LEN])
{
	static const unsigned char sid_ctx[] = "beamd";
	uint8_t fp[TLS_FP_LEN];
	WOLFSSL_CTX *ctx;
	int err;

	ctx = ctx_common(true);
	if (!ctx)
		return -EINVAL;
	if (cert_file && key_file)
		err = load_files(ctx, cert_file, key_file, fp);
	else
		err = make_cert(ctx, fp);
	if (err)
		goto err_free;

	wolfSSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
	/* 0-RTT: the agent's HELLO and REGISTER may ride in early data */
	wolfSSL_CTX_set_max_early_data(ctx, UINT32_MAX);
	wolfSSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	tls_fp_format(fp, fp_str);
	*out = ctx;
	return 0;

err_free:
	wolfSSL_CTX_free(ctx);
	return err;
}

#define RESET_KEY_MAX (1 << 20) /* a PEM key is a few KiB; refuse to read a huge file */

int tls_reset_secret(const char *key_file, uint8_t out[TLS_RESET_SECRET_LEN])
{
	static const char label[] = "beam/1 stateless reset secret";
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, err;

	if (!key_file) {
		if (getrandom(out, TLS_RESET_SECRET_LEN, 0) != TLS_RESET_SECRET_LEN) {
			pr_err("failed to make a stateless reset secret: %s", strerror(errno));
			return -EIO;
		}
		return 0;
	}
	fd = open(key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("failed to read key '%s': %s", key_file, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > RESET_KEY_MAX) {
		pr_err("failed to read key '%s': not a key file of 1 byte to 1 MiB", key_file);
		err = -EINVAL;
		goto err_close;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		err = -ENOMEM;
		goto err_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			err = n ? -errno : -EIO;
			pr_err("failed to read key '%s': %s", key_file,
			       n ? strerror(-err) : "file shrank while read");
			goto err_free;
		}
		got += (size_t)n;
	}
	if (wc_HKDF(WC_SHA256, buf, (word32)got, NULL, 0, (const byte *)label, sizeof(label) - 1,
		    out, TLS_RESET_SECRET_LEN)) {
		pr_err("failed to derive the stateless reset secret from '%s': wolfCrypt error",
		       key_file);
		err = -EINVAL;
		goto err_free;
	}
	err = 0;
err_free:
	explicit_bzero(buf, got);
	free(buf);
err_close:
	close(fd);
	return err;
}

int tls_client_ctx_new(WOLFSSL_CTX **out, const struct tls_client_config *cfg)
{
	WOLFSSL_CTX *ctx;

	ctx = ctx_common(false);
	if (!ctx)
		return -EINVAL;
	switch (cfg->verify) {
	case TLS_VERIFY_CA:
		if (access(cfg->ca_file, R_OK)) {
			pr_err("failed to load CA file '%s': %s", cfg->ca_file, strerror(errno));
			wolfSSL_CTX_free(ctx);
			return -ENOENT;
		}
		if (wolfSSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != WOLFSSL_SUCCESS) {
			pr_err("failed to load CA file '%s': not a readable PEM certificate",
			       cfg->ca_file);
			wolfSSL_CTX_free(ctx);
			return -EINVAL;
		}
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
		break;
	case TLS_VERIFY_PIN:
	case TLS_VERIFY_NONE:
		/* the pin is checked when the handshake completes, before any 1-RTT data */
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
		break;
	}
	*out = ctx;
	return 0;
}

void tls_ctx_free(WOLFSSL_CTX *ctx)
{
	if (ctx)
		wolfSSL_CTX_free(ctx);
}

int tls_check_pin(WOLFSSL *ssl, const uint8_t pin[TLS_FP_LEN], char seen[TLS_FP_STR_LEN])
{
	const unsigned char *der;
	uint8_t fp[TLS_FP_LEN];
	WOLFSSL_X509 *x;
	int len, err;

	x = wolfSSL_get_peer_certificate(ssl);
	if (!x)
		return -ENOENT;
	der = wolfSSL_X509_get_der(x, &len);
	err = der ? fingerprint(der, (size_t)len, fp) : -ENOENT;
	wolfSSL_X509_free(x);
	if (err)
		return err;
	tls_fp_format(fp, seen);
	return memcmp(fp, pin, TLS_FP_LEN) ? -EPERM : 0;
}
