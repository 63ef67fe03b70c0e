/* SPDX-License-Identifier: MIT */
/*
 * tcp_tail.h - the last bytes of a stream whose QUIC connection is gone.
 *
 * A connection can end while one of its streams still holds bytes for its
 * TCP socket: the peer sent everything and its FIN, the local reader is slow,
 * then the agent stops or the edge goes away. Those bytes were accepted;
 * resetting the socket would lose them. The stream hands its socket and its
 * bytes to a tail, which writes them, shuts the write side, reads and drops
 * what the reader still sends, and closes once the reader closes or every
 * byte is acknowledged. A tail whose reader is silent (see tcp_peer_silent)
 * at two sweeps in a row is reset, as a live stream would be; so is one
 * whose reader answers but takes nothing for two peer timeouts (nobody waits
 * on a tail: a live stream's paused reader may pause as long as it likes,
 * a tail's would hold its bytes and its socket forever).
 */
#ifndef BEAM_TCP_TAIL_H
#define BEAM_TCP_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tcp_tails;

struct tcp_tails_stats {
	uint64_t open;	    /* tails alive now */
	uint64_t bytes;	    /* bytes they still hold */
	uint64_t completed; /* every byte written, the write side shut, the reader done */
	uint64_t reset;	    /* reader failed or went silent */
};

int tcp_tails_new(struct tcp_tails **out, struct event_base *base);
/* Resets the tails that still hold bytes; the others close cleanly. */
void tcp_tails_free(struct tcp_tails *ts);

/*
 * Take socket @fd and @len bytes for it, which the caller copies to *@buf
 * before the event loop runs again; @shut: its write side is shut already
 * (@len is then 0). 0, or -errno with @fd still the caller's.
 */
int tcp_tail_adopt(struct tcp_tails *ts, int fd, size_t len, bool shut, uint8_t **buf);

/* One sweep (see the file comment); @timeout_ms as tcp_peer_silent's. */
void tcp_tails_sweep(struct tcp_tails *ts, uint32_t timeout_ms);

void tcp_tails_stats(const struct tcp_tails *ts, struct tcp_tails_stats *out);

/*
 * Whether the TCP peer of @fd went silent: the kernel has been probing it
 * (zero window probes) or sending again (retransmission timeouts) and nothing
 * was acknowledged for @timeout_ms. A peer that only stopped reading answers
 * each window probe, which takes tcpi_probes back to 0 however long it
 * pauses. TCP_USER_TIMEOUT cannot tell the two apart: Linux aborts a
 * connection whose window stays closed that long even when every probe is
 * answered. *@acked: nothing written is unacknowledged.
 */
bool tcp_peer_silent(int fd, uint32_t timeout_ms, bool *acked);

#endif
