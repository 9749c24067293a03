package signing

import (
	"crypto/ed25519"
	"sync"
)

// SignWorkers computes Ed25519 signatures on a few long-lived goroutines.
//
// Why: a server answers each request on a new goroutine (net/http starts
// one per HTTP/2 stream), and a new goroutine starts with a small stack.
// Ed25519 signing needs a deep one, so every license signed on a handler
// goroutine paid for growing and copying its stack (runtime.newstack and
// copystack: 6–9% of the server's CPU in GetLicense profiles, more than
// the claims encoding). Workers grow their stacks once and keep them; a
// handler hands over the message and waits, which costs two goroutine
// switches instead.
//
// A nil *SignWorkers signs on the caller's goroutine. After Close, signing
// goes on, on the caller's goroutine: a shutdown never strands a request.
type SignWorkers struct {
	jobs chan *signJob
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

type signJob struct {
	priv ed25519.PrivateKey
	msg  []byte
	sig  []byte // ed25519.SignatureSize bytes, written by the worker
	done chan struct{}
}

var jobPool = sync.Pool{New: func() any { return &signJob{done: make(chan struct{}, 1)} }}

// NewSignWorkers starts n signing goroutines (n < 1 means 1). Size it to
// GOMAXPROCS: signing is pure CPU, so more workers than processors only
// queue. Close stops them.
func NewSignWorkers(n int) *SignWorkers {
	if n < 1 {
		n = 1
	}
	w := &SignWorkers{jobs: make(chan *signJob), stop: make(chan struct{})}
	w.wg.Add(n)
	for range n {
		go w.run()
	}
	return w
}

// run signs the jobs handed to it. Jobs that are waiting when it takes
// one are signed together with it (up to maxBatch), which shares the
// costliest step of encoding the signatures (see batch); a worker never
// waits for a batch to fill.
func (w *SignWorkers) run() {
	defer w.wg.Done()
	var b batch
	jobs := make([]*signJob, 0, maxBatch)
	for {
		select {
		case j := <-w.jobs:
			jobs = append(jobs[:0], j)
		more:
			for len(jobs) < maxBatch {
				select {
				case j := <-w.jobs:
					jobs = append(jobs, j)
				default:
					break more
				}
			}
			b.signAll(jobs)
			for _, j := range jobs {
				j.done <- struct{}{}
			}
			clear(jobs)
		case <-w.stop:
			return
		}
	}
}

// Close stops the workers and waits for them. Jobs are handed over
// unbuffered, so every job a worker accepted is finished; a signature
// asked for after Close is computed by the caller.
func (w *SignWorkers) Close() {
	if w == nil {
		return
	}
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// sign writes the signature of msg by priv into sig (SignatureSize bytes),
// on a worker when one is running.
func (w *SignWorkers) sign(sig []byte, priv ed25519.PrivateKey, msg []byte) {
	if w == nil {
		signInto(sig, priv, msg)
		return
	}
	j := jobPool.Get().(*signJob)
	j.priv, j.msg, j.sig = priv, msg, sig
	select {
	case w.jobs <- j:
		<-j.done
	case <-w.stop:
		signInto(sig, priv, msg)
	}
	j.priv, j.msg, j.sig = nil, nil, nil
	jobPool.Put(j)
}

func signInto(sig []byte, priv ed25519.PrivateKey, msg []byte) {
	copy(sig, ed25519.Sign(priv, msg))
}
