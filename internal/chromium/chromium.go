//go:build !js

// Package chromium starts Debian's Chromium headless the way every browser
// suite and the benchmark need it: WebGPU on SwiftShader (Vulkan on the CPU,
// no shader-f16), nothing fetched in the background.
package chromium

import (
	"fmt"
	"os"

	"github.com/chromedp/chromedp"
)

// DefaultPath is Debian's chromium; the CHROMIUM environment variable
// overrides it.
const DefaultPath = "/usr/bin/chromium"

// Path is the Chromium to drive, or a one-line error saying how to get one.
func Path() (string, error) {
	exe := DefaultPath
	if p := os.Getenv("CHROMIUM"); p != "" {
		exe = p
	}
	if _, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("chromium was not found at %s (apt-get install chromium, or set CHROMIUM): %w", exe, err)
	}
	return exe, nil
}

// Options are chromedp's defaults with exe, headless, and WebGPU on
// SwiftShader.
func Options(exe string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("enable-unsafe-webgpu", true),
		chromedp.Flag("enable-features", "Vulkan"),
		chromedp.Flag("use-vulkan", "swiftshader"),
		chromedp.Flag("use-webgpu-adapter", "swiftshader"),
	)
}
