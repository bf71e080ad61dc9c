//go:build !unix && !windows

package testenv

import "os/exec"

func startProcess(cmd *exec.Cmd, rmDir string) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return watch(cmd, nil), nil
}

func (p *process) signalKill() { p.cmd.Process.Kill() }
