#ifndef CHOSTNETWORK_H
#define CHOSTNETWORK_H

#include <stddef.h>

// The host side of a sandbox's network, from the daemon only: its link over
// rtnetlink and its rules with libnftables, both in the daemon's own process.

/// Creates a veth pair: `host_name` in the caller's network namespace, a port
/// of `bridge` marked isolated and up, and its peer `peer_name` in the network
/// namespace of process `peer_pid` (down). Returns 0, or -errno with what
/// failed (and the kernel's own explanation, when it gives one) in `message`.
/// A failure after the pair exists leaves it: the caller deletes `host_name`.
int hops_veth_create(const char *host_name, const char *peer_name, int peer_pid, const char *bridge, char *message,
                     size_t message_size);

/// Deletes the link `name` (a veth takes its peer with it). Returns 0 or -errno.
int hops_link_delete(const char *name);

/// Whether libnftables can be loaded (it is opened on first use, so a host
/// without it runs every sandbox but the networked ones). On failure,
/// `message` says why.
int hops_nft_available(char *message, size_t message_size);

/// Runs an nftables script (nft's own syntax, as `nft -f` reads it) in this
/// process, as one transaction: all of it or none. Returns 0, or -1 with
/// nft's error text in `message`. Calls are serialized: libnftables keeps
/// process-wide state (its netlink cache, its parser's tables).
int hops_nft_run(const char *script, char *message, size_t message_size);

#endif
