// SPDX-License-Identifier: MIT
/*
 * crypto-speed.c - how fast the project's wolfSSL build does what a QUIC
 * tunnel asks of it: AEAD on full-size packets and the public-key work of
 * one handshake (ECDHE P-256 and X25519, ECDSA P-256 sign and verify).
 *
 * Prints "name value unit" lines; tests compare them with OpenSSL's numbers
 * taken in the same run.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD_LEN  1350
#define RUN_SECONDS 1.0

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench_aes_gcm(void)
{
	unsigned char key[16] = {1}, iv[12] = {2}, tag[16], aad[20] = {3};
	static unsigned char in[RECORD_LEN], out[RECORD_LEN];
	double start, elapsed;
	unsigned long n = 0;
	Aes aes;

	if (wc_AesInit(&aes, NULL, INVALID_DEVID) || wc_AesGcmSetKey(&aes, key, sizeof(key))) {
		fprintf(stderr, "crypto-speed: AES-GCM key setup failed\n");
		return -1;
	}
	start = now_s();
	do {
		for (int i = 0; i < 256; i++, n++) {
			iv[11] = (unsigned char)n;
			wc_AesGcmEncrypt(&aes, out, in, sizeof(in), iv, sizeof(iv), tag,
					 sizeof(tag), aad, sizeof(aad));
		}
		elapsed = now_s() - start;
	} while (elapsed < RUN_SECONDS);
	wc_AesFree(&aes);
	printf("aes-128-gcm-1350 %.1f MB/s\n", n * (double)RECORD_LEN / elapsed / 1e6);
	return 0;
}

static int bench_chacha(void)
{
	unsigned char key[32] = {1}, iv[12] = {2}, tag[16], aad[20] = {3};
	static unsigned char in[RECORD_LEN], out[RECORD_LEN];
	double start, elapsed;
	unsigned long n = 0;

	start = now_s();
	do {
		for (int i = 0; i < 256; i++, n++) {
			iv[11] = (unsigned char)n;
			if (wc_ChaCha20Poly1305_Encrypt(key, iv, aad, sizeof(aad), in, sizeof(in),
							out, tag))
				return -1;
		}
		elapsed = now_s() - start;
	} while (elapsed < RUN_SECONDS);
	printf("chacha20-poly1305-1350 %.1f MB/s\n", n * (double)RECORD_LEN / elapsed / 1e6);
	return 0;
}

/* One handshake's ECDHE: make a key pair, derive the shared secret. */
static int bench_ecdhe_p256(WC_RNG *rng)
{
	unsigned char secret[32];
	double start, elapsed;
	ecc_key peer, mine;
	unsigned long n = 0;
	word32 len;

	wc_ecc_init(&peer);
	if (wc_ecc_make_key(rng, 32, &peer))
		return -1;
	start = now_s();
	do {
		wc_ecc_init(&mine);
		wc_ecc_set_rng(&mine, rng);
		len = sizeof(secret);
		if (wc_ecc_make_key(rng, 32, &mine) ||
		    wc_ecc_shared_secret(&mine, &peer, secret, &len))
			return -1;
		wc_ecc_free(&mine);
		n++;
		elapsed = now_s() - start;
	} while (elapsed < RUN_SECONDS);
	wc_ecc_free(&peer);
	printf("ecdhe-p256 %.0f ops/s\n", n / elapsed);
	return 0;
}

static int bench_x25519(WC_RNG *rng)
{
	curve25519_key peer, mine;
	unsigned char secret[32];
	double start, elapsed;
	unsigned long n = 0;
	word32 len;

	wc_curve25519_init(&peer);
	if (wc_curve25519_make_key(rng, 32, &peer))
		return -1;
	start = now_s();
	do {
		wc_curve25519_init(&mine);
		len = sizeof(secret);
		if (wc_curve25519_make_key(rng, 32, &mine) ||
		    wc_curve25519_shared_secret(&mine, &peer, secret, &len))
			return -1;
		wc_curve25519_free(&mine);
		n++;
		elapsed = now_s() - start;
	} while (elapsed < RUN_SECONDS);
	wc_curve25519_free(&peer);
	printf("ecdhe-x25519 %.0f ops/s\n", n / elapsed);
	return 0;
}

static int bench_ecdsa_p256(WC_RNG *rng)
{
	unsigned char hash[32] = {7}, sig[80];
	unsigned long signs = 0, verifies = 0;
	double start, elapsed;
	word32 siglen = 0;
	ecc_key key;
	int ok;

	wc_ecc_init(&key);
	if (wc_ecc_make_key(rng, 32, &key))
		return -1;
	start = now_s();
	do {
		siglen = sizeof(sig);
		if (wc_ecc_sign_hash(hash, sizeof(hash), sig, &siglen, rng, &key))
			return -1;
		signs++;
		elapsed = now_s() - start;
	} while (elapsed < RUN_SECONDS);
	printf("ecdsa-p256-sign %.0f ops/s\n", signs / elapsed);
	start = now_s();
	do {
		if (wc_ecc_verify_hash(sig, siglen, hash, sizeof(hash), &ok, &key) || !ok)
			return -1;
		verifies++;
		elapsed = now_s() - start;
	} while (elapsed < RUN_SECONDS);
	printf("ecdsa-p256-verify %.0f ops/s\n", verifies / elapsed);
	wc_ecc_free(&key);
	return 0;
}

int main(void)
{
	WC_RNG rng;
	int err = 0;

	if (wc_InitRng(&rng)) {
		fprintf(stderr, "crypto-speed: wolfSSL RNG init failed\n");
		return 1;
	}
	err |= bench_aes_gcm();
	err |= bench_chacha();
	err |= bench_ecdhe_p256(&rng);
	err |= bench_x25519(&rng);
	err |= bench_ecdsa_p256(&rng);
	wc_FreeRng(&rng);
	if (err)
		fprintf(stderr, "crypto-speed: a wolfSSL operation failed\n");
	return err ? 1 : 0;
}
