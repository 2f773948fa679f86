//go:build cgo && !js && !windows

package ortnative

// The only file that speaks C. The library is opened with dlopen so that no
// build needs it; cgo cannot call through the OrtApi function table, so each
// call goes through a small static C wrapper.

/*
#cgo CFLAGS: -I${SRCDIR}/include -O2
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxruntime_c_api.h"

static const OrtApiBase *ort_base;
static const OrtApi *ort;

// ort_load opens the library and takes its API table. It returns NULL on
// success, else a malloc'ed message. The library is never closed: its thread
// pools live as long as the process.
static char *ort_load(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return strdup(dlerror());
	const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	if (!get_base) {
		char *msg = strdup(dlerror());
		dlclose(h);
		return msg;
	}
	const OrtApiBase *base = get_base();
	const OrtApi *api = base->GetApi(ORT_API_VERSION);
	if (!api) {
		char *msg = malloc(160);
		snprintf(msg, 160, "onnxruntime %s does not serve C API version %d (1.%d or newer is needed)",
			base->GetVersionString(), ORT_API_VERSION, ORT_API_VERSION);
		dlclose(h);
		return msg;
	}
	ort_base = base;
	ort = api;
	return NULL;
}

static const char *ort_version(void) { return ort_base->GetVersionString(); }
static const char *ort_error_message(OrtStatus *st) { return ort->GetErrorMessage(st); }
static void ort_release_status(OrtStatus *st) { ort->ReleaseStatus(st); }

static OrtStatus *ort_create_env(OrtEnv **env) {
	return ort->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "smolvlm", env);
}
static void ort_release_env(OrtEnv *env) { ort->ReleaseEnv(env); }

// ort_ep_on_gpu sets *found when onnxruntime's device discovery lists the
// execution provider called ep on a GPU (OrtHardwareDeviceType_GPU).
static OrtStatus *ort_ep_on_gpu(OrtEnv *env, const char *ep, int *found) {
	const OrtEpDevice *const *devices = NULL;
	size_t n = 0;
	*found = 0;
	OrtStatus *st = ort->GetEpDevices(env, &devices, &n);
	for (size_t i = 0; !st && i < n; i++) {
		const OrtHardwareDevice *hw = ort->EpDevice_Device(devices[i]);
		if (strcmp(ort->EpDevice_EpName(devices[i]), ep) == 0 && hw && ort->HardwareDevice_Type(hw) == OrtHardwareDeviceType_GPU) {
			*found = 1;
		}
	}
	return st;
}

// ort_create_session loads a model from path, or, when path is NULL, from
// the len bytes at data (onnxruntime copies what it keeps). ep, when not
// NULL, names an execution provider to put before the CPU one, with nopt
// provider options.
// When optimized is not NULL, onnxruntime writes the graph it runs, after
// its optimizations, to that file.
static OrtStatus *ort_create_session(OrtEnv *env, const char *path, const void *data, size_t len, int threads,
		const char *ep, const char **keys, const char **values, size_t nopt, const char *optimized, OrtSession **out) {
	OrtSessionOptions *opts = NULL;
	OrtStatus *st = ort->CreateSessionOptions(&opts);
	if (!st && threads > 0) st = ort->SetIntraOpNumThreads(opts, threads);
	if (!st) st = ort->SetSessionGraphOptimizationLevel(opts, ORT_ENABLE_ALL);
	if (!st && optimized) st = ort->SetOptimizedModelFilePath(opts, optimized);
	if (!st && ep) st = ort->SessionOptionsAppendExecutionProvider(opts, ep, keys, values, nopt);
	if (!st && path) st = ort->CreateSession(env, path, opts, out);
	if (!st && !path) st = ort->CreateSessionFromArray(env, data, len, opts, out);
	ort->ReleaseSessionOptions(opts);
	return st;
}
static void ort_release_session(OrtSession *s) { ort->ReleaseSession(s); }

static OrtStatus *ort_io_count(const OrtSession *s, int output, size_t *n) {
	return output ? ort->SessionGetOutputCount(s, n) : ort->SessionGetInputCount(s, n);
}

// ort_io describes one session input or output; name and dims are malloc'ed.
typedef struct {
	char *name;
	int onnx_type;
	int elem;
	int64_t *dims;
	size_t rank;
} ort_io;

// ort_tensor_shape fills elem, dims and rank from a tensor's type info.
static OrtStatus *ort_tensor_shape(const OrtTensorTypeAndShapeInfo *info, int *elem, int64_t **dims, size_t *rank) {
	ONNXTensorElementDataType t;
	OrtStatus *st = ort->GetTensorElementType(info, &t);
	if (!st) st = ort->GetDimensionsCount(info, rank);
	if (st) return st;
	*elem = (int)t;
	*dims = malloc((*rank + 1) * sizeof(int64_t));
	return ort->GetDimensions(info, *dims, *rank);
}

static OrtStatus *ort_io_info(const OrtSession *s, int output, size_t i, ort_io *io) {
	OrtAllocator *alloc = NULL;
	char *name = NULL;
	OrtTypeInfo *ti = NULL;
	OrtStatus *st = ort->GetAllocatorWithDefaultOptions(&alloc);
	if (!st) st = output ? ort->SessionGetOutputName(s, i, alloc, &name) : ort->SessionGetInputName(s, i, alloc, &name);
	if (st) return st;
	io->name = strdup(name);
	alloc->Free(alloc, name);
	st = output ? ort->SessionGetOutputTypeInfo(s, i, &ti) : ort->SessionGetInputTypeInfo(s, i, &ti);
	if (st) return st;
	enum ONNXType ot;
	const OrtTensorTypeAndShapeInfo *tinfo = NULL;
	st = ort->GetOnnxTypeFromTypeInfo(ti, &ot);
	if (!st) st = ort->CastTypeInfoToTensorInfo(ti, &tinfo);
	if (!st) io->onnx_type = (int)ot;
	if (!st && tinfo) st = ort_tensor_shape(tinfo, &io->elem, &io->dims, &io->rank);
	ort->ReleaseTypeInfo(ti);
	return st;
}

// ort_create_tensor allocates a tensor in onnxruntime's memory and returns
// its data pointer, so that Go copies host data in and keeps no Go memory
// in C.
static OrtStatus *ort_create_tensor(int elem, const int64_t *shape, size_t rank, OrtValue **out, void **data) {
	OrtAllocator *alloc = NULL;
	OrtStatus *st = ort->GetAllocatorWithDefaultOptions(&alloc);
	if (!st) st = ort->CreateTensorAsOrtValue(alloc, shape, rank, (ONNXTensorElementDataType)elem, out);
	if (!st) st = ort->GetTensorMutableData(*out, data);
	return st;
}

// ort_value_info describes a tensor value; dims is malloc'ed.
static OrtStatus *ort_value_info(OrtValue *v, int *elem, int64_t **dims, size_t *rank, void **data) {
	enum ONNXType ot;
	OrtStatus *st = ort->GetValueType(v, &ot);
	if (st) return st;
	if (ot != ONNX_TYPE_TENSOR) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "value is not a tensor");
	OrtTensorTypeAndShapeInfo *info = NULL;
	st = ort->GetTensorTypeAndShape(v, &info);
	if (st) return st;
	st = ort_tensor_shape(info, elem, dims, rank);
	ort->ReleaseTensorTypeAndShapeInfo(info);
	if (!st) st = ort->GetTensorMutableData(v, data);
	return st;
}
static void ort_release_value(OrtValue *v) { ort->ReleaseValue(v); }

static OrtStatus *ort_create_run_options(OrtRunOptions **ro) { return ort->CreateRunOptions(ro); }
static OrtStatus *ort_terminate(OrtRunOptions *ro) { return ort->RunOptionsSetTerminate(ro); }
static void ort_release_run_options(OrtRunOptions *ro) { ort->ReleaseRunOptions(ro); }

static OrtStatus *ort_run(OrtSession *s, OrtRunOptions *ro, const char **in_names, OrtValue **in, size_t nin,
		const char **out_names, size_t nout, OrtValue **out) {
	return ort->Run(s, ro, in_names, (const OrtValue *const *)in, nin, out_names, nout, out);
}

// ort_create_mem_info describes device memory: "Cpu", or an execution
// provider's allocator such as "WebGPU_Buffer".
static OrtStatus *ort_create_mem_info(const char *name, OrtMemoryInfo **out) {
	if (strcmp(name, "Cpu") == 0) return ort->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, out);
	return ort->CreateMemoryInfo(name, OrtDeviceAllocator, 0, OrtMemTypeDefault, out);
}
static void ort_release_mem_info(OrtMemoryInfo *m) { ort->ReleaseMemoryInfo(m); }

// ort_run_bound is ort_run through an OrtIoBinding: output i is allocated
// in the memory out_mem[i] describes, so that an output left on the GPU is
// not copied back. On success out holds nout values in out_names' order.
static OrtStatus *ort_run_bound(OrtSession *s, OrtRunOptions *ro, const char **in_names, OrtValue **in, size_t nin,
		const char **out_names, OrtMemoryInfo **out_mem, size_t nout, OrtValue **out) {
	OrtIoBinding *b = NULL;
	OrtRunOptions *own = NULL;
	OrtStatus *st = ort->CreateIoBinding(s, &b);
	for (size_t i = 0; !st && i < nin; i++) st = ort->BindInput(b, in_names[i], in[i]);
	for (size_t i = 0; !st && i < nout; i++) st = ort->BindOutputToDevice(b, out_names[i], out_mem[i]);
	if (!st && !ro) st = ort->CreateRunOptions(&own);
	if (!st) st = ort->RunWithBinding(s, ro ? ro : own, b);
	OrtAllocator *alloc = NULL;
	OrtValue **vals = NULL;
	size_t n = 0;
	if (!st) st = ort->GetAllocatorWithDefaultOptions(&alloc);
	if (!st) st = ort->GetBoundOutputValues(b, alloc, &vals, &n);
	if (!st) {
		// Bound outputs come back in the order they were bound.
		for (size_t i = 0; i < n; i++) {
			if (i < nout) out[i] = vals[i];
			else ort->ReleaseValue(vals[i]);
		}
		if (n < nout) {
			for (size_t i = 0; i < n; i++) { ort->ReleaseValue(out[i]); out[i] = NULL; }
			st = ort->CreateStatus(ORT_FAIL, "IO binding returned fewer outputs than bound");
		}
	}
	if (vals) alloc->Free(alloc, vals);
	if (own) ort->ReleaseRunOptions(own);
	if (b) ort->ReleaseIoBinding(b);
	return st;
}
*/
import "C"

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"unsafe"
)

// Handles on onnxruntime objects, for the files that do not import "C".
type (
	envHandle     = *C.OrtEnv
	sessionHandle = *C.OrtSession
	valueHandle   = *C.OrtValue
	runOptsHandle = *C.OrtRunOptions
	memInfoHandle = *C.OrtMemoryInfo
	cString       = *C.char
)

// ONNX element types (ONNXTensorElementDataType).
const (
	elemFloat   = int(C.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
	elemInt64   = int(C.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64)
	elemBool    = int(C.ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL)
	elemFloat16 = int(C.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
	onnxTensor  = int(C.ONNX_TYPE_TENSOR)
)

// loaded records the library the process opened: onnxruntime keeps global
// state, so one process uses one library.
var loaded struct {
	sync.Mutex
	path string
}

// loadLibrary opens the library at path once per process. A later call with
// another path fails rather than mixing two onnxruntime copies.
func loadLibrary(path string) error {
	loaded.Lock()
	defer loaded.Unlock()
	if loaded.path != "" {
		if loaded.path != path {
			return errors.New("onnxruntime already loaded from " + loaded.path + ", not loading " + path)
		}
		return nil
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if msg := C.ort_load(cpath); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		// Not recorded: a failed dlopen may succeed once the file is fixed.
		return errors.New("load onnxruntime: " + C.GoString(msg))
	}
	loaded.path = path
	return nil
}

// libraryVersion is the loaded library's version string.
func libraryVersion() string { return C.GoString(C.ort_version()) }

// statusErr converts and frees an OrtStatus; nil means success.
func statusErr(st *C.OrtStatus) error {
	if st == nil {
		return nil
	}
	defer C.ort_release_status(st)
	return errors.New("onnxruntime: " + C.GoString(C.ort_error_message(st)))
}

func createEnv() (envHandle, error) {
	var env *C.OrtEnv
	return env, statusErr(C.ort_create_env(&env))
}

func releaseEnv(env envHandle) { C.ort_release_env(env) }

// epOnGPU reports whether onnxruntime's device discovery lists the
// execution provider called ep (its registered name, e.g.
// "WebGpuExecutionProvider") on a GPU.
func epOnGPU(env envHandle, ep string) (bool, error) {
	name := C.CString(ep)
	defer C.free(unsafe.Pointer(name))
	var found C.int
	err := statusErr(C.ort_ep_on_gpu(env, name, &found))
	return found != 0, err
}

// sessionConfig is what every session of an engine is created with.
type sessionConfig struct {
	threads int               // intra-op threads; <= 0 keeps the default
	ep      string            // execution provider before the CPU one; "" for none
	epOpts  map[string]string // its provider options
	// optimized is the file onnxruntime writes the optimized graph to; ""
	// for none.
	optimized string
}

// createSession loads the ONNX file at path.
func createSession(env envHandle, path string, cfg sessionConfig) (sessionHandle, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return newSessionC(env, cpath, nil, 0, cfg)
}

// createSessionFromBytes loads a model held in memory. data holds no Go
// pointers and onnxruntime does not keep it past the call.
func createSessionFromBytes(env envHandle, data []byte, cfg sessionConfig) (sessionHandle, error) {
	if len(data) == 0 {
		return nil, errors.New("empty model")
	}
	return newSessionC(env, nil, unsafe.Pointer(&data[0]), C.size_t(len(data)), cfg)
}

func newSessionC(env envHandle, path *C.char, data unsafe.Pointer, n C.size_t, cfg sessionConfig) (sessionHandle, error) {
	var ep *C.char
	var keys, values []*C.char
	if cfg.ep != "" {
		ep = C.CString(cfg.ep)
		defer C.free(unsafe.Pointer(ep))
		for _, k := range slices.Sorted(maps.Keys(cfg.epOpts)) {
			keys = append(keys, C.CString(k))
			values = append(values, C.CString(cfg.epOpts[k]))
		}
	}
	defer func() {
		for i := range keys {
			C.free(unsafe.Pointer(keys[i]))
			C.free(unsafe.Pointer(values[i]))
		}
	}()
	var ckeys, cvalues **C.char // Go memory holding C pointers may go to C
	if len(keys) > 0 {
		ckeys, cvalues = &keys[0], &values[0]
	}
	var optimized *C.char
	if cfg.optimized != "" {
		optimized = C.CString(cfg.optimized)
		defer C.free(unsafe.Pointer(optimized))
	}
	var s *C.OrtSession
	st := C.ort_create_session(env, path, data, n, C.int(cfg.threads), ep, ckeys, cvalues, C.size_t(len(keys)), optimized, &s)
	return s, statusErr(st)
}

func releaseSession(s sessionHandle) { C.ort_release_session(s) }

// ioDesc is one session input or output as onnxruntime reports it.
type ioDesc struct {
	name     string
	onnxType int
	elem     int
	dims     []int64
}

// sessionIO lists a session's inputs (output false) or outputs.
func sessionIO(s sessionHandle, output bool) ([]ioDesc, error) {
	out := C.int(0)
	if output {
		out = 1
	}
	var n C.size_t
	if err := statusErr(C.ort_io_count(s, out, &n)); err != nil {
		return nil, err
	}
	descs := make([]ioDesc, n)
	for i := range descs {
		var io C.ort_io
		err := statusErr(C.ort_io_info(s, out, C.size_t(i), &io))
		descs[i] = ioDesc{
			name:     C.GoString(io.name),
			onnxType: int(io.onnx_type),
			elem:     int(io.elem),
			dims:     copyDims(io.dims, io.rank),
		}
		C.free(unsafe.Pointer(io.name))
		if err != nil {
			return nil, err
		}
	}
	return descs, nil
}

// copyDims copies and frees a malloc'ed dims array.
func copyDims(dims *C.int64_t, rank C.size_t) []int64 {
	if dims == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(dims))
	return append([]int64{}, unsafe.Slice((*int64)(unsafe.Pointer(dims)), int(rank))...)
}

// createTensor allocates a tensor in onnxruntime's memory and returns its
// data pointer (nil for zero elements).
func createTensor(elem int, shape []int64) (valueHandle, unsafe.Pointer, error) {
	var dims *C.int64_t
	if len(shape) > 0 {
		dims = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	var v *C.OrtValue
	var data unsafe.Pointer
	err := statusErr(C.ort_create_tensor(C.int(elem), dims, C.size_t(len(shape)), &v, &data))
	if err != nil && v != nil {
		C.ort_release_value(v)
		v = nil
	}
	return v, data, err
}

// valueInfo reads a tensor value's element type, shape and data pointer.
func valueInfo(v valueHandle) (elem int, shape []int64, data unsafe.Pointer, err error) {
	var celem C.int
	var dims *C.int64_t
	var rank C.size_t
	err = statusErr(C.ort_value_info(v, &celem, &dims, &rank, &data))
	return int(celem), copyDims(dims, rank), data, err
}

func releaseValue(v valueHandle) { C.ort_release_value(v) }

func newCString(s string) cString { return C.CString(s) }

func freeCString(s cString) { C.free(unsafe.Pointer(s)) }

func createRunOptions() (runOptsHandle, error) {
	var ro *C.OrtRunOptions
	return ro, statusErr(C.ort_create_run_options(&ro))
}

// terminateRun asks runs using ro to stop soon; safe from any goroutine.
func terminateRun(ro runOptsHandle) { _ = statusErr(C.ort_terminate(ro)) }

func releaseRunOptions(ro runOptsHandle) { C.ort_release_run_options(ro) }

// runSession evaluates outNames from the inputs. onnxruntime allocates the
// outputs, which the caller must release. ro may be nil.
func runSession(s sessionHandle, ro runOptsHandle, inNames []cString, in []valueHandle, outNames []cString) ([]valueHandle, error) {
	out := make([]valueHandle, len(outNames))
	var pin **C.char
	var pval **C.OrtValue
	if len(in) > 0 {
		pin, pval = &inNames[0], &in[0]
	}
	var pout **C.char
	var pres **C.OrtValue
	if len(out) > 0 {
		pout, pres = &outNames[0], &out[0]
	}
	err := statusErr(C.ort_run(s, ro, pin, pval, C.size_t(len(in)), pout, C.size_t(len(out)), pres))
	if err != nil {
		for _, v := range out {
			if v != nil {
				releaseValue(v)
			}
		}
		return nil, err
	}
	return out, nil
}

// createMemInfo describes the memory of an allocator by name ("Cpu",
// "WebGPU_Buffer").
func createMemInfo(name string) (memInfoHandle, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var m *C.OrtMemoryInfo
	return m, statusErr(C.ort_create_mem_info(cname, &m))
}

func releaseMemInfo(m memInfoHandle) { C.ort_release_mem_info(m) }

// runSessionBound is runSession with output i allocated where outMem[i]
// says, through an IO binding.
func runSessionBound(s sessionHandle, ro runOptsHandle, inNames []cString, in []valueHandle, outNames []cString, outMem []memInfoHandle) ([]valueHandle, error) {
	out := make([]valueHandle, len(outNames))
	var pin **C.char
	var pval **C.OrtValue
	if len(in) > 0 {
		pin, pval = &inNames[0], &in[0]
	}
	var pout **C.char
	var pmem **C.OrtMemoryInfo
	var pres **C.OrtValue
	if len(out) > 0 {
		pout, pmem, pres = &outNames[0], &outMem[0], &out[0]
	}
	err := statusErr(C.ort_run_bound(s, ro, pin, pval, C.size_t(len(in)), pout, pmem, C.size_t(len(out)), pres))
	if err != nil {
		return nil, err
	}
	return out, nil
}
