// Package supervise runs child processes for the local stack: it prefixes their output line by
// line, restarts a process that exits with a growing backoff, and on shutdown sends SIGTERM to
// every process and SIGKILL to those still running after a timeout.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Spec describes one supervised process.
type Spec struct {
	// Name prefixes the process's output and names it in logs.
	Name string
	// Path of the executable, and its arguments (without argv[0]).
	Path string
	Args []string
	// Env is the complete environment; nil inherits the supervisor's.
	Env []string
}

// Options tune the supervisor; zero values take the defaults.
type Options struct {
	// ShutdownTimeout is how long processes get between SIGTERM and SIGKILL; default 20 s.
	ShutdownTimeout time.Duration
	// MinBackoff is the first restart delay (default 200 ms); it doubles after each restart up to
	// MaxBackoff (default 5 s), and is back at MinBackoff once a process has run for ResetAfter
	// (default 30 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	ResetAfter time.Duration
}

func (o *Options) setDefaults() {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.ResetAfter <= 0 {
		o.ResetAfter = 30 * time.Second
	}
}

// waitDelay bounds how long Wait keeps reading a process's output after it has exited, in case
// a grandchild inherited the pipes.
const waitDelay = 2 * time.Second

// Supervisor runs a set of processes until its context is done.
type Supervisor struct {
	out  *Output
	log  *zap.Logger
	opts Options
	wg   sync.WaitGroup
}

// New returns a supervisor writing process output to out.
func New(out *Output, log *zap.Logger, opts Options) *Supervisor {
	opts.setDefaults()
	return &Supervisor{out: out, log: log, opts: opts}
}

// Start starts every process once. If one cannot be started, those already started are stopped
// and the error is returned. Otherwise each process is restarted whenever it exits, until ctx is
// done; then all are stopped (SIGTERM, then SIGKILL after the shutdown timeout). Wait returns
// when that is finished.
func (s *Supervisor) Start(ctx context.Context, specs ...Spec) error {
	started := make([]*process, 0, len(specs))
	for _, spec := range specs {
		p, err := s.start(spec)
		if err != nil {
			var wg sync.WaitGroup
			for i, p := range started {
				wg.Go(func() { s.stop(specs[i], p) })
			}
			wg.Wait()
			return fmt.Errorf("start %s: %w", spec.Name, err)
		}
		started = append(started, p)
	}
	for i, p := range started {
		s.wg.Go(func() { s.supervise(ctx, specs[i], p) })
	}
	return nil
}

// Wait blocks until every process has been stopped after the context given to Start is done.
func (s *Supervisor) Wait() { s.wg.Wait() }

// process is one running instance of a Spec.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed once the process has exited and its output is flushed
	err     error         // from cmd.Wait; read only after done is closed
}

func (s *Supervisor) start(spec Spec) (*process, error) {
	stdout, stderr := s.out.Writer(spec.Name), s.out.Writer(spec.Name)
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		stdout.Flush()
		stderr.Flush()
		close(p.done)
	}()
	s.log.Debug("service started", zap.String("service", spec.Name), zap.Int("pid", cmd.Process.Pid))
	return p, nil
}

// supervise restarts the process whenever it exits, until ctx is done, then stops it.
func (s *Supervisor) supervise(ctx context.Context, spec Spec, p *process) {
	log := s.log.With(zap.String("service", spec.Name))
	backoff := s.opts.MinBackoff
	for {
		select {
		case <-ctx.Done():
			s.stop(spec, p)
			return
		case <-p.done:
		}

		uptime := time.Since(p.started)
		if uptime >= s.opts.ResetAfter {
			backoff = s.opts.MinBackoff
		}
		log.Warn("service exited; restarting",
			zap.String("exit", exitString(p.err)),
			zap.Duration("uptime", uptime.Round(time.Millisecond)),
			zap.Duration("backoff", backoff))

		for {
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, s.opts.MaxBackoff)
			next, err := s.start(spec)
			if err == nil {
				p = next
				log.Info("service restarted", zap.Int("pid", p.cmd.Process.Pid))
				break
			}
			log.Error("restart service", zap.Error(err), zap.Duration("backoff", backoff))
		}
	}
}

// stop sends SIGTERM and, if the process is still running after the shutdown timeout, SIGKILL.
// Signals go to the process group, which the process leads, so helpers it started stop too.
func (s *Supervisor) stop(spec Spec, p *process) {
	log := s.log.With(zap.String("service", spec.Name))
	signalGroup(p, syscall.SIGTERM)
	t := time.NewTimer(s.opts.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		log.Info("service stopped", zap.String("exit", exitString(p.err)))
	case <-t.C:
		log.Warn("service did not stop in time; killing", zap.Duration("timeout", s.opts.ShutdownTimeout))
		signalGroup(p, syscall.SIGKILL)
		<-p.done
		log.Info("service killed", zap.String("exit", exitString(p.err)))
	}
}

// signalGroup signals the process group led by p unless p has already been reaped (its pid, and
// so its group id, could then belong to someone else).
func signalGroup(p *process, sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = p.cmd.Process.Signal(sig) // not a group leader after all
	}
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	return err.Error()
}

// sleep waits for d or until ctx is done, and reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
