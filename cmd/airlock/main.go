// Command airlock runs AI coding agents and the commands they emit inside a
// sandbox. See README.md and docs/ARCHITECTURE.md.
package main

import (
	"os"

	"github.com/airlock-sandbox/airlock/internal/cli"
	"github.com/airlock-sandbox/airlock/internal/doctor"
	"github.com/airlock-sandbox/airlock/internal/reexec"
	"github.com/airlock-sandbox/airlock/internal/sandbox"
)

func main() {
	// Internal entry points (the sandbox init, doctor probes) are selected
	// by argv[0] and run before any flag parsing.
	reexec.Register(sandbox.InitName, sandbox.RunInit)
	doctor.Register()
	if reexec.Dispatch() {
		return
	}
	app := &cli.App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}
	os.Exit(app.Main(os.Args[1:]))
}
