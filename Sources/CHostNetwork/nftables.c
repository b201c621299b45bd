// nftables from inside the daemon, with libnftables (what the `nft` command is
// built on): the same scripts, without starting a process, its loader and its
// own fetch of the rule set for every sandbox (about 3 ms a run of `nft`).
//
// The library is opened on first use, not linked: a host without it (it comes
// with Debian's nftables) still runs every sandbox but the networked ones,
// which are refused naming the package. Its API is five calls, stable since
// nftables 0.9.
#define _GNU_SOURCE
#include "chostnetwork.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct nft_ctx;
#define NFT_CTX_DEFAULT 0

static struct {
  struct nft_ctx *(*new_context)(unsigned flags);
  void (*free_context)(struct nft_ctx *context);
  int (*buffer_output)(struct nft_ctx *context);
  int (*buffer_error)(struct nft_ctx *context);
  const char *(*error_buffer)(struct nft_ctx *context);
  int (*run)(struct nft_ctx *context, const char *buffer);
  char failure[256];
} library;

static pthread_once_t opened = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void open_library(void) {
  void *handle = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    snprintf(library.failure, sizeof library.failure, "libnftables.so.1 cannot be loaded (%s)", dlerror());
    return;
  }
  library.new_context = (struct nft_ctx * (*)(unsigned)) dlsym(handle, "nft_ctx_new");
  library.free_context = (void (*)(struct nft_ctx *))dlsym(handle, "nft_ctx_free");
  library.buffer_output = (int (*)(struct nft_ctx *))dlsym(handle, "nft_ctx_buffer_output");
  library.buffer_error = (int (*)(struct nft_ctx *))dlsym(handle, "nft_ctx_buffer_error");
  library.error_buffer = (const char *(*)(struct nft_ctx *))dlsym(handle, "nft_ctx_get_error_buffer");
  library.run = (int (*)(struct nft_ctx *, const char *))dlsym(handle, "nft_run_cmd_from_buffer");
  if (!library.new_context || !library.free_context || !library.buffer_output || !library.buffer_error ||
      !library.error_buffer || !library.run) {
    snprintf(library.failure, sizeof library.failure, "libnftables.so.1 lacks the calls Hops uses");
    library.run = NULL;
  }
}

int hops_nft_available(char *message, size_t message_size) {
  pthread_once(&opened, open_library);
  if (library.run) return 1;
  snprintf(message, message_size, "%s", library.failure);
  return 0;
}

int hops_nft_run(const char *script, char *message, size_t message_size) {
  if (!hops_nft_available(message, message_size)) return -1;
  pthread_mutex_lock(&lock);
  int result = -1;
  struct nft_ctx *context = library.new_context(NFT_CTX_DEFAULT);
  if (!context) {
    snprintf(message, message_size, "libnftables: cannot make a context");
    goto done;
  }
  // Output and errors are kept, not printed on the daemon's stdout.
  if (library.buffer_output(context) != 0 || library.buffer_error(context) != 0) {
    snprintf(message, message_size, "libnftables: cannot buffer its output");
    goto done;
  }
  if (library.run(context, script) == 0) {
    result = 0;
  } else {
    const char *error = library.error_buffer(context);
    snprintf(message, message_size, "%s", error && *error ? error : "nft failed");
  }
done:
  if (context) library.free_context(context);
  pthread_mutex_unlock(&lock);
  return result;
}
