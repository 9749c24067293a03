package notify

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The Standard Webhooks reference vector (also used by svix's libraries).
func TestSignStandardWebhooksVector(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set(HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, "v1,bm90IGl0 "+got)
	for _, tc := range []struct {
		name string
		body []byte
		now  time.Time
		ok   bool
	}{
		{"OK", body, ts.Add(time.Minute), true},
		{"AlteredBody", []byte(`{"test": 1}`), ts, false},
		{"TooOld", body, ts.Add(10 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(secret, h, tc.body, tc.now, 5*time.Minute)
			if (err == nil) != tc.ok {
				t.Fatalf("Verify: got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
