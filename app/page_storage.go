package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// refreshStorage reads the storage figures the settings panel shows.
func (p *page) refreshStorage() {
	ctx := p.ctx
	background(ctx, func() {
		info, err := readStorage(ctx)
		ctx.Dispatch(func(goapp.Context) {
			p.storage = info
			p.storageErr = ""
			if err != nil {
				p.storageErr = "The stored model files could not be listed: " + sentence(err.Error())
			}
		})
	})
}

// savingModel reports whether model files may still be going into the
// cache: while a model loads, and once it has loaded or failed until the
// worker says the writes have settled (protocol.Stored follows a failed
// load too). A delete then would be undone by the writes in flight.
func (p *page) savingModel() bool {
	switch p.model.Status {
	case loading:
		return true
	case loaded, loadFailed:
		return p.model.Stored == storedPending
	}
	return false
}

// deleteModel deletes a model folder's files from the model cache. A model
// in use keeps running; its next load downloads it again.
func (p *page) deleteModel(_ goapp.Context, folder string) {
	if p.storageBusy != "" || p.savingModel() {
		return
	}
	p.storageBusy = folder
	ctx := p.ctx
	background(ctx, func() {
		err := deleteCachedModel(ctx, folder)
		info, _ := readStorage(ctx)
		ctx.Dispatch(func(goapp.Context) {
			p.storageBusy, p.storage, p.storageErr = "", info, ""
			if err != nil {
				p.storageErr = "The model files could not be deleted: " + sentence(err.Error())
			}
		})
	})
}

// askPersistence asks the browser, once the model files are stored
// (protocol.Stored), to keep them when space runs low
// (navigator.storage.persist()).
func (p *page) askPersistence() {
	if p.persistAsked {
		return
	}
	p.persistAsked = true
	ctx := p.ctx
	background(ctx, func() {
		ok := persistStorage(ctx)
		ctx.Dispatch(func(goapp.Context) { p.storage.Persisted = ok })
	})
}
