/*-------------------------------------------------------------------------
 *
 * rbufd_fuzz.h
 *	  Constants shared by the rbufd protocol fuzzer and its seed corpus
 *	  generator, so that seeds can carry a valid AUTH and real lease ids.
 *
 * Input format: two mode bytes, then the byte stream a client would send.
 * First mode byte:
 *	bit 0		server requires authentication
 *	bits 1-3	how the stream is cut into reads (see chunk_size())
 *	bits 4-5	how far the lease clock jumps after each read
 *	bit 6		slow reader: the client takes little output at a time
 *	bit 7		reads alternate between two connections
 * Second mode byte:
 *	bit 0		the connections are over --max-clients
 *	bit 1		--max-leases-per-client 1 instead of 8
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBUFD_FUZZ_H
#define RBUFD_FUZZ_H

#define FUZZ_SECRET			"fuzz-secret-0123456789abcdef"
#define FUZZ_SERVER_NONCE	0x5a	/* every byte; proto.c fixed_nonce */
#define FUZZ_CLIENT_NONCE	0x11
#define FUZZ_OWNER			"fuzzer"
#define FUZZ_MEMORY			(256 * 1024)
#define FUZZ_GRANULARITY	4096
#define FUZZ_FIRST_LEASE	((1ull << 32) | 1)	/* deterministic id prefix 1 */

#define FUZZ_MODE_AUTH		0x01
#define FUZZ_MODE_SLOW		0x40
#define FUZZ_MODE_TWO_CONNS 0x80
#define FUZZ_MODE2_OVER_LIMIT 0x01
#define FUZZ_MODE2_ONE_LEASE 0x02

#endif							/* RBUFD_FUZZ_H */
