//go:build unix

package testenv

import (
	"os/exec"
	"syscall"
)

// watchdog starts a watcher in the background and then becomes the server
// (exec keeps the pid, so the test process waits on the server itself). The
// watcher reads the shell's stdin, a pipe whose only writer is the test
// process, until end of file. That happens when the test process exits for any
// reason — also SIGKILL or a test timeout, where no cleanup code runs — and the
// watcher then kills the server and removes its temp folder. It works alike on
// Linux, macOS and the BSDs, unlike Linux's Pdeathsig (which fires when the
// starting thread exits, not the process, and cannot clean up).
const watchdog = `exec 3<&0
(
  while read -r _ <&3; do :; done
  kill -9 $$ 2>/dev/null
  if [ -n "$VSYNC_TESTENV_RM" ]; then sleep 1; rm -rf "$VSYNC_TESTENV_RM"; fi
) </dev/null >/dev/null 2>&1 &
exec "$@" </dev/null 3<&-
`

// startProcess starts cmd under the watchdog, in a process group of its own
// so that kill reaches the watcher and the server at once.
func startProcess(cmd *exec.Cmd, rmDir string) (*process, error) {
	args := append([]string{"-c", watchdog, "vsync-testenv-watchdog", cmd.Path}, cmd.Args[1:]...)
	w := exec.Command("/bin/sh", args...)
	w.Env = append(append([]string{}, cmd.Env...), "VSYNC_TESTENV_RM="+rmDir)
	w.Stdout, w.Stderr = cmd.Stdout, cmd.Stderr
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := w.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	return watch(w, stdin), nil
}

// signalKill reaches the watcher and the server at once (their process group).
func (p *process) signalKill() { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
