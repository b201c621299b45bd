#ifndef CHOPS_H
#define CHOPS_H

#include <stddef.h>
#include <sys/types.h>
/* Not in Swift's Glibc module: cgroups' owner mark (SandboxCgroup). */
#include <sys/xattr.h>

/// Starts `path` in a new process created with clone(2) and the given namespace
/// flags (0 for a plain fork). In the child, `fds[i]` becomes descriptor i for every
/// i < nfds and every other descriptor is closed; the signal mask and all signal
/// dispositions are reset; the child changes to `cwd` (when not NULL) and, when
/// `new_session` is set, starts a new session. Only async-signal-safe calls run
/// between clone and execve, so this is safe from a multithreaded process.
///
/// Returns the child's pid, or -1 with `*err` set to the errno of the step that
/// failed (clone in the parent, or anything up to execve in the child).
pid_t hops_spawn(const char *path, char *const argv[], char *const envp[],
                 const int *fds, int nfds, int clone_flags, const char *cwd,
                 int new_session, int *err);

/// hops_spawn, and when `controlling_tty` is set, the child (after setsid) makes
/// its fd 0, a terminal, its controlling terminal (TIOCSCTTY); when `uid` is not
/// -1, the child takes that user and group (setgroups, setgid, setuid) before
/// chdir and execve; when `filter` is not NULL, the child installs it as its
/// seccomp filter (a BPF program of `filter_length` bytes) just before execve.
/// The child first writes "0" to each of the `njoin` descriptors `join_fds`
/// (cgroup v1 `tasks` files): it joins those cgroups itself.
pid_t hops_spawn_tty(const char *path, char *const argv[], char *const envp[],
                     const int *fds, int nfds, int clone_flags, const char *cwd,
                     int new_session, int controlling_tty, int uid, int gid,
                     const void *filter, size_t filter_length, const int *join_fds, int njoin, int *err);

/// Detached mounts (the new mount API); each returns a descriptor or -errno.
/// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path`.
int hops_open_tree(const char *path, int recursive);
/// The same, of what the descriptor `fd` names (AT_EMPTY_PATH).
int hops_open_tree_fd(int fd, int recursive);
/// mount_setattr: MOUNT_ATTR_* flags to set and clear, and an idmapping through
/// the user namespace `userns_fd` unless it is -1.
int hops_mount_setattr(int fd, int recursive, unsigned long long set, unsigned long long clear, int userns_fd);
/// fsopen/fsconfig/fsmount of an overlay; the kernel's reason for a refusal in `message`.
int hops_overlay_mount(const char *lowerdir, const char *upperdir, const char *workdir, unsigned long long attributes,
                       char *message, size_t message_size);
/// fsopen/fsconfig/fsmount of an empty tmpfs whose root has mode 0700, of at
/// most `size_bytes`.
int hops_tmpfs_mount(unsigned long long attributes, unsigned long long size_bytes);
/// A new size for the tmpfs whose mount `mount_fd` is (fspick, reconfigure).
int hops_tmpfs_resize(int mount_fd, unsigned long long size_bytes);
/// move_mount of a detached mount onto `to_path` relative to `to_dirfd` (or onto
/// `to_dirfd` itself when `to_path` is empty).
int hops_move_mount(int from_fd, int to_dirfd, const char *to_path);

/// The MOUNT_ATTR_* values, for Swift.
#define HOPS_MOUNT_ATTR_RDONLY 0x00000001ULL
#define HOPS_MOUNT_ATTR_NOSUID 0x00000002ULL
#define HOPS_MOUNT_ATTR_NODEV 0x00000004ULL
#define HOPS_MOUNT_ATTR_NOEXEC 0x00000008ULL

/// hops_spawn into a new user namespace (CLONE_NEWUSER added to `clone_flags`,
/// whose other namespaces it then owns): the parent writes `uid_map` and
/// `gid_map` ("0 100000 65536\n"), and only then does the child become root of
/// its namespace (setresuid/setresgid 0) and execve, so it starts with every
/// capability in its namespace and none outside it.
/// It joins the cgroups of `join_fds` as hops_spawn_tty's child does.
pid_t hops_spawn_userns(const char *path, char *const argv[], char *const envp[],
                        const int *fds, int nfds, int clone_flags, int new_session,
                        const char *uid_map, const char *gid_map, const int *join_fds, int njoin, int *err);

/// The hops-init zygote (see HopsInit's Zygote and HopsRuntime's InitZygote).
/// A SOCK_SEQPACKET pair (close-on-exec) for the daemon and the zygote.
int hops_zygote_channel(int fds[2]);
/// In the zygote: serves requests on `channel` until it closes. Returns 0 in
/// each child (set up as a spawned hops-init is before its execve, and named
/// hops-init), or -errno in the zygote when the channel ends or breaks.
/// `minimal_mounts`: first into a mount namespace of its own with only /,
/// /proc, /dev and /sys (with user namespaces; see zygote.c). `huge_code`:
/// first its code onto huge pages (hops_code_on_huge_pages).
int hops_zygote_serve(int channel, int minimal_mounts, int huge_code);

/* Moves the 2 MiB-aligned part of the executable's code onto anonymous huge
   pages at the same address (copied, then mremap'd over the original).
   Best effort: 1 if moved; 0 where huge pages cannot be had (THP disabled,
   memory too fragmented) or executable anonymous memory is refused (SELinux's
   execmem, systemd's MemoryDenyWriteExecute), the code then left as it was.
   (Should mremap itself fail once the kernel has unmapped the original, a
   rare ENOMEM, the process dies: the zygote's daemon then spawns each
   hops-init.) A profiler names functions only in a file's mappings, and a
   uprobe placed on the code before the move would trap in the copy. */
int hops_code_on_huge_pages(void);
/* Gives each read-only mapping of the executable one private page, so that
   fork copies its page-table entries to children (see code_pages.c). Best
   effort; ends the process if it cannot make a mapping read-only again. */
void hops_share_code_with_children(void);
/// In the daemon, two steps: `hops_zygote_request` asks the zygote for a child
/// with `clone_flags` (plus CLONE_NEWUSER when `with_user_namespace`), `fds`
/// as its 0..nfds-1 and the cgroups of `join_fds` joined, and returns its pid
/// (the daemon is its parent) or -1 with `*err` (EPIPE: the zygote is gone).
/// Requests on one channel must not overlap; the second step need not be
/// serialized: `hops_zygote_finish` writes the uid and gid maps (as
/// hops_spawn_userns does), lets the child go on and waits for its set-up.
/// Returns 0, or -errno (the child is then killed and reaped).
struct hops_zygote_pending {
  int report;
  int sync;
};
pid_t hops_zygote_request(int channel, const int *fds, int nfds, const int *join_fds, int njoin, int clone_flags,
                          int new_session, int with_user_namespace, struct hops_zygote_pending *pending, int *err);
int hops_zygote_finish(pid_t pid, const char *uid_map, const char *gid_map, struct hops_zygote_pending *pending);

/// setfsuid/setfsgid for the calling thread only: its file system operations
/// then act as (and create files owned by) that user.
void hops_set_filesystem_ids(unsigned uid, unsigned gid);

/// pivot_root(2), which glibc does not wrap.
int hops_pivot_root(const char *new_root, const char *put_old);

/// Reduces the calling process to the capabilities in `keep` (numbers as in
/// linux/capability.h): drops all others from the bounding set, clears the ambient
/// set, and sets effective, permitted and inheritable to `keep`.
/// Returns 0, or -errno.
int hops_limit_capabilities(const int *keep, int nkeep);

/// close_range(2) for every descriptor >= first.
int hops_close_from(int first);

#endif

/// openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved as
/// if `root_fd` were "/", so no symlink or ".." can lead outside it.
/// Returns a descriptor, or -1 with errno set.
int hops_open_in_root(int root_fd, const char *path, int flags, unsigned mode);

/// openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: `path` must stay below
/// `dir_fd` and no component may be a symlink. Returns the fd, or -1 and errno.
int hops_open_beneath(int dir_fd, const char *path, int flags, unsigned mode);

/// openat2 of a host path with RESOLVE_NO_SYMLINKS: fails with ELOOP if any
/// component is a symlink. Returns the fd, or -1 and errno.
int hops_open_no_symlinks(const char *path, int flags);

/// fstatfs's f_type (the filesystem's magic number), or -errno.
long hops_filesystem_type(int fd);

/* Removes a directory tree (or a file), depth first, without following
   symlinks or crossing mounts; 0, or -errno. */
int hops_remove_tree(const char *path);

/// Namespace flags of clone(2); the Glibc module Swift sees hides them (they
/// need _GNU_SOURCE).
enum {
  HOPS_CLONE_NEWNS = 0x00020000,
  HOPS_CLONE_NEWCGROUP = 0x02000000,
  HOPS_CLONE_NEWUTS = 0x04000000,
  HOPS_CLONE_NEWIPC = 0x08000000,
  HOPS_CLONE_NEWUSER = 0x10000000,
  HOPS_CLONE_NEWPID = 0x20000000,
  HOPS_CLONE_NEWNET = 0x40000000,
};

/// pipe2(fds, O_CLOEXEC), also hidden behind _GNU_SOURCE.
int hops_pipe_cloexec(int fds[2]);

/// O_PATH (also behind _GNU_SOURCE): a descriptor that names a file without opening it.
enum { HOPS_O_PATH = 010000000 };

/// Blocks every signal and returns a close-on-exec signalfd that receives them,
/// or -1 with errno set.
int hops_signalfd_all(void);

/// prctl(PR_SET_NO_NEW_PRIVS, 1): execve can never grant more privileges.
int hops_set_no_new_privs(void);

/// prctl(PR_SET_DUMPABLE, value).
int hops_set_dumpable(int value);
/* prctl(PR_SET_NAME): the process name ps and /proc/<pid>/stat show. */
int hops_set_name(const char *name);
/* sched_setscheduler: SCHED_IDLE (runs only on otherwise idle CPUs), or back to
   SCHED_OTHER with a nice value, for a thread or process (0: the calling
   thread); hops_nice_self sets the calling thread's nice value. */
int hops_schedule_idle(int pid);
int hops_schedule_normal(int pid, int nice);
int hops_nice_self(int nice);
int hops_process_nice(void);

/// Blocks until `pid` has exited but leaves it unreaped (waitid WNOWAIT), so its
/// pid cannot be reused while we still might signal it. Returns 0 or -1.
int hops_wait_exited_keep(pid_t pid);

/// Sets the `lo` interface up in the caller's network namespace. Returns 0 or -errno.
int hops_loopback_up(void);

/// unshare(2) (hidden behind _GNU_SOURCE).
int hops_unshare(int flags);

/// Configures `name` in the caller's network namespace: IPv4 address and prefix,
/// up, and (when gateway is non-zero) a default route through `gateway`.
/// Addresses are in host byte order. Returns 0 or -errno.
int hops_configure_interface(const char *name, unsigned address, int prefix, unsigned gateway);

/// Opens a new pseudo-terminal from /dev/ptmx (the caller's devpts instance),
/// unlocks it, opens its peer (TIOCGPTPEER) and sets its size.
/// Returns 0 with both descriptors (close-on-exec) set, or -errno.
int hops_open_pty(int *master, int *slave, unsigned short rows, unsigned short cols);

/// TIOCSWINSZ / TIOCGWINSZ. Return 0 or -errno.
int hops_set_window_size(int fd, unsigned short rows, unsigned short cols);
int hops_get_window_size(int fd, unsigned short *rows, unsigned short *cols);

/// Sends `length` bytes with `count` descriptors (SCM_RIGHTS, at most
/// HOPS_MAX_PASSED_FDS) over a Unix socket. Returns bytes sent or -errno.
#define HOPS_MAX_PASSED_FDS 32
int hops_send_with_fds(int socket, const void *bytes, int length, const int *fds, int count);
/* accept4(SOCK_CLOEXEC): a connection never leaks into a process we start. */
int hops_accept_cloexec(int listener);

/// Receives up to `length` bytes; passed descriptors (close-on-exec) go to
/// `fds` (room for HOPS_MAX_PASSED_FDS) and their number to `*count`.
/// Returns the byte count, 0 at end of stream, or -errno.
int hops_receive_with_fds(int socket, void *bytes, int length, int *fds, int *count);

/// Raw mode on a terminal (cfmakeraw); the previous settings go to `saved`
/// (an opaque buffer of at least 128 bytes) for hops_restore_terminal.
int hops_make_raw(int fd, void *saved);
int hops_restore_terminal(int fd, const void *saved);

/// Blocks `signals` and returns a signalfd that delivers them instead, or -1.
int hops_signalfd_of(const int *signals, int count);

/// fsetxattr on a directory opened without following symlinks (overlayfs's
/// opaque marker). Returns 0 or -errno.
int hops_set_opaque(int directory_fd);
