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

// deleteModel deletes a model folder's files from the model cache. A model
// in use keeps running; its next load downloads it again.
// savingModel reports whether the loaded model's downloads are still going
// into the cache: a delete then would be undone by the writes in flight.
func (p *page) savingModel() bool {
	return p.model.Status == loaded && p.model.Stored == storedPending
}

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

// askPersistence asks the browser, once the model files are stored, to keep
// them when space runs low (navigator.storage.persist()).
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
