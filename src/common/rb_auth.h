/*-------------------------------------------------------------------------
 *
 * rb_auth.h
 *	  Shared-secret authentication for the rbufd protocol: the HMAC both
 *	  sides compute during the HELLO/AUTH exchange, and secret-file loading.
 *	  No PostgreSQL includes: used by rbufd, rbufctl, the client library
 *	  and the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_AUTH_H
#define RB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rb_protocol.h"

#define RB_SECRET_MIN_LEN	16
#define RB_SECRET_MAX_LEN	256

/*
 * out = HMAC-SHA256(secret, label || nonce1 || nonce2 || u16 owner_len ||
 * owner).  See rb_protocol.h for which nonce comes first on each side.
 * Returns false only if libcrypto fails.
 */
extern bool rb_auth_mac(const uint8_t *secret, size_t secret_len,
						const char *label,
						const uint8_t nonce1[RB_NONCE_LEN],
						const uint8_t nonce2[RB_NONCE_LEN],
						const char *owner, size_t owner_len,
						uint8_t out[RB_MAC_LEN]);

/* Constant-time comparison of two MACs. */
extern bool rb_auth_mac_equal(const uint8_t a[RB_MAC_LEN],
							  const uint8_t b[RB_MAC_LEN]);

/* Fill buf with cryptographically random bytes; false on failure. */
extern bool rb_random_bytes(uint8_t *buf, size_t len);

/*
 * Load a shared secret from a file.  One trailing newline (LF or CRLF) is
 * stripped; the rest, RB_SECRET_MIN_LEN..RB_SECRET_MAX_LEN bytes, is the
 * secret.  The file must not be readable or writable by group or others
 * (like PostgreSQL's server key check), unless owned by root and at most
 * group-readable.  On error returns false and writes a full sentence into
 * err.
 */
extern bool rb_secret_load(const char *path, uint8_t *secret, size_t *len,
						   char *err, size_t errlen);

/* Owner names: 1..RB_MAX_OWNER_LEN printable ASCII bytes (0x21..0x7e). */
extern bool rb_owner_valid(const char *owner, size_t len);

#endif							/* RB_AUTH_H */
