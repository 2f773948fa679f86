//go:build !wasm

package app

import "context"

// Stubs of storage_wasm.go for the server and native tests.

func readStorage(context.Context) (storageInfo, error) { return storageInfo{}, errNoBrowser }

func deleteCachedModel(context.Context, string) error { return errNoBrowser }

func persistStorage(context.Context) bool { return false }
