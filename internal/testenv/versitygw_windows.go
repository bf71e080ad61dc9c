//go:build windows

package testenv

import (
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows every server joins a job object that kills its processes when
// its last handle closes — when the test process exits for any reason. The
// temp folder may then stay behind.
var (
	jobOnce sync.Once
	job     windows.Handle
)

func killOnExitJob() windows.Handle {
	jobOnce.Do(func() {
		h, err := windows.CreateJobObject(nil, nil)
		if err != nil {
			return
		}
		info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
		if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
			windows.CloseHandle(h)
			return
		}
		job = h
	})
	return job
}

func startProcess(cmd *exec.Cmd, rmDir string) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if j := killOnExitJob(); j != 0 {
		if h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid)); err == nil {
			windows.AssignProcessToJobObject(j, h)
			windows.CloseHandle(h)
		}
	}
	return watch(cmd, nil), nil
}

func (p *process) signalKill() { p.cmd.Process.Kill() }
