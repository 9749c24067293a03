package server

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// router serves a call to one of the API's procedures straight from a map
// of its exact path, and every other request through the mux. The mux
// matches patterns and allocates for each request (~1 µs per call); the
// map holds, for each procedure, the handler and pattern the mux itself
// chose, so a call is routed as the mux routes it.
type router struct {
	mux   *http.ServeMux
	procs atomic.Pointer[map[string]route]
	// hosts is set once a pattern with a host is mounted: it may outrank
	// a procedure's pattern for some requests, so the mux routes all.
	hosts atomic.Bool
}

type route struct {
	h       http.Handler
	pattern string
}

func newRouter(mux *http.ServeMux) *router { return &router{mux: mux} }

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := rt.procs.Load(); p != nil {
		if route, ok := (*p)[r.URL.Path]; ok {
			r.Pattern = route.pattern
			route.h.ServeHTTP(w, r)
			return
		}
	}
	rt.mux.ServeHTTP(w, r)
}

// handle mounts h on the mux and maps the procedures again, as a pattern
// mounted later may take some of them from the one that had them.
func (rt *router) handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	path := pattern // [METHOD ][HOST]/[PATH]
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		path = strings.TrimLeft(pattern[i:], " \t")
	}
	if !strings.HasPrefix(path, "/") {
		rt.hosts.Store(true)
	}
	rt.mapProcedures()
}

// mapProcedures maps each procedure of services to the handler the mux
// routes it to, if the mux routes it alike for GET and POST through a
// pattern without a method (the connect handlers' own patterns).
func (rt *router) mapProcedures() {
	if rt.hosts.Load() {
		rt.procs.Store(nil)
		return
	}
	procs := map[string]route{}
	for _, svc := range serviceNames {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok {
			continue
		}
		for i := range sd.Methods().Len() {
			path := "/" + svc + "/" + string(sd.Methods().Get(i).Name())
			h, pattern := rt.mux.Handler(&http.Request{Method: http.MethodPost, URL: &url.URL{Path: path}})
			_, getPattern := rt.mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}})
			if pattern != getPattern || !strings.HasPrefix(pattern, "/") {
				continue
			}
			procs[path] = route{h: h, pattern: pattern}
		}
	}
	rt.procs.Store(&procs)
}
