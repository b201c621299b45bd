#ifndef CNETFILTER_H
#define CNETFILTER_H

#include <stddef.h>

/// Runs an nftables script (nft's own syntax, as `nft -f` reads it) in this
/// process, with libnftables, as one transaction: all of it or none. Returns
/// 0, or -1 with nft's error text in `message`. Calls are serialized: the
/// library keeps state of its own between a context's calls.
int hops_nft_run(const char *script, char *message, size_t message_size);

#endif
