// Package command is the convoy command tree: each subcommand parses its
// flags (every one also read from a CONVOY_* environment variable) and runs
// against the HTTP API through the Go SDK, or, for listen, against
// ingest-service's gRPC API.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// env reads an environment variable (os.Getenv).
type env func(string) string

// io is where a command writes.
type streams struct {
	out, err io.Writer
	getenv   env
}

// cmd is one subcommand.
type cmd struct {
	name    string
	summary string
	run     func(ctx context.Context, s streams, args []string) error
}

// commands are the command tree's leaves, by their full name.
func commands() []cmd {
	return []cmd{
		{"listen", "forward an endpoint's deliveries to a local URL", runListen},
		{"events send", "create an event", runEventsSend},
		{"deliveries list", "list deliveries", runDeliveriesList},
		{"deliveries retry", "retry deliveries by id", runDeliveriesRetry},
		{"endpoints list", "list an application's endpoints", runEndpointsList},
		{"endpoints create", "create an endpoint", runEndpointsCreate},
	}
}

// errUsage means the usage was printed; the exit code is 2.
var errUsage = errors.New("usage")

// Main runs the command named by args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	s := streams{out: stdout, err: stderr, getenv: getenv}
	c, rest, ok := find(args)
	if !ok {
		usage(stderr, args)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	err := c.run(ctx, s, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "convoy %s: %v\n", c.name, err)
		return 1
	}
}

// find matches the longest command name at the start of args.
func find(args []string) (cmd, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return cmd{}, nil, false
}

// usage lists the commands under what was typed (all of them for nothing).
func usage(w io.Writer, args []string) {
	prefix := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "help" {
		prefix = args[0]
	}
	fmt.Fprintln(w, "Usage: convoy <command> [flags]   (convoy <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	var lines []string
	for _, c := range commands() {
		if prefix == "" || strings.HasPrefix(c.name, prefix+" ") || c.name == prefix {
			lines = append(lines, fmt.Sprintf("  %-18s %s", c.name, c.summary))
		}
	}
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	fmt.Fprintln(w, "\nEvery flag can also be set by its environment variable, shown in each command's --help.")
}

// flags is a command's flag set with CONVOY_* fallbacks: a flag not given
// on the command line takes its environment variable.
type flags struct {
	*flag.FlagSet
	s     streams
	envOf map[string]string
}

func newFlags(s streams, name, synopsis string) *flags {
	fs := flag.NewFlagSet("convoy "+name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	f := &flags{FlagSet: fs, s: s, envOf: map[string]string{}}
	fs.Usage = func() {
		fmt.Fprintf(s.err, "Usage: convoy %s\n\n", synopsis)
		fs.VisitAll(func(fl *flag.Flag) {
			envName := ""
			if e := f.envOf[fl.Name]; e != "" {
				envName = " [$" + e + "]"
			}
			def := ""
			if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0" {
				def = fmt.Sprintf(" (default %q)", fl.DefValue)
			}
			fmt.Fprintf(s.err, "  --%s%s%s\n      %s\n", fl.Name, envName, def, fl.Usage)
		})
	}
	return f
}

// str declares a string flag read from envName when not given.
func (f *flags) str(name, envName, def, usage string) *string {
	p := f.String(name, def, usage)
	if envName != "" {
		f.envOf[name] = envName
	}
	return p
}

// parse parses args, then fills unset flags from the environment.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name, envName := range f.envOf {
		if v := f.s.getenv(envName); v != "" && !set[name] {
			if err := f.Set(name, v); err != nil {
				return fmt.Errorf("$%s: %w", envName, err)
			}
		}
	}
	return nil
}

// required reports the first empty one of the named flags.
func (f *flags) required(names ...string) error {
	for _, n := range names {
		if f.Lookup(n).Value.String() == "" {
			hint := ""
			if e := f.envOf[n]; e != "" {
				hint = " (or $" + e + ")"
			}
			return fmt.Errorf("--%s%s is required", n, hint)
		}
	}
	return nil
}
