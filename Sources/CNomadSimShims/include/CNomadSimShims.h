#ifndef CNOMADSIMSHIMS_H
#define CNOMADSIMSHIMS_H

/// Process primitives the Nomad simulator's executor needs and Foundation's `Process` lacks:
/// a new session (so signals reach the whole task tree), a controlling pty, the task user,
/// and a report of exec failures with their errno.

/// Starts `path` with `argv`/`envp` in `cwd`, in a new session (pid == process group id).
/// `stdin_fd`/`stdout_fd`/`stderr_fd` become fds 0/1/2 (-1 means /dev/null). When `pty_master`
/// is non-NULL a pty of `rows` x `cols` is created instead, becomes the controlling terminal and
/// fds 0/1/2, and its master is returned there. `uid`/`gid` < 0 keep the current user.
/// The child is SIGKILLed when the calling thread (or the whole process) ends, so a simulator that
/// dies without shutting down leaves no task behind: call it from a thread that lives as long as
/// the process.
/// Returns the pid, or -1 with `*spawn_errno` set (the exec or setup failure, e.g. ENOENT).
int nsim_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int stdin_fd, int stdout_fd, int stderr_fd, int uid, int gid,
               int *pty_master, unsigned short rows, unsigned short cols, int *spawn_errno);

/// Waits for `pid` (retrying on EINTR). Sets `*exit_code` and `*signal` (0 when not signalled).
/// Returns 0, or -1 when the child could not be waited for.
int nsim_wait(int pid, int *exit_code, int *signal);

/// Sets the window size of the pty whose master is `master_fd`.
int nsim_set_winsize(int master_fd, unsigned short rows, unsigned short cols);

/// Looks up a user by name; returns 0 and fills uid/gid, or -1 when there is no such user.
int nsim_lookup_user(const char *name, int *uid, int *gid);

/// Starts (once per process) a watchdog process that outlives this one: when this process ends in
/// any way (exit, crash, SIGKILL) the watchdog sees its pipe close and SIGKILLs every process group
/// still tracked, so no task or anything a task started survives the simulator.
/// Returns 0, or -1 with errno set when it could not be started.
int nsim_watchdog_start(void);

/// Tracks (`add` != 0) or forgets the process group `pgid` in the watchdog. No-op without one.
void nsim_watchdog_track(int pgid, int add);

#endif
