package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Line icons drawn on a 24×24 grid with currentColor, so they follow the
// text colour and theme. Inline SVG is markup, not script: the page's strict
// Content-Security-Policy allows it.
const (
	iconPicture = `<path d="M4 5h16v14H4z"/><circle cx="9" cy="10" r="1.8"/><path d="m4 17 5-5 4 4 2.5-2.5L20 17"/>`
	iconCamera  = `<path d="M4 8h3l2-2.5h6L17 8h3v11H4z"/><circle cx="12" cy="13" r="3.5"/>`
	iconUpload  = `<path d="M12 16V4m0 0-4.5 4.5M12 4l4.5 4.5"/><path d="M4 15v4h16v-4"/>`
	iconSend    = `<path d="M12 19V5m0 0-6 6m6-6 6 6"/>`
	iconStop    = `<rect x="7" y="7" width="10" height="10" rx="1.5" fill="currentColor"/>`
	iconGear    = `<circle cx="12" cy="12" r="3"/><path d="M12 2.5v3m0 13v3M2.5 12h3m13 0h3M5.3 5.3l2.1 2.1m9.2 9.2 2.1 2.1M5.3 18.7l2.1-2.1m9.2-9.2 2.1-2.1"/>`
	iconClose   = `<path d="M6 6l12 12M18 6 6 18"/>`
	iconPlus    = `<path d="M12 5v14M5 12h14"/>`
	iconTrash   = `<path d="M5 7h14M10 7V4.5h4V7M7 7l1 12.5h8L17 7"/>`
	iconShutter = `<circle cx="12" cy="12" r="8"/><circle cx="12" cy="12" r="5" fill="currentColor"/>`
	iconInfo    = `<circle cx="12" cy="12" r="9"/><path d="M12 11v6M12 7.5v.5"/>`
	iconWarn    = `<path d="M12 3 2.5 20h19z"/><path d="M12 10v5M12 17.5v.5"/>`
	iconSpark   = `<path d="M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8z"/>`
)

// icon renders one of the icons above, hidden from screen readers (the
// control around it carries the label).
func icon(paths string) goapp.UI {
	return goapp.Raw(`<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" ` +
		`stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" ` +
		`aria-hidden="true" focusable="false">` + paths + `</svg>`)
}
