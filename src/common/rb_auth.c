/*-------------------------------------------------------------------------
 *
 * rb_auth.c
 *	  HMAC challenge-response helpers and secret-file loading, shared by
 *	  rbufd and its clients (OpenSSL libcrypto does the cryptography).
 *
 *-------------------------------------------------------------------------
 */
#include "rb_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

bool
rb_auth_mac(const uint8_t *secret, size_t secret_len, const char *label,
			const uint8_t nonce1[RB_NONCE_LEN],
			const uint8_t nonce2[RB_NONCE_LEN],
			const char *owner, size_t owner_len, uint8_t out[RB_MAC_LEN])
{
	uint8_t		msg[32 + 2 * RB_NONCE_LEN + 2 + RB_MAX_OWNER_LEN];
	size_t		label_len = strlen(label);
	size_t		n = 0;
	unsigned int outlen = 0;

	if (label_len > 32 || owner_len > RB_MAX_OWNER_LEN)
		return false;
	memcpy(msg + n, label, label_len);
	n += label_len;
	memcpy(msg + n, nonce1, RB_NONCE_LEN);
	n += RB_NONCE_LEN;
	memcpy(msg + n, nonce2, RB_NONCE_LEN);
	n += RB_NONCE_LEN;
	rb_put_u16(msg + n, (uint16_t) owner_len);
	n += 2;
	memcpy(msg + n, owner, owner_len);
	n += owner_len;

	if (HMAC(EVP_sha256(), secret, (int) secret_len, msg, n, out, &outlen) == NULL)
		return false;
	return outlen == RB_MAC_LEN;
}

bool
rb_auth_mac_equal(const uint8_t a[RB_MAC_LEN], const uint8_t b[RB_MAC_LEN])
{
	return CRYPTO_memcmp(a, b, RB_MAC_LEN) == 0;
}

bool
rb_random_bytes(uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int) len) == 1;
}

bool
rb_owner_valid(const char *owner, size_t len)
{
	if (len == 0 || len > RB_MAX_OWNER_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) owner[i];

		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

bool
rb_secret_load(const char *path, uint8_t *secret, size_t *len,
			   char *err, size_t errlen)
{
	struct stat st;
	uint8_t		buf[RB_SECRET_MAX_LEN + 3];
	ssize_t		n;
	size_t		total = 0;
	int			fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		snprintf(err, errlen, "could not open secret file \"%s\": %s",
				 path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0)
	{
		snprintf(err, errlen, "could not stat secret file \"%s\": %s",
				 path, strerror(errno));
		close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode))
	{
		snprintf(err, errlen, "secret file \"%s\" is not a regular file", path);
		close(fd);
		return false;
	}
	/* Same rule as PostgreSQL's ssl_key_file check. */
	if ((st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO))) ||
		(st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO))))
	{
		snprintf(err, errlen,
				 "secret file \"%s\" has group or world access; "
				 "it must be mode 0600 or less if owned by this user, "
				 "or 0640 or less if owned by root", path);
		close(fd);
		return false;
	}
	while (total < sizeof(buf))
	{
		n = read(fd, buf + total, sizeof(buf) - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			snprintf(err, errlen, "could not read secret file \"%s\": %s",
					 path, strerror(errno));
			close(fd);
			return false;
		}
		if (n == 0)
			break;
		total += (size_t) n;
	}
	close(fd);

	if (total > 0 && buf[total - 1] == '\n')
		total--;
	if (total > 0 && buf[total - 1] == '\r')
		total--;
	if (total < RB_SECRET_MIN_LEN || total > RB_SECRET_MAX_LEN)
	{
		snprintf(err, errlen,
				 "secret in \"%s\" must be %d to %d bytes long",
				 path, RB_SECRET_MIN_LEN, RB_SECRET_MAX_LEN);
		return false;
	}
	memcpy(secret, buf, total);
	*len = total;
	return true;
}
