package emulator

import (
	"os"
	"os/exec"
	"syscall"
)

func setAttrs(cmd *exec.Cmd, group, dieWithParent bool) {
	if !group && !dieWithParent {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = group
	if dieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
}

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
