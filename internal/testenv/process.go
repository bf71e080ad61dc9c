package testenv

import (
	"io"
	"os/exec"
	"time"
)

// process is a started server; the platform files say how it is started
// (startProcess) and how it is signalled (signalKill).
type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser // unix: the watchdog's pipe; nil elsewhere
	done  chan struct{}
}

// watch waits for cmd in the background; done closes when it has exited.
func watch(cmd *exec.Cmd, stdin io.WriteCloser) *process {
	p := &process{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill stops the server (without removing its data) and waits until it is gone.
func (p *process) kill() {
	p.signalKill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	if p.stdin != nil {
		p.stdin.Close()
	}
}
