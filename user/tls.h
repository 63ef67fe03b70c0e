/* SPDX-License-Identifier: MIT */
/*
 * tls.h - TLS 1.3 for beam's QUIC with wolfSSL: the edge's certificate (made
 * at start, self-signed ECDSA P-256, or loaded from files), its SHA-256
 * fingerprint, and the server and client contexts with ALPN "beam/1".
 * The agent checks the edge by a CA file, by a pinned fingerprint, or (with
 * --insecure, loudly) not at all.
 */
#ifndef BEAM_TLS_H
#define BEAM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_FP_LEN     32
#define TLS_FP_STR_LEN (7 + 2 * TLS_FP_LEN + 1) /* "SHA256:" + hex + NUL */

struct WOLFSSL_CTX;
struct WOLFSSL;

enum tls_verify {
	TLS_VERIFY_CA = 0, /* chain to a CA file, name checked */
	TLS_VERIFY_PIN,	   /* leaf certificate's SHA-256 equals the pin */
	TLS_VERIFY_NONE,   /* --insecure */
};

struct tls_client_config {
	enum tls_verify verify;
	const char *ca_file;	 /* TLS_VERIFY_CA */
	uint8_t pin[TLS_FP_LEN]; /* TLS_VERIFY_PIN */
};

/*
 * Build the edge's server context. With @cert_file and @key_file (PEM) it
 * loads them, else it makes a fresh self-signed ECDSA P-256 certificate for
 * CN "beamd". The leaf's fingerprint goes to @fp ("SHA256:<64 hex>").
 * Returns 0 and the context in *@out, or -errno after a message.
 */
int tls_server_ctx_new(struct WOLFSSL_CTX **out, const char *cert_file, const char *key_file,
		       char fp[TLS_FP_STR_LEN]);

#define TLS_RESET_SECRET_LEN 32

/*
 * Fill @out with the secret beamd's stateless reset tokens derive from:
 * HKDF-SHA256 of @key_file's bytes with a label of its own, so the same key
 * gives the same secret after a restart (and the key itself cannot be learnt
 * from it); random without @key_file (a self-signed certificate made at
 * start). Returns 0, or -errno after a message naming the file.
 */
int tls_reset_secret(const char *key_file, uint8_t out[TLS_RESET_SECRET_LEN]);

/* Build the agent's client context. Returns 0 or -errno after a message. */
int tls_client_ctx_new(struct WOLFSSL_CTX **out, const struct tls_client_config *cfg);

void tls_ctx_free(struct WOLFSSL_CTX *ctx);

/*
 * Parse a pin "SHA256:<64 hex digits>" (colons between bytes allowed) into
 * @out. Returns 0 or -EINVAL.
 */
int tls_pin_parse(const char *s, uint8_t out[TLS_FP_LEN]);

/* Format @fp as "SHA256:<hex>" into @out. */
void tls_fp_format(const uint8_t fp[TLS_FP_LEN], char out[TLS_FP_STR_LEN]);

/*
 * After the handshake: compare the peer's leaf certificate with @pin.
 * Returns 0 when it matches, -EPERM when it does not (the fingerprint seen
 * goes to @seen), -ENOENT when the peer sent no certificate.
 */
int tls_check_pin(struct WOLFSSL *ssl, const uint8_t pin[TLS_FP_LEN], char seen[TLS_FP_STR_LEN]);

#endif /* BEAM_TLS_H */
