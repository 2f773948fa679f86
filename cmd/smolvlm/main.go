// Command smolvlm runs SmolVLM from the command line: preprocess shows what the
// model would read, caption answers a question about a picture on the native
// onnxruntime engine.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
)

const usage = `usage: smolvlm <command> [flags]

commands:
  preprocess  print the prompt token ids and image tiles the model would read
  caption     answer a question about a picture (native onnxruntime engine)
  serve       serve the browser app and the model files
  download    fetch SmolVLM-256M-Instruct from the Hub, checked against pinned hashes

Run "smolvlm <command> -h" for a command's flags.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsageShown) {
			fmt.Fprintln(os.Stderr, "smolvlm:", err)
		}
		os.Exit(1)
	}
}

// errUsageShown means the flag package already printed the problem.
var errUsageShown = errors.New("usage shown")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	// A bug must still end in one line, not a stack trace, for users.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsageShown
	}
	switch args[0] {
	case "preprocess":
		return runPreprocess(args[1:], stdout, stderr)
	case "caption":
		return runCaption(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "download":
		return runDownload(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
