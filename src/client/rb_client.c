/*-------------------------------------------------------------------------
 *
 * rb_client.c
 *	  Client library for rbufd, part 2: the operations (ping, leases, page
 *	  READ/WRITE, batched READV/WRITEV, STATS).  Each encodes its request on
 *	  the stack, sends header, fields and caller data in one sendmsg()
 *	  without copying the data, and reads reply data straight into the
 *	  caller's buffers.  Connection set-up and the deadline-bounded I/O
 *	  are in rb_transport.c.
 *
 *-------------------------------------------------------------------------
 */
#include "rb_client_int.h"

#include <stdio.h>
#include <string.h>

rb_error
rb_ping(rb_conn *c, uint32_t *rtt_us)
{
	rb_op		op;
	uint8_t		req[8];
	uint8_t		rep[8];
	int64_t		t0;
	int64_t		us;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if ((rc = rbc_begin(c, &op, RB_OP_PING, "PING")) != RB_OK)
		return rc;
	rb_put_u64(req, op.req_id);
	t0 = rbc_now_ns();
	if ((rc = rbc_simple_call(c, &op, req, sizeof(req), rep, sizeof(rep))) != RB_OK)
		return rc;
	us = (rbc_now_ns() - t0) / 1000;
	if (memcmp(req, rep, sizeof(req)) != 0)
		return rbc_fail(c, RB_E_PROTOCOL, true,
					   "rbufd at %s did not echo the PING payload; "
					   "connection closed", c->server);
	if (rtt_us)
		*rtt_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
	return RB_OK;
}

static rb_error
rb_lease_reply(rb_conn *c, rb_op *op, const uint8_t *req, uint32_t req_len,
			   rb_lease_info *out)
{
	uint8_t		rep[RB_LEASE_INFO_SIZE];
	rb_error	rc;

	if ((rc = rbc_simple_call(c, op, req, req_len, rep, sizeof(rep))) != RB_OK)
		return rc;
	if (out)
		rb_lease_info_decode(rep, out);
	return RB_OK;
}

rb_error
rb_lease_acquire(rb_conn *c, uint64_t bytes, uint64_t min_bytes,
				 uint32_t ttl_ms, rb_lease_info *out)
{
	rb_op		op;
	uint8_t		req[RB_ACQUIRE_REQ_SIZE];
	rb_lease_info li;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if (bytes == 0 || min_bytes > bytes)
		return rbc_fail(c, RB_E_INVALID, false,
					   "invalid lease size: bytes must be positive and "
					   "min_bytes at most bytes");
	if ((rc = rbc_begin(c, &op, RB_OP_LEASE_ACQUIRE, "LEASE_ACQUIRE")) != RB_OK)
		return rc;
	rb_put_u64(req, bytes);
	rb_put_u64(req + 8, min_bytes);
	rb_put_u32(req + 16, ttl_ms);
	rb_put_u32(req + 20, 0);
	if ((rc = rb_lease_reply(c, &op, req, sizeof(req), &li)) != RB_OK)
		return rc;
	if (li.bytes < (min_bytes ? min_bytes : bytes))
		return rbc_protocol_error(c, &op, "granted bytes", li.bytes,
								 min_bytes ? min_bytes : bytes);
	rbc_rdma_note_lease(c, &li);
	if (out)
		*out = li;
	return RB_OK;
}

rb_error
rb_lease_renew(rb_conn *c, uint64_t lease_id, uint32_t ttl_ms,
			   rb_lease_info *out)
{
	rb_op		op;
	uint8_t		req[RB_RENEW_REQ_SIZE];
	rb_lease_info li;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if ((rc = rbc_begin(c, &op, RB_OP_LEASE_RENEW, "LEASE_RENEW")) != RB_OK)
		return rc;
	rb_put_u64(req, lease_id);
	rb_put_u32(req + 8, ttl_ms);
	rb_put_u32(req + 12, 0);
	if ((rc = rb_lease_reply(c, &op, req, sizeof(req), &li)) != RB_OK)
	{
		if (rc == RB_E_NO_LEASE || rc == RB_E_LEASE_EXPIRED)
			rbc_rdma_forget_lease(c, lease_id);
		return rc;
	}
	rbc_rdma_note_lease(c, &li);
	if (out)
		*out = li;
	return RB_OK;
}

rb_error
rb_lease_release(rb_conn *c, uint64_t lease_id)
{
	rb_op		op;
	uint8_t		req[RB_RELEASE_REQ_SIZE];
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if ((rc = rbc_begin(c, &op, RB_OP_LEASE_RELEASE, "LEASE_RELEASE")) != RB_OK)
		return rc;
	rb_put_u64(req, lease_id);
	/* Whatever the answer, the lease is gone or not ours to use. */
	rbc_rdma_forget_lease(c, lease_id);
	return rbc_simple_call(c, &op, req, sizeof(req), NULL, 0);
}

rb_error
rb_lease_list(rb_conn *c, rb_lease_info *out, uint32_t max, uint32_t *count)
{
	rb_op		op;
	uint8_t		hdr[RB_HDR_SIZE];
	uint8_t		buf[64 * RB_LEASE_INFO_SIZE];
	struct iovec iov;
	rb_hdr		h;
	uint32_t	n;
	uint32_t	done = 0;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if (count == NULL || (out == NULL && max > 0))
		return rbc_fail(c, RB_E_INVALID, false,
					   "rb_lease_list needs a count pointer and room for max records");
	*count = 0;
	if ((rc = rbc_begin(c, &op, RB_OP_LEASE_LIST, "LEASE_LIST")) != RB_OK)
		return rc;
	iov.iov_base = hdr;
	iov.iov_len = RB_HDR_SIZE;
	if ((rc = rbc_send_request(c, &op, hdr, 0, &iov, 1)) != RB_OK)
		return rc;
	if ((rc = rbc_recv_reply(c, &op, &h)) != RB_OK)
		return rc;
	if (h.length < 8)
		return rbc_protocol_error(c, &op, "payload length", h.length, 8);
	if ((rc = rbc_recv(c, &op, buf, 8)) != RB_OK)
		return rc;
	n = rb_get_u32(buf);
	if ((uint64_t) h.length != 8 + (uint64_t) n * RB_LEASE_INFO_SIZE)
		return rbc_protocol_error(c, &op, "payload length", h.length,
								 8 + (uint64_t) n * RB_LEASE_INFO_SIZE);
	/* Read in chunks; records beyond max are read and dropped. */
	while (done < n)
	{
		uint32_t	k = n - done;

		if (k > 64)
			k = 64;
		if ((rc = rbc_recv(c, &op, buf, (size_t) k * RB_LEASE_INFO_SIZE)) != RB_OK)
			return rc;
		for (uint32_t i = 0; i < k; i++)
		{
			rb_lease_info li;

			rb_lease_info_decode(buf + i * RB_LEASE_INFO_SIZE, &li);
			rbc_rdma_note_lease(c, &li);
			if (done + i < max)
				out[done + i] = li;
		}
		done += k;
	}
	*count = n < max ? n : max;
	return RB_OK;
}

/* Validate one I/O entry; returns false with errmsg set. */
static bool
rb_check_io(rb_conn *c, const void *buf, uint32_t length, const char *what)
{
	if (buf == NULL || length == 0 || length > RB_MAX_IO)
	{
		rbc_fail(c, RB_E_INVALID, false,
				"invalid %s: the buffer must be non-NULL and the length "
				"1 to %u bytes (got %u)", what, RB_MAX_IO, length);
		return false;
	}
	return true;
}

static rb_error
tcp_read(rb_conn *c, uint64_t lease_id, uint64_t offset, void *buf,
		uint32_t length)
{
	rb_op		op;
	uint8_t		req[RB_HDR_SIZE + RB_IO_REQ_SIZE];
	rb_error	rc;
	struct iovec iov;

	if (c == NULL)
		return RB_E_INVALID;
	if (!rb_check_io(c, buf, length, "READ"))
		return RB_E_INVALID;
	if ((rc = rbc_begin(c, &op, RB_OP_READ, "READ")) != RB_OK)
		return rc;
	rb_put_u64(req + RB_HDR_SIZE, lease_id);
	rb_put_u64(req + RB_HDR_SIZE + 8, offset);
	rb_put_u32(req + RB_HDR_SIZE + 16, length);
	rb_put_u32(req + RB_HDR_SIZE + 20, 0);
	iov.iov_base = req;
	iov.iov_len = sizeof(req);
	if ((rc = rbc_send_request(c, &op, req, RB_IO_REQ_SIZE, &iov, 1)) != RB_OK)
		return rc;
	return rbc_recv_fixed(c, &op, buf, length);
}

static rb_error
tcp_write(rb_conn *c, uint64_t lease_id, uint64_t offset, const void *buf,
		 uint32_t length)
{
	rb_op		op;
	uint8_t		req[RB_HDR_SIZE + RB_IO_REQ_SIZE];
	rb_error	rc;
	struct iovec iov[2];

	if (c == NULL)
		return RB_E_INVALID;
	if (!rb_check_io(c, buf, length, "WRITE"))
		return RB_E_INVALID;
	if ((rc = rbc_begin(c, &op, RB_OP_WRITE, "WRITE")) != RB_OK)
		return rc;
	rb_put_u64(req + RB_HDR_SIZE, lease_id);
	rb_put_u64(req + RB_HDR_SIZE + 8, offset);
	rb_put_u32(req + RB_HDR_SIZE + 16, length);
	rb_put_u32(req + RB_HDR_SIZE + 20, 0);
	iov[0].iov_base = req;
	iov[0].iov_len = sizeof(req);
	iov[1].iov_base = (void *) buf;
	iov[1].iov_len = length;
	if ((rc = rbc_send_request(c, &op, req, RB_IO_REQ_SIZE + length, iov, 2)) != RB_OK)
		return rc;
	return rbc_recv_fixed(c, &op, NULL, 0);
}

/*
 * Check a batch and encode its request (header, count, entries) into req;
 * returns the encoded size, or 0 with errmsg set.
 */
static size_t
rb_encode_batch(rb_conn *c, rb_iov *iov, int n, const char *what,
				uint8_t *req, uint64_t *total)
{
	uint8_t    *p = req + RB_HDR_SIZE;

	*total = 0;
	if (iov == NULL || n < 1 || (uint32_t) n > RB_MAX_BATCH)
	{
		rbc_fail(c, RB_E_INVALID, false,
				"invalid %s: the batch must have 1 to %u entries (got %d)",
				what, RB_MAX_BATCH, n);
		return 0;
	}
	for (int i = 0; i < n; i++)
	{
		if (!rb_check_io(c, iov[i].buf, iov[i].length, what))
			return 0;
		*total += iov[i].length;
	}
	if (*total > RB_MAX_BATCH_BYTES)
	{
		rbc_fail(c, RB_E_INVALID, false,
				"invalid %s: %llu bytes in one batch exceed the limit of %u",
				what, (unsigned long long) *total, RB_MAX_BATCH_BYTES);
		return 0;
	}
	rb_put_u32(p, (uint32_t) n);
	rb_put_u32(p + 4, 0);
	p += RB_IOV_HDR_SIZE;
	for (int i = 0; i < n; i++, p += RB_IOV_ENTRY_SIZE)
	{
		rb_put_u64(p, iov[i].lease_id);
		rb_put_u64(p + 8, iov[i].offset);
		rb_put_u32(p + 16, iov[i].length);
		rb_put_u32(p + 20, 0);
	}
	return (size_t) (p - req);
}

/*
 * Receive the count and per-entry statuses of a READV/WRITEV reply into
 * iov[].status; *data_len gets the bytes of data that follow.
 */
static rb_error
rb_recv_batch_status(rb_conn *c, rb_op *op, rb_iov *iov, int n,
					 bool with_data, uint64_t *data_len)
{
	uint8_t		sb[RB_IOV_HDR_SIZE + 4 * RB_MAX_BATCH];
	size_t		slen = RB_IOV_HDR_SIZE + 4 * (size_t) n;
	rb_hdr		h;
	rb_error	rc;
	int			nfail = 0;
	int			first_fail = -1;
	uint32_t	first_st = 0;

	if ((rc = rbc_recv_reply(c, op, &h)) != RB_OK)
		return rc;
	if (h.length < slen)
		return rbc_protocol_error(c, op, "payload length", h.length, slen);
	if ((rc = rbc_recv(c, op, sb, slen)) != RB_OK)
		return rc;
	if (rb_get_u32(sb) != (uint32_t) n)
		return rbc_protocol_error(c, op, "entry count", rb_get_u32(sb),
								 (uint64_t) n);
	*data_len = 0;
	for (int i = 0; i < n; i++)
	{
		uint32_t	st = rb_get_u32(sb + RB_IOV_HDR_SIZE + 4 * i);
		bool		fatal;

		iov[i].status = rbc_map_status(st, &fatal);
		if (st == RB_ST_OK)
		{
			if (with_data)
				*data_len += iov[i].length;
		}
		else if (nfail++ == 0)
		{
			first_fail = i;
			first_st = st;
		}
	}
	if (h.length != slen + *data_len)
		return rbc_protocol_error(c, op, "payload length", h.length,
								 slen + *data_len);
	if (nfail > 0)
		snprintf(c->errmsg, sizeof(c->errmsg),
				 "rbufd at %s: %d of %d %s entries failed, the first "
				 "(entry %d) with: %s", c->server, nfail, n, op->name,
				 first_fail, rb_status_name(first_st));
	return RB_OK;
}

static void
rb_batch_status(rb_iov *iov, int n, rb_error rc)
{
	if (iov != NULL && n > 0 && (uint32_t) n <= RB_MAX_BATCH)
		for (int i = 0; i < n; i++)
			iov[i].status = rc;
}

static rb_error
tcp_readv(rb_conn *c, rb_iov *iov, int n)
{
	rb_op		op;
	uint8_t		req[RB_HDR_SIZE + RB_IOV_HDR_SIZE + RB_IOV_ENTRY_SIZE * RB_MAX_BATCH];
	struct iovec vec[RB_MAX_BATCH];
	uint64_t	total;
	uint64_t	data_len;
	size_t		len;
	int			nvec = 0;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if ((len = rb_encode_batch(c, iov, n, "READV", req, &total)) == 0)
	{
		rb_batch_status(iov, n, RB_E_INVALID);
		return RB_E_INVALID;
	}
	if ((rc = rbc_begin(c, &op, RB_OP_READV, "READV")) != RB_OK)
		goto done;
	vec[0].iov_base = req;
	vec[0].iov_len = len;
	if ((rc = rbc_send_request(c, &op, req, (uint32_t) (len - RB_HDR_SIZE),
							  vec, 1)) != RB_OK)
		goto done;
	if ((rc = rb_recv_batch_status(c, &op, iov, n, true, &data_len)) != RB_OK)
		goto done;
	/* Data of the successful entries goes straight into their buffers. */
	for (int i = 0; i < n; i++)
	{
		if (iov[i].status != RB_OK)
			continue;
		vec[nvec].iov_base = iov[i].buf;
		vec[nvec].iov_len = iov[i].length;
		nvec++;
	}
	if (nvec > 0 && (rc = rbc_recv_iov(c, &op, vec, nvec, false)) != RB_OK)
		goto done;
	return RB_OK;
done:
	rb_batch_status(iov, n, rc);
	return rc;
}

static rb_error
tcp_writev(rb_conn *c, rb_iov *iov, int n)
{
	rb_op		op;
	uint8_t		req[RB_HDR_SIZE + RB_IOV_HDR_SIZE + RB_IOV_ENTRY_SIZE * RB_MAX_BATCH];
	struct iovec vec[RB_MAX_BATCH + 1];
	uint64_t	total;
	uint64_t	data_len;
	size_t		len;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if ((len = rb_encode_batch(c, iov, n, "WRITEV", req, &total)) == 0)
	{
		rb_batch_status(iov, n, RB_E_INVALID);
		return RB_E_INVALID;
	}
	if ((rc = rbc_begin(c, &op, RB_OP_WRITEV, "WRITEV")) != RB_OK)
		goto done;
	vec[0].iov_base = req;
	vec[0].iov_len = len;
	for (int i = 0; i < n; i++)
	{
		vec[i + 1].iov_base = iov[i].buf;
		vec[i + 1].iov_len = iov[i].length;
	}
	if ((rc = rbc_send_request(c, &op, req,
							  (uint32_t) (len - RB_HDR_SIZE + total),
							  vec, n + 1)) != RB_OK)
		goto done;
	if ((rc = rb_recv_batch_status(c, &op, iov, n, false, &data_len)) != RB_OK)
		goto done;
	return RB_OK;
done:
	rb_batch_status(iov, n, rc);
	return rc;
}

const rb_data_ops rbc_tcp_ops = {
	"tcp", tcp_read, tcp_write, tcp_readv, tcp_writev
};

static const rb_data_ops *
rb_ops(const rb_conn *c)
{
	return c->ops != NULL ? c->ops : &rbc_tcp_ops;
}

rb_error
rb_read(rb_conn *c, uint64_t lease_id, uint64_t offset, void *buf,
		uint32_t length)
{
	if (c == NULL)
		return RB_E_INVALID;
	return rb_ops(c)->read(c, lease_id, offset, buf, length);
}

rb_error
rb_write(rb_conn *c, uint64_t lease_id, uint64_t offset, const void *buf,
		 uint32_t length)
{
	if (c == NULL)
		return RB_E_INVALID;
	return rb_ops(c)->write(c, lease_id, offset, buf, length);
}

rb_error
rb_readv(rb_conn *c, rb_iov *iov, int n)
{
	if (c == NULL)
		return RB_E_INVALID;
	return rb_ops(c)->readv(c, iov, n);
}

rb_error
rb_writev(rb_conn *c, rb_iov *iov, int n)
{
	if (c == NULL)
		return RB_E_INVALID;
	return rb_ops(c)->writev(c, iov, n);
}

/* Copy a NUL-padded wire string of len bytes into dst (len + 1 bytes). */
static void
rb_copy_padded(char *dst, const uint8_t *src, size_t len)
{
	size_t		i;

	for (i = 0; i < len && src[i] != 0; i++)
		dst[i] = (src[i] >= 0x20 && src[i] <= 0x7e) ? (char) src[i] : '?';
	dst[i] = '\0';
}

rb_error
rb_stats_get(rb_conn *c, rb_stats *out,
			 rb_stats_lease *leases, uint32_t max_leases, uint32_t *nleases,
			 rb_stats_client *clients, uint32_t max_clients,
			 uint32_t *nclients)
{
	rb_op		op;
	uint8_t		hdr[RB_HDR_SIZE];
	uint8_t		buf[32 * RB_STATS_CLIENT_REC];
	struct iovec iov;
	rb_hdr		h;
	uint32_t	nl;
	uint32_t	nc;
	uint64_t	want;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	if (leases == NULL)
		max_leases = 0;
	if (clients == NULL)
		max_clients = 0;
	if (nleases)
		*nleases = 0;
	if (nclients)
		*nclients = 0;
	if ((rc = rbc_begin(c, &op, RB_OP_STATS, "STATS")) != RB_OK)
		return rc;
	iov.iov_base = hdr;
	iov.iov_len = RB_HDR_SIZE;
	if ((rc = rbc_send_request(c, &op, hdr, 0, &iov, 1)) != RB_OK)
		return rc;
	if ((rc = rbc_recv_reply(c, &op, &h)) != RB_OK)
		return rc;
	if (h.length < RB_STATS_FIXED_SIZE + 8)
		return rbc_protocol_error(c, &op, "payload length", h.length,
								 RB_STATS_FIXED_SIZE + 8);
	if ((rc = rbc_recv(c, &op, buf, RB_STATS_FIXED_SIZE + 8)) != RB_OK)
		return rc;
	if (out)
		for (int i = 0; i < RB_SF__COUNT; i++)
			out->v[i] = rb_get_u64(buf + 8 * i);
	nl = rb_get_u32(buf + RB_STATS_FIXED_SIZE);
	nc = rb_get_u32(buf + RB_STATS_FIXED_SIZE + 4);
	if (nl > RB_MAX_STATS_LIST)
		return rbc_protocol_error(c, &op, "lease records", nl, RB_MAX_STATS_LIST);
	if (nc > RB_MAX_STATS_LIST)
		return rbc_protocol_error(c, &op, "client records", nc, RB_MAX_STATS_LIST);
	want = RB_STATS_FIXED_SIZE + 8 + (uint64_t) nl * RB_STATS_LEASE_REC +
		(uint64_t) nc * RB_STATS_CLIENT_REC;
	if (h.length != want)
		return rbc_protocol_error(c, &op, "payload length", h.length, want);

	/* Records in chunks through a stack buffer; extras are dropped. */
	for (uint32_t done = 0; done < nl;)
	{
		uint32_t	k = nl - done;

		if (k > sizeof(buf) / RB_STATS_LEASE_REC)
			k = sizeof(buf) / RB_STATS_LEASE_REC;
		if ((rc = rbc_recv(c, &op, buf, (size_t) k * RB_STATS_LEASE_REC)) != RB_OK)
			return rc;
		for (uint32_t i = 0; i < k && done + i < max_leases; i++)
		{
			const uint8_t *p = buf + i * RB_STATS_LEASE_REC;

			rb_lease_info_decode(p, &leases[done + i].info);
			rb_copy_padded(leases[done + i].owner, p + RB_LEASE_INFO_SIZE,
						   RB_MAX_OWNER_LEN);
		}
		done += k;
	}
	for (uint32_t done = 0; done < nc;)
	{
		uint32_t	k = nc - done;

		if (k > sizeof(buf) / RB_STATS_CLIENT_REC)
			k = sizeof(buf) / RB_STATS_CLIENT_REC;
		if ((rc = rbc_recv(c, &op, buf, (size_t) k * RB_STATS_CLIENT_REC)) != RB_OK)
			return rc;
		for (uint32_t i = 0; i < k && done + i < max_clients; i++)
		{
			const uint8_t *p = buf + i * RB_STATS_CLIENT_REC;
			rb_stats_client *cl = &clients[done + i];

			rb_copy_padded(cl->owner, p, 64);
			rb_copy_padded(cl->addr, p + 64, 48);
			cl->connected_ms = rb_get_u64(p + 112);
			cl->ops = rb_get_u64(p + 120);
			cl->authenticated = rb_get_u32(p + 128) != 0;
		}
		done += k;
	}
	if (nleases)
		*nleases = nl < max_leases ? nl : max_leases;
	if (nclients)
		*nclients = nc < max_clients ? nc : max_clients;
	return RB_OK;
}
