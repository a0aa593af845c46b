//go:build unix && !linux

package emulator

import (
	"os"
	"os/exec"
	"syscall"
)

// setAttrs: no Pdeathsig outside Linux.
func setAttrs(cmd *exec.Cmd, group, _ bool) {
	if !group {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
