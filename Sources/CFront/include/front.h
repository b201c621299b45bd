// The `hops` front: the common `hops run` (no terminal, a daemon already
// running), done in C so that it starts in a third of a millisecond. It reads
// a plain subset of `run`'s flags the way ArgumentParser does (the unit tests
// hold the two to the same result), sends the flags as given to the daemon's
// direct-run socket with this process's stdin, stdout and stderr, and waits
// for the command's exit. Anything else (help, -t, -d, --image, --verbose, an
// unknown or repeated flag, no `--`, a terminal, no daemon yet) is handed,
// whole, to the full command line, `hops-cli`.
#ifndef HOPS_FRONT_H
#define HOPS_FRONT_H

#include <stddef.h>

/// Texts given more than once (-e, --allow-net, -p), in order. They point
/// into the command line; only the array is the parse's own.
struct hops_texts {
  const char **items;
  size_t count;
};

/// A `hops run` command line as the front reads it. Texts point into argv;
/// NULL means not given.
struct hops_quick_run {
  const char *profile, *policy_file, *rootfs, *network, *cpus, *cpuset, *memory, *timeout;
  const char *workspace_mode, *working_directory, *hostname, *name;
  /// The workspace (PATH), or NULL for the current directory.
  const char *path;
  int has_max_processes;
  long max_processes;
  struct hops_texts environment, allow_net, publish;
  /// What follows `--`: at least one word.
  char *const *command;
  size_t command_count;
  int keep, interactive, no_interactive, no_auto_start;
};

/// Reads `arguments` (without the program's name). 1 when it is such a run
/// (`run` is then filled in; free it with hops_quick_run_free), 0 when it must
/// be handed to hops-cli, -1 when out of memory.
int hops_quick_run_parse(int count, char *const *arguments, struct hops_quick_run *run);
void hops_quick_run_free(struct hops_quick_run *run);

/// The first frame's JSON (DirectRunInput.request): the flags as given, the
/// workspace resolved here, TERM, the policy file read here. NULL once said
/// on stderr why not (no such workspace, an unreadable policy file). The
/// caller frees it.
char *hops_quick_run_request(const struct hops_quick_run *run, size_t *length);

/// Runs it: 1 with the exit code in `code` (the command's, or 125 when Hops
/// failed, said on stderr), or 0 when it cannot go direct after all (a
/// terminal, a stream that cannot be passed, no daemon yet) and hops-cli must
/// take it.
int hops_quick_run_start(const struct hops_quick_run *run, int *code);

#endif
