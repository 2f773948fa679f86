// Command app is the browser program of the user interface (web/app.wasm,
// built with GOOS=js GOARCH=wasm by `make web`). It registers the page and
// hands control to go-app; the model runs in web/worker.js, not here.
package main

import (
	"github.com/pocketvlm/smolvlm/app"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	app.Routes()
	goapp.RunWhenOnBrowser()
}
