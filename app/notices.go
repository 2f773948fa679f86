package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// noticeKind sets a notice's look and how urgently it is announced.
type noticeKind int

const (
	noticeInfo noticeKind = iota
	noticeWarn
	noticeError
)

// notice is one page-wide message in plain words.
type notice struct {
	ID          string
	Kind        noticeKind
	Text        string
	Dismissible bool
}

type noticeListProps struct {
	Notices   []notice
	OnDismiss func(ctx goapp.Context, id string)
}

// noticeList shows the notices above the workspace.
type noticeList struct {
	goapp.Compo
	Props noticeListProps
}

func newNoticeList(props noticeListProps) *noticeList { return &noticeList{Props: props} }

func (l *noticeList) Render() goapp.UI {
	return goapp.Div().Class("notices").Aria("live", "polite").Body(
		goapp.Range(l.Props.Notices).Slice(func(i int) goapp.UI {
			return l.renderNotice(l.Props.Notices[i])
		}),
	)
}

func (l *noticeList) renderNotice(n notice) goapp.UI {
	class, ico := "notice is-info", iconInfo
	switch n.Kind {
	case noticeWarn:
		class, ico = "notice is-warn", iconWarn
	case noticeError:
		class, ico = "notice is-error", iconWarn
	}
	role := "status"
	if n.Kind == noticeError {
		role = "alert"
	}
	return goapp.Div().ID(n.ID).Class(class).Role(role).Body(
		icon(ico),
		goapp.P().Text(n.Text),
		goapp.If(n.Dismissible, func() goapp.UI {
			id := n.ID
			return goapp.Button().Class("icon-button small").Type("button").
				Aria("label", "Dismiss").Title("Dismiss").
				OnClick(func(ctx goapp.Context, _ goapp.Event) { l.Props.OnDismiss(ctx, id) }).
				Body(icon(iconClose))
		}),
	)
}
