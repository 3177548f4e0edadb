//! Stopping with the launcher: main.js runs the binary as its child with a pipe as stdin,
//! whose end tells that the launcher is gone.

use std::path::Path;

use tokio::sync::watch;
use tracing::info;

/// main.js, running the binary as its child, gives it a pipe as stdin that it never writes
/// to: EOF means the launcher is gone (js-controller SIGKILLs it after stopTimeout), so
/// stop. Only for a pipe: a terminal, /dev/null (js-controller's stdin for the process it
/// forks, which is us where main.js execve'd) or a socket say nothing about a launcher.
pub fn watch_stdin(shutdown: watch::Receiver<bool>) {
    if !is_launcher_pipe(Path::new("/proc/self/fd/0")) {
        return;
    }
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        if !*shutdown.borrow() {
            info!("the launcher is gone (stdin closed): stopping");
            // SAFETY: raising SIGTERM on ourselves runs the normal shutdown path.
            unsafe {
                libc::raise(libc::SIGTERM);
            }
        }
    });
}

/// Whether the file behind `fd_link` (a `/proc/self/fd/N` link) is a pipe, the only kind of
/// stdin that tells the launcher's end.
fn is_launcher_pipe(fd_link: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(fd_link)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::path::PathBuf;

    fn fd_link(fd: &impl AsRawFd) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
    }

    /// The launcher's stdin pipe is watched; what js-controller gives the process it forks
    /// (stdin /dev/null, the IPC channel a socket), where main.js execve'd into the binary,
    /// is not: watching it would stop the instance at once (/dev/null reads EOF).
    #[test]
    fn only_a_pipe_on_stdin_means_a_launcher_to_watch() {
        let mut fds = [0; 2];
        // SAFETY: pipe() fills both fds, each then owned by exactly one OwnedFd.
        let (reader, _writer) = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        };
        assert!(is_launcher_pipe(&fd_link(&reader)));

        let null = std::fs::File::open("/dev/null").expect("/dev/null");
        assert!(!is_launcher_pipe(&fd_link(&null)));

        let (socket, _peer) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        assert!(!is_launcher_pipe(&fd_link(&socket)));

        assert!(!is_launcher_pipe(Path::new("/proc/self/fd/987654")));
    }
}
