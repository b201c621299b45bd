/* What a child between clone and its program does, shared by spawn.c (which
   then calls execve) and zygote.c (which returns into hops-init). Internal to
   CHops. */
#ifndef HOPS_SPAWN_CHILD_H
#define HOPS_SPAWN_CHILD_H

#include <stddef.h>
#include <unistd.h>

struct spawn_args {
  const char *path;
  char *const *argv;
  char *const *envp;
  const int *fds;
  int nfds;
  const char *cwd;
  int new_session;
  int controlling_tty;
  int uid;
  int gid;
  int report_fd; /* write end of a CLOEXEC pipe: receives errno if exec fails */
  const void *filter; /* a seccomp BPF program to install just before execve, or NULL */
  size_t filter_length;
  int sync_fd; /* with a new user namespace: read end of a pipe the parent writes once the maps are set; else -1 */
  const int *join_fds; /* cgroup v1 `tasks` files the child writes "0" to: it joins those cgroups itself */
  int njoin;
};

static inline void report_and_exit(int fd, int error) {
  ssize_t unused = write(fd, &error, sizeof error);
  (void)unused;
  _exit(127);
}

/* Joins the cgroups, takes the uid map (after the parent's sync byte),
   places the descriptors, resets signals, starts a session, takes the user
   and directory asked for. Any failure: errno to the report pipe, _exit(127).
   Returns the report pipe's descriptor (moved above the target range),
   still open. */
int hops_child_setup(struct spawn_args *a);

/* In the parent: writes a child's uid and gid maps, then the byte on
   `sync_fd` (which it closes) that lets the child go on. 0, or -errno
   (-ECHILD when the child is gone). */
int hops_release_child(pid_t pid, const char *uid_map, const char *gid_map, int sync_fd);

#endif
